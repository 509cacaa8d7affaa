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

test("compiling Lua counts against memoryBytes: 2.9 MB and 7.9 MB scripts of constants fail with memoryLimit, and the runtime stays small (LUA-R11)", async () => {
  const host = new PluginHost({ maxModuleBytes: 8 << 20 });
  const before = process.memoryUsage().rss;
  for (const len of [2_900_000, 7_900_000]) {
    const src = "local function unused() return {" + "1,".repeat(len / 2) + "} end";
    const e = await host.loadLua("constants", src).then(() => assert.fail("expected memoryLimit"), (e) => e);
    assert.equal(e.kind, "memoryLimit", e.message);
  }
  const grown = process.memoryUsage().rss - before;
  // Unbounded, compiling the 2.9 MB one grew the runtime's wasm memory by ~245 MB for good (the
  // 7.9 MB one by ~480 MB); bounded, what remains is the sources' copies in the wasm memory.
  assert.ok(grown < 96 << 20, `the process grew by ${(grown / 2 ** 20).toFixed(0)} MiB`);
  const small = await host.loadLua("small", "local function unused() return {" + "1,".repeat(10_000) + "} end function f() return 1 end");
  assert.equal(await small.call("f"), 1);
  host.close();
});

test("a code section declaring no functions and a size past 4 GiB is invalidModule on wasm32 too (MOD-22)", async () => {
  const host = new PluginHost();
  // Section 10 (code), size 0xFFFFFFF2 as a 5-byte LEB, count 0, then bytes.
  const module = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 10, 0xf2, 0xff, 0xff, 0xff, 0x0f, 0, 1, 2, 3]);
  const e = await host.loadWasm(module).then(() => assert.fail("expected invalidModule"), (e) => e);
  assert.equal(e.kind, "invalidModule", e.message);
  const lua = await host.loadLua("canary", "function f() return 1 end");
  assert.equal(await lua.call("f"), 1);
  host.close();
});
