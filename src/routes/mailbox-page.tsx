/** @jsxImportSource @kitajs/html */
import { htmlResponse } from "../util/http.ts";
import { MailboxPage } from "../views/mailbox.tsx";
import type { AppOptions } from "./options.ts";

/** Topics the mailbox's page lists: those holding the most. */
const TOPICS_SHOWN = 100;

/** The mailbox's own page, for its owner (`GET /mailbox` from a browser). */
export function mailboxPage(opts: AppOptions, mailbox: NonNullable<AppOptions["mailbox"]>): Response {
  const instance = { name: opts.node.name, nodeId: opts.node.id, version: opts.version, mailbox: true };
  const page = (
    <MailboxPage instance={instance} stats={mailbox.stats()} topics={mailbox.topics(TOPICS_SHOWN)} days={mailbox.days} fileBytes={mailbox.fileBytes} now={Date.now()} />
  );
  const response = htmlResponse(String(page));
  response.headers.set("cache-control", "no-store");
  return response;
}
