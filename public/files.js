// Files: each one chosen, dropped or pasted waits in a preview above the message box (a thumbnail for an image, its
// name and size, a button to take it out) until Send; Cancel, or Esc, sends nothing. Each file then goes with its own
// progress bar, speed and time left, and can be stopped. A file's progress in the room (here and at the other
// instances) comes over SSE as "file" events; its Fetch and Cancel buttons post without leaving the page. Without this
// script the attach form posts as it is, and those buttons are plain forms.
(() => {
  const { element } = window.egoat;

  /** A size for people, as the instance writes it: 812 B, 4.2 KB, 17 MB, 1.1 GB. */
  const formatBytes = (bytes) => {
    const units = ["B", "KB", "MB", "GB", "TB"];
    let value = bytes;
    let unit = 0;
    for (; value >= 1000 && unit < units.length - 1; unit++) value /= 1000;
    return unit === 0 ? `${bytes} B` : `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
  };
  /** Time left for people: 12 s, 4 min, 1 h 5 min. */
  const formatDuration = (seconds) => {
    const s = Math.max(1, Math.round(seconds));
    if (s < 60) return `${s} s`;
    const minutes = Math.round(s / 60);
    if (minutes < 60) return `${minutes} min`;
    return `${Math.floor(minutes / 60)} h${minutes % 60 === 0 ? "" : ` ${minutes % 60} min`}`;
  };

  /** Speed over the last few seconds of progress: bytes a second, or null while too little is known. */
  const speedometer = () => {
    const samples = [];
    return (bytes) => {
      const now = performance.now();
      samples.push({ at: now, bytes });
      while (samples.length > 2 && now - samples[0].at > 4000) samples.shift();
      const first = samples[0];
      return now - first.at < 700 ? null : ((bytes - first.bytes) * 1000) / (now - first.at);
    };
  };

  // ---- the preview: nothing leaves before Send ----

  /** Files waiting in the preview, in the order they came. */
  let pending = [];

  const composer = () => document.querySelector(".composer");

  /** The preview's element, made once, above the uploads. */
  const tray = () => {
    let box = document.getElementById("attach-preview");
    if (box) return box;
    const place = composer();
    if (!place) return null;
    box = element("section", "attach-preview");
    box.id = "attach-preview";
    box.setAttribute("aria-label", "Files to send");
    box.hidden = true;
    const head = element("p", "preview-head");
    const list = element("ul", "preview-list");
    const actions = element("div", "preview-actions");
    const send = element("button", "preview-send", "Send");
    send.type = "button";
    const cancel = element("button", "preview-cancel quiet", "Cancel");
    cancel.type = "button";
    actions.append(send, cancel);
    box.append(head, list, actions);
    send.addEventListener("click", () => sendPending());
    cancel.addEventListener("click", () => clearPending());
    box.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        clearPending();
      }
    });
    place.prepend(box);
    return box;
  };

  /** A small picture of an image file, drawn on a canvas (the page's policy loads no blob: images). */
  const thumbnail = (file) => {
    const canvas = element("canvas", "preview-thumb");
    canvas.width = 48;
    canvas.height = 48;
    canvas.setAttribute("aria-hidden", "true");
    const image = file.type.startsWith("image/") && typeof createImageBitmap === "function" && file.size <= 50e6;
    if (!image) {
      // Anything else: its extension, as a label.
      const ext = /\.([a-z0-9]{1,4})$/i.exec(file.name || "")?.[1]?.toUpperCase() ?? "FILE";
      const context = canvas.getContext("2d");
      if (context) {
        requestAnimationFrame(() => {
          context.fillStyle = getComputedStyle(canvas).color;
          context.font = "600 12px system-ui, sans-serif";
          context.textAlign = "center";
          context.textBaseline = "middle";
          context.fillText(ext, 24, 24);
        });
      }
      return canvas;
    }
    createImageBitmap(file)
      .then((bitmap) => {
        const scale = Math.min(48 / bitmap.width, 48 / bitmap.height, 1);
        const w = Math.max(1, Math.round(bitmap.width * scale));
        const h = Math.max(1, Math.round(bitmap.height * scale));
        canvas.getContext("2d")?.drawImage(bitmap, (48 - w) / 2, (48 - h) / 2, w, h);
        bitmap.close();
      })
      .catch(() => {});
    return canvas;
  };

  const renderPending = () => {
    const box = tray();
    if (!box) return;
    const list = box.querySelector(".preview-list");
    list.replaceChildren(
      ...pending.map((file, index) => {
        const row = element("li", "preview-file");
        const name = element("span", "preview-name", file.name || "pasted file");
        name.title = file.name || "pasted file";
        const remove = element("button", "preview-remove quiet", "×");
        remove.type = "button";
        remove.title = `Take ${file.name || "this file"} out`;
        remove.setAttribute("aria-label", remove.title);
        remove.addEventListener("click", () => {
          pending.splice(index, 1);
          renderPending();
        });
        row.append(thumbnail(file), name, element("span", "preview-size", formatBytes(file.size)), remove);
        return row;
      }),
    );
    const total = pending.reduce((sum, f) => sum + f.size, 0);
    box.querySelector(".preview-head").textContent =
      pending.length === 1 ? `1 file to send (${formatBytes(total)})` : `${pending.length} files to send (${formatBytes(total)})`;
    box.querySelector(".preview-send").textContent = pending.length === 1 ? "Send file" : `Send ${pending.length} files`;
    const was = box.hidden;
    box.hidden = pending.length === 0;
    if (was && !box.hidden) box.querySelector(".preview-send").focus();
  };

  /** Files chosen, dropped or pasted: into the preview, nothing sent yet. */
  const offer = (files) => {
    if (files.length === 0) return;
    pending = [...pending, ...files];
    renderPending();
  };

  const clearPending = () => {
    pending = [];
    renderPending();
    document.querySelector("#send textarea")?.focus();
  };

  const sendPending = () => {
    const files = pending;
    pending = [];
    renderPending();
    for (const file of files) upload(file);
    document.querySelector("#send textarea")?.focus();
  };

  // ---- sending: one request per file, with progress and a way to stop it ----

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
    const stop = element("button", "upload-cancel quiet", "Cancel");
    stop.type = "button";
    stop.title = `Stop sending ${file.name || "this file"}`;
    row.append(element("span", "upload-name", file.name || "pasted file"), bar, status, stop);
    list.append(row);
    const request = new XMLHttpRequest();
    const fail = (reason) => {
      row.classList.add("failed");
      bar.remove();
      stop.remove();
      status.textContent = `${file.name || "file"}: ${reason}`;
      const dismiss = element("button", "", "Dismiss");
      dismiss.type = "button";
      dismiss.addEventListener("click", () => row.remove());
      row.append(dismiss);
    };
    stop.addEventListener("click", () => {
      request.abort();
      row.remove();
    });
    const body = new FormData();
    body.append("file", file, file.name || "pasted");
    request.open("POST", form.action);
    request.setRequestHeader("accept", "application/json");
    const speed = speedometer();
    request.upload.addEventListener("progress", (event) => {
      if (!event.lengthComputable) return;
      bar.max = event.total;
      bar.value = event.loaded;
      const rate = speed(event.loaded);
      const parts = [`${Math.floor((100 * event.loaded) / event.total)}%`];
      if (rate !== null && rate > 0) parts.push(`${formatBytes(rate)}/s`, `${formatDuration((event.total - event.loaded) / rate)} left`);
      status.textContent = parts.join(" · ");
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

  document.addEventListener("change", (event) => {
    if (event.target.id !== "attach-file") return;
    offer([...event.target.files]);
    event.target.value = "";
  });
  // A form sent anyway (Enter on the file input) goes the same way: into the preview.
  document.addEventListener("submit", (event) => {
    if (event.target.id !== "attach") return;
    event.preventDefault();
    const input = document.getElementById("attach-file");
    offer([...input.files]);
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
    offer([...event.dataTransfer.files]);
  });
  document.addEventListener("paste", (event) => {
    if (!event.target.closest?.(".chat") || !event.clipboardData || event.clipboardData.files.length === 0) return;
    event.preventDefault();
    offer([...event.clipboardData.files]);
  });

  // ---- files in the room: Fetch and Cancel without leaving the page ----

  document.addEventListener("submit", (event) => {
    const form = event.target.closest?.("form.file-act");
    if (!form) return;
    event.preventDefault();
    const button = form.querySelector("button");
    if (button) button.disabled = true;
    fetch(form.action, { method: "POST", headers: { accept: "application/json" } })
      .then(async (res) => {
        if (res.ok) return; // the room's stream brings the file's new state
        let reason;
        try {
          reason = (await res.json()).error;
        } catch {}
        throw new Error(reason || `refused (${res.status})`);
      })
      .catch((error) => {
        if (button) {
          button.disabled = false;
          button.title = error.message;
        }
        const item = form.closest(".file");
        const note = item?.querySelector(".file-error") ?? element("span", "file-error");
        note.setAttribute("role", "alert");
        note.textContent = error.message === "Failed to fetch" ? "this instance did not answer; try again" : error.message;
        if (item && !note.isConnected) item.append(note);
      });
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
