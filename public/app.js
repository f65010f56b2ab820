// The page's core beyond htmx: local times and days, the message list's scrolling, copying, and an honest connection
// state: a banner whenever the page cannot reach its instance, and a live stream that comes back within seconds. It
// also gives the page's other scripts (loaded after it) what they share, as `egoat`.
(() => {
  const root = document.documentElement;

  /** A new element with a class and text. */
  const element = (tag, className, text) => {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined) el.textContent = text;
    return el;
  };
  /** This browser's storage for the page (drafts, settings), as strings; null removes. Private modes may refuse it. */
  const store = {
    get(key) {
      try {
        return localStorage.getItem(key);
      } catch {
        return null;
      }
    },
    set(key, value) {
      try {
        if (value === null) localStorage.removeItem(key);
        else localStorage.setItem(key, value);
      } catch {}
    },
  };
  window.egoat = { element, store };
  // Styles that need the script (the attach button, Copy) show only with it.
  root.classList.add("js");

  // The live stream retries every 0.5 to 2 s however long the outage (htmx's default grows to a minute), and gives up
  // on a reconnect that hangs (an instance that is frozen, not gone) after 5 s.
  if (window.htmx) htmx.config.sse = { ...(htmx.config.sse || {}), reconnectDelay: 500, reconnectMaxDelay: 2000, connectTimeout: 5000 };

  // ---- times and days, in the reader's time zone ----

  const dayKey = (d) => `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
  const dayWords = (d) => d.toLocaleDateString([], { weekday: "long", day: "numeric", month: "long", year: "numeric" });

  const localize = (scope) => {
    for (const t of scope.querySelectorAll("time[datetime]:not([data-local])")) {
      if (t.closest(".day")) continue;
      const d = new Date(t.getAttribute("datetime"));
      if (Number.isNaN(d.getTime())) continue;
      t.textContent = t.dataset.format === "datetime" ? d.toLocaleString([], { dateStyle: "medium", timeStyle: "short" }) : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      t.title = d.toLocaleString();
      t.dataset.local = "1";
    }
  };

  /** Redraws the day headings of the list in local time: one before the first message of each day. */
  const redrawDays = (list) => {
    for (const old of list.querySelectorAll(":scope > li.day")) old.remove();
    let last = null;
    for (const item of list.querySelectorAll(":scope > li.msg")) {
      const time = item.querySelector(".meta time[datetime]");
      if (!time) continue;
      const d = new Date(time.getAttribute("datetime"));
      if (Number.isNaN(d.getTime()) || dayKey(d) === last) continue;
      last = dayKey(d);
      const heading = document.createElement("li");
      heading.className = "day";
      const label = document.createElement("time");
      label.dateTime = time.getAttribute("datetime").slice(0, 10);
      label.textContent = dayWords(d);
      heading.append(label);
      item.before(heading);
    }
  };

  const messages = () => document.getElementById("messages");
  const scroller = () => document.querySelector(".scroller");
  /** The list is laid out from the bottom (column-reverse): 0 is the newest message, negative is further up. */
  const atBottom = (el) => Math.abs(el.scrollTop) < 40;

  /**
   * Of two messages of one author with one sequence number (the author signed two: members keep one everywhere and
   * send it again under a new stamp), only the one stamped last stays in the list.
   */
  const dropReplaced = (list) => {
    const kept = new Map();
    for (const item of list.querySelectorAll(":scope > li.msg[data-origin][data-seq]")) {
      const key = `${item.dataset.origin}/${item.dataset.seq}`;
      const other = kept.get(key);
      if (!other) {
        kept.set(key, item);
        continue;
      }
      const older = Number(other.dataset.stamp) < Number(item.dataset.stamp) ? other : item;
      older.remove();
      kept.set(key, older === other ? item : other);
    }
  };

  const tidy = () => {
    localize(document);
    const list = messages();
    if (!list) return;
    dropReplaced(list);
    redrawDays(list);
    if (list.querySelector(":scope > li.msg")) list.querySelector(":scope > li.empty-room")?.remove();
  };

  document.addEventListener("DOMContentLoaded", () => {
    tidy();
    // A message opened from search (`#m-…`, highlighted by the style sheet) is named as the one found, and brought
    // to the middle of the list once the browser has scrolled to it (it puts it at the top edge).
    const found = location.hash.startsWith("#m-") ? document.getElementById(location.hash.slice(1)) : null;
    if (found?.matches("li.msg")) {
      found.setAttribute("aria-current", "true");
      addEventListener("load", () => found.scrollIntoView({ block: "center" }), { once: true });
    }
    // The keyboard comes up on a phone when the box has focus: focus it on load only where there is a real pointer.
    const text = document.querySelector("#send textarea");
    if (text && matchMedia("(pointer: fine)").matches && !location.hash) text.focus({ preventScroll: true });
  });

  // A message arriving at the bottom while the reader is further up does not move what they read: laid out from the
  // bottom, the list would keep the distance to it, so the view is moved up by what came. (Older messages loaded at
  // the top keep the reading position by themselves.)
  let before = null;
  document.addEventListener("htmx:before:swap", (event) => {
    const el = scroller();
    before = el && event.target?.id === "messages" ? { height: el.scrollHeight, top: el.scrollTop, bottom: atBottom(el) } : null;
  });
  document.addEventListener("htmx:after:swap", () => {
    tidy();
    const el = scroller();
    if (el && before && !before.bottom) el.scrollTop = before.top - (el.scrollHeight - before.height);
    before = null;
    const text = document.querySelector("#send textarea");
    if (text && document.activeElement === document.body && matchMedia("(pointer: fine)").matches) text.focus({ preventScroll: true });
  });

  // ---- copy ----

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const input = document.querySelector(button.dataset.copy);
    if (!input) return;
    try {
      await navigator.clipboard.writeText(input.value);
    } catch {
      // The Clipboard API needs a secure context; plain http on a LAN address falls back to a selection copy.
      input.select();
      document.execCommand("copy");
    }
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => (button.textContent = label), 1500);
  });

  // ---- connection state ----

  /** How long the stream may stay silent (it sends "alive" every 5 s) before the page says the instance is gone. */
  const SILENCE_MS = 12000;
  let connection = null;
  let heard = Date.now();
  let reachable = true;
  let backTimer;

  const banner = () => document.getElementById("connection");
  const instanceName = () => document.querySelector(".topbar .instance")?.textContent.trim() || "this instance";

  /** Shows or hides the banner, and tells the other scripts (`egoat:online` / `egoat:offline`). */
  const setReachable = (now) => {
    if (now === reachable) return;
    reachable = now;
    root.classList.toggle("offline", !now);
    const el = banner();
    if (el) {
      clearTimeout(backTimer);
      el.hidden = false;
      el.className = now ? "connection back" : "connection lost";
      el.textContent = now
        ? `Connected to ${instanceName()} again.`
        : `Cannot reach ${instanceName()}: its page is open, but the instance does not answer. Trying again every few seconds; messages you send wait here.`;
      if (now) backTimer = setTimeout(() => (el.hidden = true), 4000);
    }
    document.dispatchEvent(new CustomEvent(now ? "egoat:online" : "egoat:offline"));
  };

  document.addEventListener("htmx:sse:after:connection", (event) => {
    connection = event.detail?.connection ?? null;
    heard = Date.now();
    setReachable(true);
  });
  document.addEventListener("htmx:sse:after:message", () => {
    heard = Date.now();
    if (!reachable) setReachable(true);
  });
  document.addEventListener("htmx:sse:error", () => setReachable(false));
  document.addEventListener("htmx:sse:close", (event) => {
    if (event.detail?.reason !== "removed") setReachable(false);
  });
  // A stream that went quiet (a frozen instance, a cut path: no error comes) is given up and opened again.
  setInterval(() => {
    if (!messages()?.hasAttribute("hx-sse:connect") || document.hidden) {
      heard = Date.now();
      return;
    }
    if (Date.now() - heard < SILENCE_MS) return;
    setReachable(false);
    heard = Date.now();
    connection?.reader?.cancel?.();
  }, 1000);
  // Back from the background, the stream reconnects: until it does, what it shows may be old.
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) heard = Date.now();
  });
})();
