// Replaces the generated section of a Markdown file: everything between `<!-- NAME:start -->` and
// `<!-- NAME:end -->` becomes `md`. A file without both markers is an error, never a silent skip:
// a doc whose table is not rewritten would go on quoting an old run.
import { readFileSync, writeFileSync } from "node:fs";

export function writeSection(path, name, md) {
  const text = readFileSync(path, "utf8");
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`${path} has no ${start} … ${end} section`);
  writeFileSync(path, text.slice(0, i + start.length) + "\n" + md.trimEnd() + "\n" + text.slice(j));
}
