// PUC-Rio's Lua test suite in the npm package: the whole-file texts `plugboard-lua-testes`
// exported (scripts/test.sh runs it first, natively, writing target/testes-sample.json) run
// here through the package's wasm build, and every count must be what the native engine
// counted: the same parser, lowering and patched piccolo on wasm32 as natively.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import init, { PluginHost } from "plugboard";

const root = fileURLToPath(new URL("../../", import.meta.url));
const samplePath = root + "target/testes-sample.json";
let sample;
try {
  sample = JSON.parse(readFileSync(samplePath, "utf8"));
} catch (e) {
  throw new Error(`${samplePath} is missing: run cargo run -p plugboard-lua-testes -- --export ${samplePath} --export-files … first (scripts/test.sh does) (${e})`);
}
const bytes = (hex) => Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
const modules = Object.fromEntries(Object.entries(sample.modules).map(([name, hex]) => [name, bytes(hex)]));

await init();

test("the sample has files", () => {
  assert.ok(sample.files.length >= 3, `${sample.files.length} files`);
});

for (const entry of sample.files) {
  test(`testes ${entry.file}: the package counts what the native engine counts`, async () => {
    let passed = 0;
    let failed = 0;
    const host = new PluginHost({ fuel: 20_000_000_000, instantiateFuel: 20_000_000_000, memoryBytes: 1 << 30 });
    host.define("testes", "tally", (ok) => {
      if (ok) passed++;
      else failed++;
    });
    let status = "ok";
    try {
      const plugin = await host.loadLua("testes", { "main.lua": bytes(entry.text), ...modules });
      await plugin.call("__testes_run", []);
    } catch (e) {
      status = e.kind === "luaError" ? "error" : e.kind === "luaSyntax" ? "compile" : e.kind;
    }
    assert.deepEqual({ passed, failed, status }, { passed: entry.passed, failed: entry.failed, status: entry.status });
  });
}
