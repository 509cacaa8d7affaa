// The d.ts's ErrorKind union is exactly the set of kinds the Rust core reports, plus the
// few the JS wrapper raises itself
// (`Error::kind_name`, whose match the compiler keeps exhaustive over ErrorKind), so a kind
// added in Rust cannot be missing from the types a TypeScript user switches over
// (tests/node/types.ts switches over the union exhaustively under tsc --strict).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));

function rustKinds() {
  const source = readFileSync(root + "crates/host-core/src/error.rs", "utf8");
  const start = source.indexOf("pub fn kind_name(&self)");
  assert.ok(start > 0, "kind_name not found in error.rs");
  const body = source.slice(start, source.indexOf("\n    }\n", start));
  return [...body.matchAll(/=> "([a-zA-Z]+)"/g)].map((m) => m[1]);
}

// Kinds the JS wrapper raises itself: `pluginError("kind", …)`, possibly across lines.
function wrapperKinds() {
  const source = readFileSync(root + "crates/web/js/wrapper.js", "utf8");
  return [...source.matchAll(/pluginError\(\s*"([a-zA-Z]+)"/g)].map((m) => m[1]);
}

function declaredKinds() {
  const dts = readFileSync(root + "crates/web/js/index.d.ts", "utf8");
  const union = /export type ErrorKind =([^;]*);/.exec(dts);
  assert.ok(union, "ErrorKind union not found in index.d.ts");
  return [...union[1].matchAll(/"([a-zA-Z]+)"/g)].map((m) => m[1]).sort();
}

test("index.d.ts's ErrorKind union lists every kind the core reports, and nothing else", () => {
  const rust = rustKinds();
  assert.ok(rust.length >= 30, `only ${rust.length} kinds read from error.rs`);
  const js = wrapperKinds();
  assert.ok(js.includes("runtimeUnsupported"), `wrapper kinds read: ${js}`);
  assert.deepEqual(declaredKinds(), [...new Set([...rust, ...js])].sort());
});
