/**
 * `bun scripts/release/codesign-cli.ts verify FILE...`: one line per file, exit 1 if any signature is invalid.
 * `bun scripts/release/codesign-cli.ts sign FILE [--out OUT] [--identifier ID]`: ad hoc re-sign (in place by default).
 */
import { chmodSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { adhocSign, describeSignature, verifyCodeSignature } from "./codesign.ts";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { out: { type: "string" }, identifier: { type: "string" } },
});
const [command, ...files] = positionals;
const ms = (since: number) => `${Math.round(performance.now() - since)} ms`;

if (command === "verify" && files.length > 0) {
  let failed = false;
  for (const file of files) {
    const started = performance.now();
    try {
      const report = verifyCodeSignature(readFileSync(file));
      failed ||= !report.ok;
      console.log(`${file}: ${describeSignature(report)} [${ms(started)}]`);
      for (const note of report.notes) console.log(`${file}: note: ${note}`);
    } catch (err) {
      failed = true;
      console.log(`${file}: not a readable Mach-O: ${(err as Error).message}`);
    }
  }
  process.exit(failed ? 1 : 0);
} else if (command === "sign" && files.length === 1) {
  const file = files[0]!;
  const started = performance.now();
  const signed = adhocSign(readFileSync(file), { identifier: values.identifier });
  const out = values.out ?? file;
  writeFileSync(out, signed);
  chmodSync(out, statSync(file).mode);
  console.log(`${out}: signed ad hoc, ${signed.length} bytes [${ms(started)}]`);
} else {
  console.error("usage: codesign-cli.ts verify FILE... | sign FILE [--out OUT] [--identifier ID]");
  process.exit(2);
}
