/** @jsxImportSource @kitajs/html */

/**
 * The owner's backup, as a download: a consistent copy of this instance's database (every room, key, message and file,
 * and its identity), encrypted with a passphrase when one is given. The same as `e-goat backup`.
 */
export function BackupCard() {
  return (
    <section class="card backup">
      <h2>Back up this instance</h2>
      <p class="hint">
        A copy of everything it holds: its identity, every room and key, the messages and files. Restore it with{" "}
        <code>e-goat restore --in FILE --db chat.db</code> on any machine.
      </p>
      <form method="post" action="/backup" class="backup-form">
        <label>
          Passphrase (recommended: without one, whoever gets the file reads every room)
          <input name="passphrase" type="password" autocomplete="new-password" maxlength="1024" />
        </label>
        <button type="submit">Download a backup</button>
      </form>
      <p class="hint">
        Without a backup, your <a href="/recovery">recovery phrase</a> brings back who you are (your person) on a new instance.
      </p>
    </section>
  );
}
