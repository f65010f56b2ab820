/** @jsxImportSource @kitajs/html */

/** A web address in a message: http or https only, up to a space, a quote or an angle bracket. */
const URL_IN_TEXT = /\bhttps?:\/\/[^\s<>"'`]+/gi;
/** What usually ends a sentence after an address rather than belonging to it. */
const TRAILING = /[.,;:!?)\]}]+$/;

/** A message's text split into plain runs and web addresses, which become links (never `javascript:` or the like). */
export function textParts(text: string): { text: string; href?: string }[] {
  const parts: { text: string; href?: string }[] = [];
  let at = 0;
  for (const match of text.matchAll(URL_IN_TEXT)) {
    let candidate = match[0];
    const trailing = candidate.match(TRAILING)?.[0] ?? "";
    // A closing bracket belongs to the address when it opened one itself (Wikipedia's "Foo_(bar)").
    if (trailing.startsWith(")") && candidate.includes("(")) candidate = candidate.slice(0, candidate.length - trailing.length + 1);
    else candidate = candidate.slice(0, candidate.length - trailing.length);
    let href: string;
    try {
      const url = new URL(candidate);
      if (url.protocol !== "http:" && url.protocol !== "https:") continue;
      href = url.href;
    } catch {
      continue;
    }
    if (match.index > at) parts.push({ text: text.slice(at, match.index) });
    parts.push({ text: candidate, href });
    at = match.index + candidate.length;
  }
  if (at < text.length) parts.push({ text: text.slice(at) });
  return parts;
}

/** A message's text, with its web addresses as links that open apart from the page and tell the site nothing of it. */
export function MessageText({ text }: { text: string }) {
  return (
    <p class="text">
      {textParts(text).map((part) =>
        part.href ? (
          <a href={part.href} rel="noopener noreferrer" target="_blank" safe>
            {part.text}
          </a>
        ) : (
          <span safe>{part.text}</span>
        ),
      )}
    </p>
  );
}
