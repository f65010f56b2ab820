/**
 * The command lines of `e-goat backup --db PATH --out FILE [--passphrase-file F]` and `e-goat restore --in FILE --db
 * PATH [--passphrase-file F]`: a bad flag is one line and exit 2, a backup or restore that cannot be done one line
 * and exit 1.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { backup, BackupError, restore } from "./backup.ts";

const SYNOPSIS = {
  backup: "e-goat backup --db PATH --out FILE [--passphrase-file F]",
  restore: "e-goat restore --in FILE --db PATH [--passphrase-file F]",
};

export const BACKUP_USAGE = [
  `${SYNOPSIS.backup}   a consistent copy of a database, also while its instance runs`,
  `${SYNOPSIS.restore}   that copy as a database again (never over an existing one)`,
];

/** A command line that cannot be run as given (exit 2), or a backup or restore that cannot be done (exit 1). */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly code: 1 | 2,
  ) {
    super(message);
  }
}

const FLAGS = { db: { type: "string" }, out: { type: "string" }, in: { type: "string" }, "passphrase-file": { type: "string" } } as const;

/** The passphrase in the file's first line; an empty one is refused (it would encrypt with nothing). */
function passphraseFrom(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new CommandError(`--passphrase-file: cannot read '${path}': ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, 2);
  }
  const passphrase = text.split(/\r?\n/)[0]!;
  if (passphrase === "") throw new CommandError(`--passphrase-file: '${path}' holds no passphrase (its first line is empty)`, 2);
  return passphrase;
}

function flagsOf(command: "backup" | "restore", argv: string[], needs: ("db" | "out" | "in")[]) {
  let values: Partial<Record<keyof typeof FLAGS, string>>;
  try {
    values = parseArgs({ args: argv.map((a) => (/^-[A-Za-z]/.test(a) ? `-${a}` : a)), options: FLAGS, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new CommandError(`${command}: ${(error as Error).message.split("\n")[0]} (see --help)`, 2);
  }
  for (const name of Object.keys(values)) {
    if (!needs.includes(name as "db") && name !== "passphrase-file") throw new CommandError(`${command}: --${name} is not a flag of ${command} (see --help)`, 2);
  }
  for (const name of needs) if (!values[name]) throw new CommandError(`${command}: --${name} is needed (${SYNOPSIS[command]})`, 2);
  return { ...values, passphrase: passphraseFrom(values["passphrase-file"]) };
}

/** Runs `e-goat backup` or `e-goat restore` with the arguments after the command; answers the line to print. */
export async function runBackupCommand(command: "backup" | "restore", argv: string[]): Promise<string> {
  const started = performance.now();
  const seconds = () => ((performance.now() - started) / 1000).toFixed(1);
  try {
    if (command === "backup") {
      const flags = flagsOf(command, argv, ["db", "out"]);
      const { bytes, encrypted } = await backup({ db: flags.db!, out: flags.out!, passphrase: flags.passphrase });
      return `e-goat: backup of ${flags.db} written to ${flags.out} (${bytes} bytes${encrypted ? ", encrypted" : ", not encrypted"}, ${seconds()} s)`;
    }
    const flags = flagsOf(command, argv, ["in", "db"]);
    const { encrypted } = await restore({ input: flags.in!, db: flags.db!, passphrase: flags.passphrase });
    return `e-goat: ${flags.in}${encrypted ? " (decrypted)" : ""} restored as ${flags.db} (${seconds()} s); start e-goat with --db ${flags.db}`;
  } catch (error) {
    if (error instanceof BackupError) throw new CommandError(error.message, 1);
    throw error;
  }
}
