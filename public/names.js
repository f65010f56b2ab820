// Room names typed into a form: shown as the name they become as they are typed, and sent as that name, so what is
// joined is what was shown. The same rule as roomNameFrom in src/domain/names.ts, which the server applies.
(() => {
  const roomNameFrom = (typed) =>
    typed
      .toLowerCase()
      .normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "")
      .replace(/[^A-Za-z0-9_.-]+/g, "-")
      .replace(/-{2,}/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 64)
      .replace(/-+$/, "");
  const valid = (name) => /^[A-Za-z0-9_.-]{1,64}$/.test(name);

  /** What the field's room will be: as typed when it is already a name (a room may have capitals), else made one. */
  const nameOf = (typed) => (valid(typed.trim()) && typed.trim() === typed ? typed : roomNameFrom(typed));

  const show = (input) => {
    const hint = document.getElementById(input.getAttribute("aria-describedby"));
    if (!hint) return;
    const typed = input.value;
    // New rooms are made lowercase; an existing one is entered as typed.
    const name = input.name === "name" ? roomNameFrom(typed) : nameOf(typed);
    hint.textContent = typed === "" || name === typed ? "" : name ? `This becomes the room #${name}.` : "A room name needs at least one letter or digit.";
  };

  document.addEventListener("input", (event) => {
    if (event.target.matches?.("input[data-room-name]")) show(event.target);
  });
  document.addEventListener(
    "submit",
    (event) => {
      const input = event.target.querySelector?.("input[data-room-name]");
      if (!input) return;
      const name = input.name === "name" ? roomNameFrom(input.value) : nameOf(input.value);
      if (name) input.value = name;
    },
    true,
  );
  document.addEventListener("DOMContentLoaded", () => {
    for (const input of document.querySelectorAll("input[data-room-name]")) show(input);
  });
})();
