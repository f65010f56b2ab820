// The message form, sent by the script: the message shows in the list at once as "sending", then "sent" (stored by
// this instance) and "delivered" (held by every linked member); a send that fails stays with "Retry", and is tried
// again by itself once the instance answers, under the same nonce, so it is never stored twice. Drafts are kept in
// this browser until sent, saved as they are typed. A text over the limit is kept whole, and can go as several
// messages. Without the script the form posts as it is.
(() => {
  const form = () => document.getElementById("send");
  const list = () => document.getElementById("messages");
  /** The most characters a message may have: the box's maxlength, which the script lifts (data-limit keeps it). */
  const limitOf = (area) => Number(area.dataset.limit || area.getAttribute("maxlength")) || 16384;
  const draftKey = (room) => `egoat:draft:${room}`;
  const outboxKey = (room) => `egoat:outbox:${room}`;
  /** Stored sends are kept a week at most. */
  const KEEP_MS = 7 * 24 * 3600 * 1000;

  const { element } = window.egoat;
  /** Drafts and unconfirmed sends, kept as JSON in the browser's storage (app.js). */
  const store = {
    get(key, fallback) {
      const value = window.egoat.store.get(key);
      try {
        return value === null ? fallback : JSON.parse(value);
      } catch {
        return fallback;
      }
    },
    set: (key, value) => window.egoat.store.set(key, value === null ? null : JSON.stringify(value)),
  };

  /** A random name for one send (crypto.randomUUID needs a secure context; a guest on a LAN address has none). */
  const nonce = () => [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");

  // ---- the outbox: sends not yet confirmed, kept in this browser so a reload loses none ----

  const outbox = (room) => store.get(outboxKey(room), []).filter((s) => Date.now() - s.at < KEEP_MS);
  const saveOutbox = (room, sends) => store.set(outboxKey(room), sends.length ? sends : null);
  const putSend = (room, send) => saveOutbox(room, [...outbox(room).filter((s) => s.nonce !== send.nonce), send]);
  const dropSend = (room, id) => saveOutbox(room, outbox(room).filter((s) => s.nonce !== id));

  /** The list item of a send, as the reader's own message with its state. */
  const pendingItem = (send) => {
    const item = element("li", "msg own pending");
    item.dataset.nonce = send.nonce;
    const meta = element("div", "meta");
    const time = element("time", "", new Date(send.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
    time.dateTime = new Date(send.at).toISOString();
    time.dataset.local = "1";
    meta.append(element("span", "author", send.peerId), time, element("span", "mark sending", "Sending…"));
    const text = element("p", "text", send.text);
    item.append(meta, text);
    return item;
  };

  const setState = (item, state, reason) => {
    const meta = item.querySelector(".meta");
    meta.querySelector(".mark")?.remove();
    item.querySelector(".send-problem")?.remove();
    item.classList.toggle("failed", state === "failed");
    if (state === "sending") return meta.append(element("span", "mark sending", "Sending…"));
    if (state === "sent") return meta.append(element("span", "mark sent", "✓"));
    const problem = element("p", "send-problem");
    problem.setAttribute("role", "alert");
    problem.append(element("span", "", `Not sent: ${reason}`));
    const retry = element("button", "quiet", "Retry");
    retry.type = "button";
    retry.dataset.retry = item.dataset.nonce;
    const edit = element("button", "quiet", "Edit");
    edit.type = "button";
    edit.dataset.edit = item.dataset.nonce;
    problem.append(retry, edit);
    item.append(problem);
  };

  const itemOf = (id) => list()?.querySelector(`li.pending[data-nonce="${CSS.escape(id)}"]`);

  /** Where the confirmed message already came over the stream, the pending copy goes. */
  const settle = () => {
    for (const item of list()?.querySelectorAll("li.pending[data-stamp]") ?? []) {
      if (document.getElementById(`m-${item.dataset.stamp}`)) item.remove();
    }
  };

  /** Posts one send; on an answer it is confirmed or refused, on no answer it waits for the instance to come back. */
  const post = async (room, send) => {
    const f = form();
    const item = itemOf(send.nonce);
    if (!f || !item) return;
    setState(item, "sending");
    const body = new URLSearchParams({ peer_id: send.peerId, text: send.text, nonce: send.nonce });
    let response;
    try {
      response = await fetch(f.action, { method: "POST", headers: { accept: "application/json", "content-type": "application/x-www-form-urlencoded" }, body });
    } catch {
      send.waiting = true;
      putSend(room, send);
      setState(item, "failed", "the instance did not answer. It is tried again when the instance is back.");
      return;
    }
    if (response.ok) {
      const { timestamp } = await response.json();
      dropSend(room, send.nonce);
      item.dataset.stamp = String(timestamp);
      setState(item, "sent");
      settle();
      return;
    }
    let reason = `refused (${response.status})`;
    try {
      reason = (await response.json()).error || reason;
    } catch {}
    // Refused for good (a 4xx but a rate limit): kept with the reason, for the reader to edit or drop.
    send.waiting = response.status === 429 || response.status >= 500;
    send.reason = reason;
    putSend(room, send);
    setState(item, "failed", send.waiting ? `${reason} It is tried again shortly.` : reason);
  };

  const retryWaiting = () => {
    const room = form()?.dataset.room;
    if (!room) return;
    for (const send of outbox(room)) if (send.waiting && itemOf(send.nonce)) post(room, send);
  };

  // ---- the form ----

  const showError = (message) => {
    const el = document.getElementById("send-error");
    if (!el) return;
    el.hidden = !message;
    el.textContent = message || "";
  };

  const NUMBER_WORDS = ["", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"];

  /**
   * A text cut to the limit: at the last space or line break within it (a text of one long word at the limit itself,
   * never inside a surrogate pair); the whitespace at the cut goes, as between two messages.
   */
  const firstPart = (text, limit) => {
    if (text.length <= limit) return [text, ""];
    const space = text.slice(0, limit + 1).search(/\s\S*$/);
    let cut = space > limit / 2 ? space : limit;
    if (cut === limit && /[\uD800-\uDBFF]/.test(text[cut - 1])) cut -= 1;
    return [text.slice(0, cut).trimEnd(), text.slice(cut).trimStart()];
  };

  /** The counter: shown near the limit, in characters as the box counts them; past it, how far, and a way to send it. */
  const count = (area) => {
    const el = document.getElementById("send-count");
    if (!el) return;
    const limit = limitOf(area);
    const used = area.value.length;
    const over = used - limit;
    const words = over > 0 ? `${over.toLocaleString()} characters over the limit: send it as ${NUMBER_WORDS[Math.ceil(used / limit)] ?? Math.ceil(used / limit)} messages?` : "";
    // Rewritten only when it changes: the counter is a live region.
    if (over > 0 && el.dataset.words === words) return;
    el.dataset.words = words;
    el.replaceChildren();
    el.classList.toggle("full", used >= limit);
    if (over > 0) {
      const split = element("button", "quiet", "Send the first part");
      split.type = "button";
      split.dataset.sendPart = "";
      el.append(element("span", "", `${words} `), split);
      return;
    }
    el.textContent = used === limit ? `${limit.toLocaleString()} characters: the most a message may have.` : used > limit - 1000 ? `${used.toLocaleString()} of ${limit.toLocaleString()} characters` : "";
  };

  /** Keeps what the box holds as the room's draft (or none), at once: a reload a moment later loses nothing. */
  const saveDraft = () => {
    const f = form();
    const area = f?.querySelector("textarea");
    if (area) store.set(draftKey(f.dataset.room), area.value.trim() ? area.value : null);
  };

  document.addEventListener("input", (event) => {
    const area = event.target;
    if (!area.matches?.("#send textarea")) return;
    count(area);
    showError("");
    saveDraft();
  });
  // Also as the page goes away or into the background (an input the page did not see, a value set by the browser).
  addEventListener("pagehide", saveDraft);
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) saveDraft();
  });

  /** Shows `text` in the list at once as the reader's own message, and posts it. */
  const sendText = (f, text) => {
    const room = f.dataset.room;
    const send = { nonce: nonce(), peerId: f.querySelector('[name="peer_id"]').value, text, at: Date.now() };
    putSend(room, send);
    list()?.append(pendingItem(send));
    const scroller = document.querySelector(".scroller");
    if (scroller) scroller.scrollTop = 0;
    post(room, send);
  };

  /** What is left in the box after a send: the counter, the error and the draft follow it. */
  const keepInBox = (area, rest) => {
    area.value = rest;
    count(area);
    showError("");
    saveDraft();
  };

  document.addEventListener("submit", (event) => {
    const f = event.target;
    if (f.id !== "send") return;
    event.preventDefault();
    const area = f.querySelector("textarea");
    const text = area.value.replace(/\r\n?/g, "\n");
    if (text.trim() === "") return showError("Write something before sending.");
    if (text.length > limitOf(area)) return showError(`A message may have ${limitOf(area).toLocaleString()} characters; this one has ${text.length.toLocaleString()}.`);
    sendText(f, text);
    keepInBox(area, "");
  });

  document.addEventListener("keydown", (event) => {
    const area = event.target;
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || !area.matches?.("#send textarea")) return;
    event.preventDefault();
    area.form.requestSubmit();
  });

  document.addEventListener("click", (event) => {
    const room = form()?.dataset.room;
    if (event.target.closest("[data-send-part]")) {
      // Over the limit: the first part goes now, the rest stays in the box for the next.
      const area = form()?.querySelector("textarea");
      if (!area) return;
      const [first, rest] = firstPart(area.value.replace(/\r\n?/g, "\n"), limitOf(area));
      if (first.trim() !== "") sendText(form(), first);
      keepInBox(area, rest);
      area.focus();
      return;
    }
    const retry = event.target.closest("[data-retry]");
    if (retry && room) {
      const send = outbox(room).find((s) => s.nonce === retry.dataset.retry);
      if (send) post(room, send);
      return;
    }
    const edit = event.target.closest("[data-edit]");
    if (edit && room) {
      const send = outbox(room).find((s) => s.nonce === edit.dataset.edit);
      const area = form()?.querySelector("textarea");
      if (!send || !area) return;
      // Back into the box (after what is there), out of the list: nothing is lost, nothing sent twice.
      area.value = area.value.trim() ? `${area.value}\n${send.text}` : send.text;
      dropSend(room, send.nonce);
      itemOf(send.nonce)?.remove();
      store.set(draftKey(room), area.value);
      count(area);
      area.focus();
    }
  });

  // ---- delivery marks ----

  // How far this instance's messages got: held by every linked member up to `seq`, by a mailbox up to `boxed`. The
  // words are the server's (src/views/message.tsx MARKS); a mark only moves on.
  const MARKS = {
    boxed: { sign: "✓✉", word: "in a mailbox", title: "In a mailbox: members that come online get it from there, even while this instance is away" },
    delivered: { sign: "✓✓", word: "delivered", title: "Delivered: every linked member instance holds it" },
  };
  const RANK = { sent: 0, boxed: 1, delivered: 2 };
  let reach = { seq: 0, boxed: 0 };
  const markDelivered = () => {
    const l = list();
    if (!l || (reach.seq === 0 && reach.boxed === 0)) return;
    for (const item of l.querySelectorAll(`li.msg.own[data-origin="${CSS.escape(l.dataset.self)}"]`)) {
      const seq = Number(item.dataset.seq);
      const now = seq <= reach.seq ? "delivered" : seq <= reach.boxed ? "boxed" : null;
      const mark = item.querySelector(".mark");
      if (!now || !mark) continue;
      const was = ["sent", "boxed", "delivered"].find((state) => mark.classList.contains(state));
      if (was && RANK[was] >= RANK[now]) continue;
      mark.className = `mark ${now}`;
      mark.title = MARKS[now].title;
      mark.innerHTML = `<span aria-hidden="true">${MARKS[now].sign}</span><span class="visually-hidden">${MARKS[now].word}</span>`;
    }
  };
  document.addEventListener(
    "delivered",
    (event) => {
      try {
        const data = JSON.parse(event.detail?.data);
        reach = { seq: data.seq || 0, boxed: data.boxed || 0 };
      } catch {
        return;
      }
      markDelivered();
    },
    true,
  );

  document.addEventListener("htmx:after:swap", () => {
    settle();
    markDelivered();
  });
  document.addEventListener("egoat:online", retryWaiting);

  document.addEventListener("DOMContentLoaded", () => {
    const f = form();
    if (!f) return;
    const room = f.dataset.room;
    const area = f.querySelector("textarea");
    // The box takes a text over the limit whole (a paste is not cut short without a word); the counter says so.
    area.dataset.limit = String(limitOf(area));
    area.removeAttribute("maxlength");
    // The draft comes back unless the page brings one itself (a refused send).
    const draft = store.get(draftKey(room), null);
    if (draft && area.value.trim() === "") area.value = draft;
    count(area);
    // Sends not confirmed before the page was left show again, and those that only waited are tried again.
    for (const send of outbox(room)) {
      list()?.append(pendingItem(send));
      setState(itemOf(send.nonce), "failed", send.waiting ? "the instance did not answer before the page was left." : send.reason || "refused.");
    }
    retryWaiting();
  });
})();
