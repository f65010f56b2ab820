/** @jsxImportSource @kitajs/html */
import type { Children } from "@kitajs/html";
import { groupedNodeId } from "../domain/names.ts";

export interface InstanceInfo {
  name: string;
  nodeId: string;
  version: string;
  /** The reader is the owner of an instance that keeps a mailbox: the top bar links to its page. */
  mailbox?: boolean;
}

export function Layout({ title, instance, children }: { title: string; instance: InstanceInfo; children: Children }) {
  return (
    <>
      {"<!doctype html>"}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="color-scheme" content="light dark" />
          <title safe>{title}</title>
          <link rel="icon" href="data:," />
          <link rel="stylesheet" href="/assets/style.css" />
          {/* Under the CSP (src/routes/guard.ts) htmx may add no styles of its own; the page uses no indicators. */}
          <meta name="htmx-config" content="includeIndicatorCSS:false" />
          {/* Not deferred: htmx must see the SSE extension registered before it processes the page. */}
          <script src="/assets/htmx.js"></script>
          <script src="/assets/hx-sse.js"></script>
          <script src="/assets/app.js"></script>
          <script src="/assets/send.js"></script>
          <script src="/assets/news.js"></script>
          <script src="/assets/presence.js"></script>
          <script src="/assets/files.js"></script>
          <script src="/assets/menus.js"></script>
          <script type="module" src="/assets/names.js"></script>
        </head>
        <body>
          <header class="topbar">
            <a class="brand" href="/">
              E-Goat
            </a>
            <span class="instance" title={`node ${groupedNodeId(instance.nodeId)} · e-goat ${instance.version}`} safe>
              {instance.name}
            </span>
            {instance.mailbox ? (
              <a class="topbar-link" href="/mailbox">
                Mailbox
              </a>
            ) : (
              ""
            )}
          </header>
          {/* Filled by the page's script when the page cannot reach this instance, and when it can again. */}
          <div id="connection" class="connection" role="status" aria-live="assertive" hidden></div>
          {children}
        </body>
      </html>
    </>
  );
}
