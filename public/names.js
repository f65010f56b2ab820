// Room names typed into a form: shown as the name they become as they are typed, and sent as that name, so what is
// joined is what was shown. A module: the rule comes from the server (/assets/room-name.js), the very function and
// pattern of src/domain/names.ts that it applies itself.
import { roomNameFrom, roomNamePattern } from "/assets/room-name.js";

/** What the field's room will be: as typed when it is already a name (a room may have capitals), else made one. */
const nameOf = (typed) => (roomNamePattern.test(typed) ? typed : roomNameFrom(typed));

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
