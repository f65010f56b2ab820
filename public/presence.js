// Who is in the room, live: the room's stream sends the Members panel (and the owner's Linked instances) anew whenever
// a link comes up or goes, a member says hello or leaves (`members` and `peers` events); each replaces the panel in the
// page, keeping open what the reader opened (a member's Connection), what the reader is filling in (the mailbox form)
// and where the panel was scrolled.
(() => {
  /** Replaces the element of `id` with the panel in `html`, keeping its open sections (by `data-node`) and scroll. */
  const swap = (id, html) => {
    const old = document.getElementById(id);
    if (typeof html !== "string" || !old) return;
    const template = document.createElement("template");
    template.innerHTML = html;
    const fresh = template.content.firstElementChild;
    if (fresh?.id !== id) return;
    const opened = new Set([...old.querySelectorAll("[data-node] details[open]")].map((d) => d.closest("[data-node]").dataset.node));
    for (const item of fresh.querySelectorAll("[data-node]")) {
      if (opened.has(item.dataset.node)) item.querySelector("details")?.setAttribute("open", "");
    }
    // What the reader is filling in (a form marked data-keep) stays as it is, open, typed into and focused.
    const active = document.activeElement;
    const caret = active && "selectionStart" in active ? [active.selectionStart, active.selectionEnd] : null;
    let keptFocus = null;
    for (const kept of old.querySelectorAll("[data-keep]")) {
      const place = fresh.querySelector(`[data-keep="${CSS.escape(kept.dataset.keep)}"]`);
      if (!place) continue;
      if (kept.contains(active)) keptFocus = active;
      place.replaceWith(kept);
    }
    const focused = document.activeElement?.closest?.("[data-node]")?.dataset.node;
    old.replaceWith(fresh);
    if (keptFocus) {
      keptFocus.focus();
      if (caret) keptFocus.setSelectionRange?.(caret[0], caret[1]);
      return;
    }
    // The keyboard stays on the member it was on.
    if (focused) fresh.querySelector(`[data-node="${CSS.escape(focused)}"] summary`)?.focus();
  };

  document.addEventListener("members", (event) => swap("members", event.detail?.data), true);
  document.addEventListener("peers", (event) => swap("peers", event.detail?.data), true);
})();
