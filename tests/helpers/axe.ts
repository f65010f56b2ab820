/** axe-core run inside a page: the accessibility rules of WCAG 2.x A and AA and best practice, as its authors keep them. */
import { expect } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";

const AXE_SOURCE = readFileSync(join(import.meta.dir, "..", "..", "node_modules", "axe-core", "axe.min.js"), "utf8");

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

/** Runs axe on the page as it is now; answers its serious and critical violations, one line each. */
export async function axeProblems(page: Page): Promise<string[]> {
  // Evaluated through the browser's debugger protocol, which the page's CSP does not govern (an injected script tag would be refused).
  await page.evaluate(AXE_SOURCE);
  const violations = (await page.evaluate(() => (globalThis as any).axe.run((globalThis as any).document, { resultTypes: ["violations"] }).then((r: any) => r.violations))) as Violation[];
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id} (${v.help}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

/** Fails the test with axe's own words for every serious or critical violation on the page. */
export async function expectAccessible(page: Page, where: string): Promise<void> {
  expect({ where, problems: await axeProblems(page) }).toEqual({ where, problems: [] });
}
