import { Elysia, t } from "elysia";
import type { RoomAccess } from "./access.ts";
import { messageBodyParser, type GuestLimit } from "./refusals.ts";
import { HttpError } from "../util/http.ts";
import type { AppOptions } from "./options.ts";
import { FORM, formFields, WRONG_FORM } from "./page-views.tsx";

/** The owner's backup as a download (`POST /backup` from the landing page's form): the file, removed once sent. */
export function backupRoutes(opts: AppOptions, guests: GuestLimit, access: RoomAccess) {
  return new Elysia({ name: "backup" }).post(
    "/backup",
    async ({ body, request, server }) => {
      access.ownerOnly(request, server, "backups");
      if (!opts.backup) throw new HttpError(404, "this instance makes no backups here");
      const passphrase = body.passphrase === undefined || body.passphrase === "" ? undefined : body.passphrase;
      let made;
      try {
        made = await opts.backup(passphrase);
      } catch (error) {
        throw new HttpError(409, `The backup could not be made: ${(error as Error).message}`);
      }
      const name = `e-goat-${opts.node.id.slice(0, 8)}-${new Date().toISOString().slice(0, 10)}.${passphrase ? "age" : "db"}`;
      const file = Bun.file(made.path).stream();
      const reader = file.getReader();
      // Removed once sent, or once the download stops.
      const stream = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const { done, value } = await reader.read();
          if (done) {
            controller.close();
            made.remove();
          } else controller.enqueue(value);
        },
        cancel() {
          made.remove();
          return reader.cancel();
        },
      });
      return new Response(stream, {
        headers: {
          "content-type": "application/octet-stream",
          "content-length": String(made.bytes),
          "content-disposition": `attachment; filename="${name}"`,
          "cache-control": "no-store",
        },
      });
    },
    {
      parse: messageBodyParser({ type: FORM, wrongType: WRONG_FORM, maxBytes: 4096, guests, decode: formFields("passphrase") }),
      body: t.Object({ passphrase: t.Optional(t.String({ maxLength: 1024, error: "A passphrase is at most 1024 characters." })) }),
    },
  );
}
