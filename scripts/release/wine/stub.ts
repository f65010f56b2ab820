/**
 * Builds bcryptprimitives.dll (bcryptprimitives.c): the ProcessPrng that Bun's Windows runtime imports and Debian 12's
 * Wine 8 lacks. Debian's MinGW cross compiler only; the flags make the same source give the same bytes.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";

export const STUB_DLL = "bcryptprimitives.dll";
export const MINGW_GCC = "x86_64-w64-mingw32-gcc";
const SOURCES = ["bcryptprimitives.c", "bcryptprimitives.def"].map((f) => join(import.meta.dir, f));

/** The command that compiles the stub into `outDir`. */
export function stubCommand(gcc: string, outDir: string): string[] {
  return [
    gcc, "-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-s",
    // No C runtime: the DLL needs only bcrypt.dll and kernel32.dll, which Wine has.
    "-nostdlib", "-Wl,--entry,DllMain",
    // Reproducible: no link time stamp, and a fixed image base (by default ld derives one from the output path).
    "-Wl,--no-insert-timestamp", "-Wl,--disable-auto-image-base",
    "-o", join(outDir, STUB_DLL), ...SOURCES, "-lbcrypt", "-lkernel32",
  ];
}

/** Compiles the stub into `outDir` and returns the DLL's path; throws with the compiler's output on failure. */
export async function buildStub(gcc: string, outDir: string): Promise<string> {
  mkdirSync(outDir, { recursive: true });
  const proc = Bun.spawn(stubCommand(gcc, outDir), { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const dll = join(outDir, STUB_DLL);
  if (code !== 0 || !existsSync(dll)) throw new Error(`${MINGW_GCC} could not build ${STUB_DLL} (exit ${code}): ${(err || out).trim()}`);
  return dll;
}
