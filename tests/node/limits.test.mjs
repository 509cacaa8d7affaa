// Limits as a package user sets them (RES-12: the output cap on every ABI and engine), each
// case followed by a call that must still work on the same host.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import init, { PluginHost, PluginError } from "plugboard";

const root = fileURLToPath(new URL("../../", import.meta.url));
const KITCHEN = readFileSync(root + "target/plugins/wasm32-unknown-unknown/release/extism_kitchen.wasm");
await init();

async function outputTooLarge(promise) {
  const e = await promise.then(() => assert.fail("expected outputTooLarge"), (e) => e);
  assert.ok(e instanceof PluginError, `${e}`);
  assert.equal(e.kind, "outputTooLarge", e.message);
}

test("maxOutputBytes holds for Extism plugins and Lua results (RES-12)", async () => {
  const host = new PluginHost({ maxOutputBytes: 64 });
  const extism = await host.loadWasm(KITCHEN, { stubMissingImports: true });
  assert.equal((await extism.call("echo", "x".repeat(64))).text(), "x".repeat(64));
  await outputTooLarge(extism.call("echo", "x".repeat(65)));
  assert.throws(() => extism.callSync("echo", "y".repeat(65)), (e) => e.kind === "outputTooLarge");
  assert.equal((await extism.call("echo", "again")).text(), "again");

  // Lua: the result as JSON (a string of n characters is n + 2 bytes).
  const lua = await host.loadLua("big", "function f(n) return string.rep('x', n) end");
  assert.equal(await lua.call("f", 62), "x".repeat(62));
  await outputTooLarge(lua.call("f", 63));
  assert.equal(await lua.call("f", 1), "x");
});
