// Files: each one chosen, dropped or pasted is sent with its own progress bar; their progress in the room (here and
// at the other instances) comes over SSE as "file" events. Without this script the attach form posts as it is.
(() => {
  const { element } = window.egoat;

  /** Sends one file to the room with its own progress row; the message shows up over SSE like any other. */
  const upload = (file) => {
    const form = document.getElementById("attach");
    const list = document.getElementById("uploads");
    if (!form || !list) return;
    const row = element("li", "upload");
    const bar = element("progress");
    bar.max = Math.max(file.size, 1);
    bar.value = 0;
    const status = element("span", "upload-status", "0%");
    row.append(element("span", "upload-name", file.name || "pasted file"), bar, status);
    list.append(row);
    const fail = (reason) => {
      row.classList.add("failed");
      bar.remove();
      status.textContent = `${file.name || "file"}: ${reason}`;
      const dismiss = element("button", "", "Dismiss");
      dismiss.type = "button";
      dismiss.addEventListener("click", () => row.remove());
      row.append(dismiss);
    };
    const body = new FormData();
    body.append("file", file, file.name || "pasted");
    const request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.setRequestHeader("accept", "application/json");
    request.upload.addEventListener("progress", (event) => {
      if (!event.lengthComputable) return;
      bar.max = event.total;
      bar.value = event.loaded;
      status.textContent = `${Math.floor((100 * event.loaded) / event.total)}%`;
    });
    request.addEventListener("load", () => {
      if (request.status === 200) return row.remove();
      let reason;
      try {
        reason = JSON.parse(request.responseText).error;
      } catch {}
      fail(reason || `refused (${request.status})`);
    });
    request.addEventListener("error", () => fail("the upload was cut off"));
    request.send(body);
  };
  const uploadAll = (files) => {
    for (const file of files) upload(file);
  };

  document.addEventListener("change", (event) => {
    if (event.target.id !== "attach-file") return;
    uploadAll(event.target.files);
    event.target.value = "";
  });
  // A form sent anyway (Enter on the file input) goes the same way, with progress.
  document.addEventListener("submit", (event) => {
    if (event.target.id !== "attach") return;
    event.preventDefault();
    const input = document.getElementById("attach-file");
    uploadAll(input.files);
    input.value = "";
  });
  const dragsFiles = (event) => event.dataTransfer && [...event.dataTransfer.types].includes("Files");
  document.addEventListener("dragover", (event) => {
    const chat = event.target.closest?.(".chat");
    if (!chat || !dragsFiles(event)) return;
    event.preventDefault();
    chat.classList.add("dropping");
  });
  document.addEventListener("dragleave", (event) => {
    const chat = event.target.closest?.(".chat");
    if (chat && !chat.contains(event.relatedTarget)) chat.classList.remove("dropping");
  });
  document.addEventListener("drop", (event) => {
    const chat = event.target.closest?.(".chat");
    if (!chat || !dragsFiles(event)) return;
    event.preventDefault();
    chat.classList.remove("dropping");
    uploadAll(event.dataTransfer.files);
  });
  document.addEventListener("paste", (event) => {
    if (!event.target.closest?.(".chat") || !event.clipboardData || event.clipboardData.files.length === 0) return;
    event.preventDefault();
    uploadAll(event.clipboardData.files);
  });

  // A file's progress, here and at the room's other instances, comes as a named SSE event ("file") with its new HTML.
  document.addEventListener(
    "file",
    (event) => {
      const html = event.detail?.data;
      if (typeof html !== "string") return;
      const template = document.createElement("template");
      template.innerHTML = html;
      const fresh = template.content.firstElementChild;
      if (!fresh?.dataset.file) return;
      for (const old of document.querySelectorAll(`#messages .file[data-file="${CSS.escape(fresh.dataset.file)}"]`)) old.replaceWith(fresh.cloneNode(true));
    },
    true,
  );
})();
