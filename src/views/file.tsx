/** @jsxImportSource @kitajs/html */
import { formatBytes, isInlineImage, type FileFetch, type FileRef, type FileSettings } from "../domain/files.ts";
import { fileHref, roomPath } from "./links.ts";

export { formatBytes };

/** A file as the page shows it: how much of it is here, and (for the owner) at each member that said so. */
export interface FileState {
  have: number;
  delivery: { name: string; bytes: number }[];
  /** Where it stands here; without it, whole once `have` reaches the size, else coming. */
  fetch?: FileFetch;
  /** Its size as its manifest gives it, when known here (a message may say another). */
  size?: number;
  /** For the owner: fetch and cancel forms, which lead back to the room under this `peer_id` ("" for none). */
  owner?: { writeAs: string };
}

/** The state of each file a message carries, as the reader may see it. */
export type FileStates = (ref: FileRef) => FileState;

const percent = (part: number, whole: number) => `${Math.min(100, Math.floor((100 * part) / whole))}%`;

/** Time left for people: 12 s, 4 min, 1 h 5 min. */
export function formatDuration(seconds: number): string {
  const s = Math.max(1, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const minutes = Math.round(s / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h${minutes % 60 === 0 ? "" : ` ${minutes % 60} min`}`;
}

/** How a file comes in, in words: "37% here · 3.2 MB/s · 12 s left". */
export function comingWords(have: number, size: number, rate: number | null): string {
  const parts = [`${percent(have, size)} here`];
  if (rate !== null && rate > 0) parts.push(`${formatBytes(rate)}/s`, `${formatDuration((size - have) / rate)} left`);
  return parts.join(" · ");
}

/** A button that posts to the file's action in its room (a plain form: it works without the page's script too). */
function FileAction({ room, id, action, writeAs, label, title }: { room: string; id: string; action: "fetch" | "cancel"; writeAs: string; label: string; title: string }) {
  const query = writeAs === "" ? "" : `?${new URLSearchParams({ peer_id: writeAs })}`;
  return (
    <form class="file-act" method="post" action={roomPath(room, `files/${id}/${action}${query}`)}>
      <button type="submit" class={action === "cancel" ? "cancel quiet" : action} title={title} safe>
        {label}
      </button>
    </form>
  );
}

/**
 * One file of a message: a thumbnail for an image held whole here, a link once it is whole (an image opens in a tab of
 * its own, anything else downloads: the chat's tab is never taken away), its progress with speed and time left while
 * it comes, what the owner may do (fetch, cancel), and how far it got at the room's other instances. The same for the
 * page and the live updates.
 */
export function FileItem({ file, room, state }: { file: FileRef; room: string; state: FileState }) {
  const size = state.size ?? file.size;
  const fetch: FileFetch = state.fetch ?? (state.have >= size ? { kind: "whole" } : { kind: "coming", rate: null });
  const whole = fetch.kind === "whole";
  const href = fileHref(file.id, room);
  const inline = isInlineImage(file.type);
  const owner = state.owner;
  return (
    <li class="file" data-file={file.id} data-state={fetch.kind}>
      {whole && inline ? (
        <a class="thumb" href={href} target="_blank" rel="noopener">
          <img src={href} alt={file.name} loading="lazy" />
        </a>
      ) : (
        ""
      )}
      <span class="file-line">
        {whole ? (
          inline ? (
            <a class="file-name" href={href} target="_blank" rel="noopener" safe>
              {file.name}
            </a>
          ) : (
            <a class="file-name" href={href} download={file.name} safe>
              {file.name}
            </a>
          )
        ) : (
          <span class="file-name" safe>
            {file.name}
          </span>
        )}
        <span class="file-size" safe>
          {formatBytes(size)}
        </span>
        {fetch.kind === "coming" ? (
          <span class="file-here">
            <progress value={String(Math.min(state.have, size))} max={String(size)}></progress>{" "}
            <span class="file-speed" safe>
              {comingWords(state.have, size, fetch.rate)}
            </span>
          </span>
        ) : fetch.kind === "waiting" ? (
          <span class="file-here">{state.have > 0 ? `${percent(state.have, size)} here · waiting for a member that has it` : "waiting for a member that has it"}</span>
        ) : fetch.kind === "offered" && !owner ? (
          <span class="file-here">not fetched by this instance</span>
        ) : (
          ""
        )}
        {owner && fetch.kind === "offered" ? (
          <FileAction room={room} id={file.id} action="fetch" writeAs={owner.writeAs} label={`Fetch (${formatBytes(size)})`} title="Fetch this file to this instance" />
        ) : owner && (fetch.kind === "coming" || fetch.kind === "waiting") ? (
          <FileAction room={room} id={file.id} action="cancel" writeAs={owner.writeAs} label="Cancel" title="Stop fetching this file (it can be fetched again later)" />
        ) : (
          ""
        )}
      </span>
      {state.delivery.length > 0 ? (
        <span class="delivery" title="How much of the file each of the room's other instances holds">
          at{" "}
          {state.delivery.map((d) => (
            <span class={d.bytes >= size ? "at done" : "at"} safe>
              {`${d.name} ${d.bytes >= size ? "✓" : percent(d.bytes, size)}`}
            </span>
          ))}
        </span>
      ) : (
        ""
      )}
    </li>
  );
}

export function FileList({ files, room, states }: { files: readonly FileRef[]; room: string; states: FileStates }) {
  return (
    <ul class="files">
      {files.map((file) => (
        <FileItem file={file} room={room} state={states(file)} />
      ))}
    </ul>
  );
}

/** A size in bytes as the settings form's MB field shows it: 25, 0.5, 1000. */
const megabytes = (bytes: number) => String(Math.round(bytes / 1000) / 1000);

/**
 * The owner's file settings, as a menu at the room's head: what this instance fetches by itself (larger files, or other
 * kinds, wait for a click), and what guests may upload a day. A plain form: it works without the page's script.
 */
export function FileSettingsMenu({ settings, room, writeAs }: { settings: FileSettings; room: string; writeAs: string }) {
  const kinds: [FileSettings["auto_fetch"], string][] = [
    ["all", "Images and other files"],
    ["images", "Images only"],
    ["none", "Nothing: every file on a click"],
  ];
  return (
    <details class="file-settings" name="room-tools">
      <summary>Files</summary>
      <form method="post" action="/files/settings" class="file-settings-form">
        <input type="hidden" name="room" value={room} />
        {writeAs === "" ? "" : <input type="hidden" name="peer_id" value={writeAs} />}
        <fieldset>
          <legend>Fetched by this instance by itself</legend>
          <label>
            What{" "}
            <select name="auto_fetch">
              {kinds.map(([value, label]) => (
                <option value={value} selected={settings.auto_fetch === value} safe>
                  {label}
                </option>
              ))}
            </select>
          </label>
          <label>
            Up to <input type="number" name="auto_fetch_mb" min="0" step="any" required value={megabytes(settings.auto_fetch_bytes)} /> MB each
          </label>
          <p class="hint">Larger files show a Fetch button.</p>
        </fieldset>
        <fieldset>
          <legend>What guests may upload</legend>
          <label>
            Each guest <input type="number" name="guest_day_mb" min="0" step="any" required value={megabytes(settings.guest_day_bytes)} /> MB a day
          </label>
          <label>
            All guests of a room <input type="number" name="guest_room_day_mb" min="0" step="any" required value={megabytes(settings.guest_room_day_bytes)} /> MB a day
          </label>
        </fieldset>
        <button type="submit">Save</button>
      </form>
    </details>
  );
}
