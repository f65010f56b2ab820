// The room's menus (Search, Alerts, Leave: <details name="room-tools"> at the room's head, so one is open at a time
// even without the script): Esc closes the open one and puts the keyboard back on its button, a click or focus
// elsewhere closes it, and opening Search puts the keyboard in its field.
(() => {
  const MENUS = ".room-tools > details";
  const openMenu = () => document.querySelector(`${MENUS}[open]`);

  document.addEventListener(
    "toggle",
    (event) => {
      const menu = event.target;
      if (menu.matches?.(MENUS) && menu.open) menu.querySelector('input[type="search"]')?.focus();
    },
    true,
  );

  document.addEventListener("keydown", (event) => {
    const menu = openMenu();
    if (event.key !== "Escape" || !menu) return;
    event.preventDefault();
    menu.open = false;
    menu.querySelector("summary")?.focus();
  });

  /** Closes the open menu when `target` (clicked or focused) lies outside it. */
  const closeOutside = (event) => {
    const menu = openMenu();
    if (menu && event.target instanceof Node && !menu.contains(event.target)) menu.open = false;
  };
  document.addEventListener("click", closeOutside);
  document.addEventListener("focusin", closeOutside);
})();
