/** @jsxImportSource @kitajs/html */
import { Layout, type InstanceInfo } from "./layout.tsx";

export interface RecoveryView {
  instance: InstanceInfo;
  person: string;
  /** When the phrase was shown; null when never. */
  shownAt: number | null;
  /** The words, on the one page that shows them. */
  words?: string[];
  /** Another person may be brought back onto this instance: it has written nothing yet. */
  mayRestore: boolean;
  notice?: string;
  error?: string;
}

/**
 * The person's recovery phrase: shown once, to be written down or printed; and, on an instance that has written
 * nothing yet, the form that brings a person back from its phrase.
 */
export function RecoveryPage({ instance, person, shownAt, words, mayRestore, notice, error }: RecoveryView) {
  return (
    <Layout title="Recovery phrase · E-Goat" instance={instance}>
      <main class="landing recovery">
        <section class="card">
          <h1>Your recovery phrase</h1>
          <p>
            This instance is a device of the person <code safe>{person}</code>. The 24 words of its recovery phrase bring that person back on a new
            instance, even without a backup. Whoever has them can write as you: keep them offline.
          </p>
          {notice ? (
            <p class="notice" role="status" safe>
              {notice}
            </p>
          ) : (
            ""
          )}
          {error ? (
            <p class="error" role="alert" safe>
              {error}
            </p>
          ) : (
            ""
          )}
          {words ? (
            <>
              <ol class="phrase">
                {words.map((word) => (
                  <li safe>{word}</li>
                ))}
              </ol>
              <p class="hint">Write them down or print this page now: they are shown once, and not again.</p>
            </>
          ) : shownAt === null ? (
            <form method="post" action="/recovery/show">
              <button type="submit">Show my recovery phrase (once)</button>
            </form>
          ) : (
            <p class="hint" safe>{`It was shown on ${new Date(shownAt).toISOString().slice(0, 10)}, and is not shown again.`}</p>
          )}
        </section>
        {mayRestore ? (
          <section class="card">
            <h2>Bring a person back</h2>
            <p class="hint">This instance has written nothing yet: it can become a device of the person whose recovery phrase you type.</p>
            <form method="post" action="/recovery/restore" class="restore-form">
              <label>
                The 24 words
                <textarea name="phrase" rows="4" required maxlength="400" spellcheck="false"></textarea>
              </label>
              <button type="submit">Bring back</button>
            </form>
          </section>
        ) : (
          ""
        )}
        <a class="back" href="/">
          Back to your rooms
        </a>
      </main>
    </Layout>
  );
}
