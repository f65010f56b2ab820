// The little the page needs beyond htmx: local times, copy, Enter to send, keeping the newest message in view.
(() => {
  const localize = (root) => {
    for (const t of root.querySelectorAll("time[datetime]:not([data-local])")) {
      const d = new Date(t.getAttribute("datetime"));
      if (Number.isNaN(d.getTime())) continue;
      t.textContent = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      t.title = d.toLocaleString();
      t.dataset.local = "1";
    }
  };

  const messages = () => document.getElementById("messages");
  const nearBottom = (el) => el.scrollHeight - el.scrollTop - el.clientHeight < 120;
  let stick = true;

  document.addEventListener("DOMContentLoaded", () => {
    localize(document);
    const list = messages();
    if (list) {
      list.scrollTop = list.scrollHeight;
      list.addEventListener("scroll", () => (stick = nearBottom(list)));
    }
  });

  document.addEventListener("htmx:after:swap", () => {
    localize(document);
    const list = messages();
    if (list && stick) list.scrollTop = list.scrollHeight;
    const text = document.querySelector("#send textarea");
    if (text && document.activeElement === document.body) text.focus();
  });

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

  document.addEventListener("keydown", (event) => {
    const area = event.target;
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || !area.matches?.("#send textarea")) return;
    event.preventDefault();
    if (area.value.trim() !== "") area.form.requestSubmit();
  });
})();
