/** @jsxImportSource @kitajs/html */
import { Elysia, t } from "elysia";
import { PhraseError } from "../domain/persons.ts";
import { DeviceInUseError, PhraseShownError } from "../rooms/person.ts";
import { htmlResponse } from "../util/http.ts";
import { RecoveryPage, type RecoveryView } from "../views/recovery.tsx";
import type { RoomAccess } from "./access.ts";
import type { AppOptions } from "./options.ts";
import { FORM, formFields, WRONG_FORM } from "./page-views.tsx";
import { messageBodyParser, type GuestLimit } from "./refusals.ts";

/** The owner's recovery phrase (shown once) and bringing a person back from one: `/recovery`. */
export function personRoutes(opts: AppOptions, guests: GuestLimit, access: RoomAccess) {
  const { node } = opts;
  const page = (extra: Partial<RecoveryView> = {}, status = 200) => {
    const view: RecoveryView = {
      instance: { name: node.name, nodeId: node.id, version: opts.version },
      person: node.person.id,
      shownAt: node.person.shownAt(),
      mayRestore: node.person.mayRestore(),
      ...extra,
    };
    const response = htmlResponse(String(<RecoveryPage {...view} />), status);
    // The words are never kept by a browser's cache.
    response.headers.set("cache-control", "no-store");
    return response;
  };
  const form = (...fields: string[]) => ({ parse: messageBodyParser({ type: FORM, wrongType: WRONG_FORM, maxBytes: 2048, guests, decode: formFields(...fields) }) });
  return new Elysia({ name: "person" })
    .get("/recovery", ({ request, server }) => {
      access.ownerOnly(request, server, "the recovery phrase");
      return page();
    })
    .post(
      "/recovery/show",
      ({ request, server }) => {
        access.ownerOnly(request, server, "the recovery phrase");
        try {
          return page({ words: node.person.revealPhrase().split(" ") });
        } catch (error) {
          if (error instanceof PhraseShownError) return page({ error: `${error.message}.` }, 409);
          throw error;
        }
      },
      form(),
    )
    .post(
      "/recovery/restore",
      ({ body, request, server }) => {
        access.ownerOnly(request, server, "bringing a person back");
        try {
          node.person.restore(body.phrase);
        } catch (error) {
          if (error instanceof PhraseError) return page({ error: `${error.message}.` }, 400);
          if (error instanceof DeviceInUseError) return page({ error: `${error.message}.` }, 409);
          throw error;
        }
        return page({ notice: "This instance is now a device of that person." });
      },
      { ...form("phrase"), body: t.Object({ phrase: t.String({ minLength: 1, maxLength: 400, error: "A recovery phrase is 24 words." }) }) },
    );
}

