#!/usr/bin/env node
// Checks RELIABILITY.md's catalogue against the code: for every row (`| ID | name | where |`),
// each file or folder the row names exists, and unless the row says it has no test (n/a, no
// test, no dedicated test), one of the named files mentions the case: its ID (`MOD-01` or
// `mod_01`) or its catalogue name (`empty_bytes_rejected`). Prints each problem and
// "N rows checked, N problems"; exits 1 on any. Run by scripts/test.sh (static checks).
import { existsSync, lstatSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const text = readFileSync(join(root, "RELIABILITY.md"), "utf8");
const resolve = (p) => join(root, p.replace(/^it\//, "crates/host-core/tests/integration/"));
// A file's text, or a folder's source files' (node_modules and links left out).
const read = (path) => {
  const st = lstatSync(path);
  if (st.isDirectory()) {
    return readdirSync(path)
      .filter((f) => f !== "node_modules")
      .map((f) => read(join(path, f)))
      .join("\n");
  }
  return st.isFile() && /\.(rs|mjs|js|ts|sh|lua|html)$/.test(path) ? readFileSync(path, "utf8") : "";
};

let rows = 0;
const problems = [];
for (const line of text.split("\n")) {
  const m = /^\| ([A-Z]+-[0-9A-Z]+) \| `([^`]+)`[^|]*\| (.*) \|$/.exec(line);
  if (!m) continue;
  rows++;
  const [, id, name, where] = m;
  // Files and folders, backticked or not: `it/x.rs` (the integration tests), tests/…, crates/…
  const paths = [...new Set([...where.matchAll(/(?:^|[\s`(])((?:it|tests|crates|scripts|bench|fuzz|plugins)\/[\w./-]*\w|[\w-]+\.(?:rs|mjs|js))/g)].map((x) => x[1]))];
  const missing = paths.filter((p) => !existsSync(resolve(p)));
  for (const p of missing) problems.push(`${id}: names ${p}, which does not exist`);
  if (/\bn\/a\b|no test|no dedicated test|not yet|not tested|not done|impossible by design/i.test(where)) continue;
  const present = paths.filter((p) => existsSync(resolve(p)));
  if (present.length === 0) {
    problems.push(`${id}: names no test file`);
    continue;
  }
  // The case's ID, its catalogue name, or a test the row names (a snake_case name, a "title").
  const named = [...where.matchAll(/`([a-z][a-z0-9_]+)`|"([^"]+)"/g)].map((x) => x[1] ?? x[2]).map((t) => t.replace(/\s*…\s*$/, ""));
  const needles = [id, id.toLowerCase().replace(/-/g, "_"), name, ...named];
  if (!present.some((p) => needles.some((n) => read(resolve(p)).includes(n)))) {
    problems.push(`${id}: none of ${present.join(", ")} mentions ${needles.join(" or ")}`);
  }
}
for (const p of problems) console.log(p);
console.log(`${rows} rows checked, ${problems.length} problems`);
process.exit(problems.length ? 1 : 0);
