/** @jsxImportSource @kitajs/html */
import { isInlineImage, type FileRef } from "../domain/files.ts";
import { fileHref } from "./links.ts";

/** A file as the page shows it: how much of it is here, and (for the owner) at each member that said so. */
export interface FileState {
  have: number;
  delivery: { name: string; bytes: number }[];
}

/** The state of each file a message carries, as the reader may see it. */
export type FileStates = (ref: FileRef) => FileState;

/** A size for people: 812 B, 4.2 KB, 17 MB, 1.1 GB. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  for (; value >= 1000 && unit < units.length - 1; unit++) value /= 1000;
  return unit === 0 ? `${bytes} B` : `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

const percent = (part: number, whole: number) => `${Math.floor((100 * part) / whole)}%`;

/**
 * One file of a message: a thumbnail for an image held whole here, a download link once it is whole, its progress
 * while it comes, and how far it got at the room's other instances. The same for the page and the live updates.
 */
export function FileItem({ file, room, state }: { file: FileRef; room: string; state: FileState }) {
  const whole = state.have >= file.size;
  const href = fileHref(file.id, room);
  return (
    <li class="file" data-file={file.id}>
      {whole && isInlineImage(file.type) ? (
        <a class="thumb" href={href} target="_blank" rel="noopener">
          <img src={href} alt={file.name} loading="lazy" />
        </a>
      ) : (
        ""
      )}
      <span class="file-line">
        {whole ? (
          <a class="file-name" href={href} safe>
            {file.name}
          </a>
        ) : (
          <span class="file-name" safe>
            {file.name}
          </span>
        )}
        <span class="file-size" safe>
          {formatBytes(file.size)}
        </span>
        {whole ? (
          ""
        ) : (
          <span class="file-here">
            <progress value={String(state.have)} max={String(file.size)}></progress>{" "}
            <span safe>{`${percent(state.have, file.size)} here`}</span>
          </span>
        )}
      </span>
      {state.delivery.length > 0 ? (
        <span class="delivery" title="How much of the file each of the room's other instances holds">
          at{" "}
          {state.delivery.map((d) => (
            <span class={d.bytes >= file.size ? "at done" : "at"} safe>
              {`${d.name} ${d.bytes >= file.size ? "✓" : percent(d.bytes, file.size)}`}
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
