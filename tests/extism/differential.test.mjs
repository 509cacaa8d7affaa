// Differential test: the same extism-pdk plugins and inputs through the official
// @extism/extism SDK (Node) and through plugboard (its CLI), comparing outputs and outcomes.
//
// Env: PLUGBOARD_BIN (the `plugboard` binary) and PLUGINS_DIR (target/plugins), set by
// scripts/test.sh; defaults assume a debug build in the workspace.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import createPlugin from "@extism/extism";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = process.env.PLUGBOARD_BIN ?? resolve(root, "target/debug/plugboard");
const PLUGINS = process.env.PLUGINS_DIR ?? resolve(root, "target/plugins");
const KITCHEN = resolve(PLUGINS, "wasm32-unknown-unknown/release/extism_kitchen.wasm");
const WASI = resolve(PLUGINS, "wasm32-wasip1/release/extism_wasi.wasm");

// The kitchen imports two user host functions; Extism needs them defined to load it.
const functions = {
  "extism:host/user": {
    shout(plugin, handle) {
      return plugin.store(plugin.read(handle).text().toUpperCase());
    },
    add(plugin, handle) {
      const { a, b } = plugin.read(handle).json();
      return plugin.store(JSON.stringify({ sum: a + b }));
    },
  },
};

/** Runs through @extism/extism: { ok, out } or { ok: false, message }. */
async function viaExtism(wasm, fn, input, { config = {}, wasi = false } = {}) {
  const plugin = await createPlugin(
    { wasm: [{ data: readFileSync(wasm) }], config },
    { useWasi: wasi, functions, runInWorker: false, logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {} } },
  );
  try {
    const out = await plugin.call(fn, input);
    return { ok: true, out: out === null ? "" : Buffer.from(out.bytes()).toString("latin1") };
  } catch (e) {
    return { ok: false, message: String(e?.message ?? e) };
  } finally {
    await plugin.close();
  }
}

/** Runs through plugboard's CLI: { ok, out } or { ok: false, message }. */
function viaPlugboard(wasm, fn, input, { config = {}, wasi = false } = {}) {
  const args = ["call", wasm, fn, "--input", input, "--log-level", "off"];
  for (const [k, v] of Object.entries(config)) args.push("--config", `${k}=${v}`);
  if (wasi) args.push("--wasi");
  try {
    const stdout = execFileSync(BIN, args, { stdio: ["ignore", "pipe", "pipe"] });
    return { ok: true, out: stdout.subarray(0, stdout.length - 1).toString("latin1") };
  } catch (e) {
    return { ok: false, message: e.stderr.toString() };
  }
}

const cases = [
  ["count_vowels", "hello world", {}],
  ["count_vowels", "", {}],
  ["count_vowels", "Ünïcödé vowels: AEIOU", {}],
  ["count_vowels", "hello world, yay", { config: { vowels: "oy" } }],
  ["echo", "some bytes \u0001\u0002 and more", {}],
  ["echo", "", {}],
  ["echo", "x".repeat(70000), {}],
  ["read_var", "nothing-set", {}],
  ["store_blob", "12345", {}],
  ["logs", "quiet", {}],
  ["fail", "it broke", {}],
];

for (const [fn, input, opts] of cases) {
  test(`${fn}(${JSON.stringify(input.slice(0, 20))}) agrees`, async () => {
    const a = await viaExtism(KITCHEN, fn, input, opts);
    const b = viaPlugboard(KITCHEN, fn, input, opts);
    assert.equal(b.ok, a.ok, `outcome: extism ${JSON.stringify(a)} vs plugboard ${JSON.stringify(b)}`);
    if (a.ok) {
      assert.equal(b.out, a.out);
    } else if (fn === "fail") {
      // Both report the plugin's own message.
      assert.match(a.message, /it broke/);
      assert.match(b.message, /it broke/);
    }
  });
}

// The one known divergence, inside Extism itself: a non-zero return code with no error set is
// success for the JS SDK (2.0.0-rc13) and an error for the Rust SDK. docs/abis.md §4 follows the Rust
// SDK, so plugboard reports it (`callFailed`, code 7). Pinned so a change on either side shows.
test("non-zero return code: JS SDK says ok, plugboard (like the Rust SDK) says error", async () => {
  const a = await viaExtism(KITCHEN, "code", "");
  const b = viaPlugboard(KITCHEN, "code", "");
  assert.deepEqual(a, { ok: true, out: "" });
  assert.equal(b.ok, false);
  assert.match(b.message, /\[callFailed\].*error code 7/);
});

test("a WASI plugin agrees with WASI enabled", async () => {
  const a = await viaExtism(WASI, "greet", "Ada", { wasi: true });
  const b = viaPlugboard(WASI, "greet", "Ada", { wasi: true });
  assert.deepEqual(b, a);
  assert.equal(a.out, "Hello, Ada!");
});
