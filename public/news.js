// News from the rooms not in view: the owner's room list (unread counts, newest first) as the stream sends it, the
// count in the tab's title, the current room marked read while it is seen (never badged), and opt-in desktop
// notifications (a click opens their room) and sound. Where the browser gives no notifications, the page says why.
(() => {
  const list = () => document.getElementById("messages");
  const isOwner = () => list()?.dataset.owner === "1";
  const baseTitle = document.title.replace(/^\(\d+\+?\) /, "");
  const { store } = window.egoat;

  // ---- unread: the title, and read marks ----

  /** Messages that came into the room in view while the tab was hidden (the owner's other rooms count on the server). */
  let unseenHere = 0;
  const unreadElsewhere = () => {
    const rooms = document.getElementById("room-list");
    if (!rooms) return 0;
    const here = list()?.dataset.room;
    return [...rooms.querySelectorAll("li[data-unread]")].filter((li) => li.dataset.room !== here).reduce((n, li) => n + Number(li.dataset.unread), 0);
  };
  const showCount = () => {
    const total = unreadElsewhere() + unseenHere;
    document.title = total > 0 ? `(${total > 99 ? "99+" : total}) ${baseTitle}` : baseTitle;
    const nav = document.querySelector('.phone-nav a[href="#rooms-card"]');
    const elsewhere = unreadElsewhere();
    if (nav) nav.textContent = elsewhere > 0 ? `Rooms (${elsewhere} unread)` : "Rooms";
  };

  let readTimer;
  /** Tells the instance the owner has seen the room up to its newest message (only while the page is seen). */
  const markRead = () => {
    const l = list();
    if (!l || !isOwner() || document.hidden || !l.hasAttribute("hx-sse:connect")) return;
    clearTimeout(readTimer);
    readTimer = setTimeout(() => {
      const last = [...l.querySelectorAll(":scope > li.msg[data-stamp]")].at(-1);
      if (!last) return;
      fetch(`/rooms/${encodeURIComponent(l.dataset.room)}/read`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ stamp: Number(last.dataset.stamp) }),
      }).catch(() => {});
    }, 300);
  };

  document.addEventListener("visibilitychange", () => {
    if (document.hidden) return;
    unseenHere = 0;
    showCount();
    markRead();
  });

  // ---- notifications and sound, each opted into in this browser ----

  const wantsNotes = () => store.get("egoat:notify") === "1" && !whyNoNotes() && Notification.permission === "granted";
  const wantsSound = () => store.get("egoat:sound") === "1";
  let audio;
  const chime = () => {
    try {
      audio ??= new AudioContext();
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.setValueAtTime(0.08, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.25);
      tone.connect(gain).connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.25);
    } catch {}
  };
  /** Brings this tab forward on the room a notification was about: the room in view, or that room's page. */
  const openRoom = (room) => {
    window.focus();
    const l = list();
    if (!l || room === l.dataset.room) {
      const scroller = document.querySelector(".scroller");
      if (scroller) scroller.scrollTop = 0;
      return;
    }
    // The room list's own link to it (the owner's), else as the page's links are made (a guest's name rides along).
    const link = document.querySelector(`#room-list li[data-room="${CSS.escape(room)}"] a`);
    location.assign(link?.href ?? `/?${new URLSearchParams(l.dataset.peer ? { room, peer_id: l.dataset.peer } : { room })}`);
  };
  const tell = (room, body) => {
    if (wantsSound()) chime();
    if (!wantsNotes()) return;
    try {
      const note = new Notification(`#${room}`, { body, tag: room });
      note.onclick = () => {
        note.close();
        openRoom(room);
      };
    } catch {}
  };

  /** Why this page cannot give desktop notifications, in words; "" when it can, or may ask. */
  const whyNoNotes = () => {
    if (!window.isSecureContext) return `Desktop notifications: the browser allows them only on https or localhost, and this page is on ${location.origin}. Sound works here.`;
    if (!("Notification" in window)) return "Desktop notifications: this browser has none.";
    if (Notification.permission === "denied") return "Desktop notifications are blocked for this page in the browser's settings.";
    return "";
  };
  /** Says why next to the notifications box, and takes the box out of use when it cannot work. */
  const explainNotes = (box, why) => {
    let line = document.getElementById("notify-why");
    if (!line) {
      line = window.egoat.element("p", "hint", "");
      line.id = "notify-why";
      box.closest("label")?.after(line);
      box.setAttribute("aria-describedby", line.id);
    }
    line.textContent = why;
    line.hidden = !why;
    // Offered only where it can work: not without a secure context or the API, nor when the browser blocks it.
    box.disabled = whyNoNotes() !== "";
    if (why) box.checked = false;
  };

  const drawSettings = () => {
    for (const box of document.querySelectorAll("[data-setting]")) {
      const key = `egoat:${box.dataset.setting}`;
      if (box.dataset.setting !== "notify") {
        box.checked = store.get(key) === "1";
        continue;
      }
      const why = whyNoNotes();
      box.checked = store.get(key) === "1" && !why && Notification.permission === "granted";
      explainNotes(box, why);
    }
  };
  document.addEventListener("change", async (event) => {
    const box = event.target.closest?.("[data-setting]");
    if (!box) return;
    const key = `egoat:${box.dataset.setting}`;
    if (box.dataset.setting === "notify" && box.checked) {
      const answer = await Notification.requestPermission().catch(() => "denied");
      if (answer !== "granted") {
        // Not unticked without a word: the browser's answer is said beside the box.
        explainNotes(box, answer === "denied" ? whyNoNotes() || "Desktop notifications were refused by the browser." : "Desktop notifications need the browser's permission: tick the box again to be asked.");
        box.checked = false;
        return;
      }
      explainNotes(box, "");
    }
    store.set(key, box.checked ? "1" : null);
  });

  // ---- the room list, as the stream sends it ----

  /** Newest stamp per room, as last drawn: what is newer is news. */
  let latest = new Map();
  const remember = (rooms) => {
    latest = new Map([...rooms.querySelectorAll("li[data-room]")].map((li) => [li.dataset.room, Number(li.dataset.latest)]));
  };

  document.addEventListener(
    "rooms",
    (event) => {
      const html = event.detail?.data;
      const old = document.getElementById("room-list");
      if (typeof html !== "string" || !old) return;
      const template = document.createElement("template");
      template.innerHTML = html;
      const fresh = template.content.firstElementChild;
      if (fresh?.id !== "room-list") return;
      const here = list()?.dataset.room;
      for (const li of fresh.querySelectorAll("li[data-room]")) {
        const before = latest.get(li.dataset.room);
        const news = before !== undefined && Number(li.dataset.latest) > before && Number(li.dataset.unread) > 0;
        if (news && (li.dataset.room !== here || document.hidden)) tell(li.dataset.room, li.querySelector(".room-latest")?.textContent ?? "");
        // The room in view is being read: what arrives there is counted in the title while the tab is hidden, and
        // is never a badge (the stream's count lags the read mark by a round trip).
        if (li.dataset.room === here) {
          li.dataset.unread = "0";
          li.querySelector(".badge")?.remove();
        }
      }
      old.replaceWith(fresh);
      remember(fresh);
      showCount();
    },
    true,
  );

  // A message in the room in view: read at once if seen; otherwise counted (and told, for a guest, who has no list).
  document.addEventListener("htmx:after:swap", (event) => {
    if (event.target?.id !== "messages") return;
    if (!document.hidden) return markRead();
    unseenHere += 1;
    showCount();
    if (!isOwner()) {
      const last = [...list().querySelectorAll(":scope > li.msg")].at(-1);
      if (last && !last.classList.contains("own")) tell(list().dataset.room, `${last.querySelector(".author")?.textContent}: ${last.querySelector(".text")?.textContent ?? "a file"}`);
    }
  });

  document.addEventListener("DOMContentLoaded", () => {
    const rooms = document.getElementById("room-list");
    if (rooms) remember(rooms);
    drawSettings();
    showCount();
  });
})();
