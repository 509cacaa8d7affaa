// The npm package against @extism/extism and wasmoon in one Node process: per-call cost of
// `await plugin.call(…)` and `callSync`, a 64-byte string round trip, and cold start (load a
// plugin and make its first call). Rounds interleaved (every contender measured in each round),
// medians over rounds. Run by bench/run.sh; prints Markdown tables.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import createPlugin from "@extism/extism";
import { LuaFactory } from "wasmoon";

const root = fileURLToPath(new URL("../", import.meta.url));
const { PluginHost } = await import(root + "target/npm/plugboard/node/index.mjs");
const KITCHEN = readFileSync(root + "target/plugins/wasm32-unknown-unknown/release/extism_kitchen.wasm");
const LUA = "function add(a, b) return a + b end\nfunction echo(s) return s end";
const s64 = "x".repeat(64);
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };
const functions = { "extism:host/user": { shout: (p, h) => p.store(p.read(h).text()), add: (p, h) => p.store(p.read(h).text()) } };
const extismOptions = { useWasi: false, functions, runInWorker: false, logger: quiet };

// Contenders, warm.
const host = new PluginHost();
host.define("user", "shout", (s) => s);
host.define("user", "add", (x) => x);
const pbLua = await host.loadLua("bench", LUA);
const pbKitchen = await host.loadWasm(KITCHEN);
const extism = await createPlugin({ wasm: [{ data: KITCHEN }] }, extismOptions);
const factory = new LuaFactory();
const wasmoon = await factory.createEngine();
await wasmoon.doString(LUA);
const wAdd = wasmoon.global.get("add");
const wEcho = wasmoon.global.get("echo");
const bytes64 = new TextEncoder().encode(s64);

const cases = {
  "lua add: plugboard await call": async () => pbLua.call("add", [1, 2]),
  "lua add: plugboard callSync": async () => pbLua.callSync("add", [1, 2]),
  "lua add: wasmoon": async () => wAdd(1, 2),
  "lua 64-byte string: plugboard await call": async () => pbLua.call("echo", [s64]),
  "lua 64-byte string: plugboard callSync": async () => pbLua.callSync("echo", [s64]),
  "lua 64-byte string: wasmoon": async () => wEcho(s64),
  "extism noop: plugboard await call": async () => pbKitchen.call("noop"),
  "extism noop: plugboard callSync": async () => pbKitchen.callSync("noop"),
  "extism noop: @extism/extism": async () => extism.call("noop", bytes64),
  "extism 64-byte echo: plugboard await call": async () => pbKitchen.call("echo", bytes64),
  "extism 64-byte echo: plugboard callSync": async () => pbKitchen.callSync("echo", bytes64),
  "extism 64-byte echo: @extism/extism": async () => extism.call("echo", bytes64),
};
for (const f of Object.values(cases)) for (let i = 0; i < 3000; i++) await f(); // JIT warm-up
const samples = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
const batch = 200;
for (let round = 0; round < 40; round++) {
  for (const [name, f] of Object.entries(cases)) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) await f();
    samples[name].push(Number(process.hrtime.bigint() - t0) / batch);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const m = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));

// Cold start: load a 160 KB Extism plugin (the kitchen) and make its first call; a 200-line
// Lua script likewise. Fresh hosts each round, interleaved.
const lua200 = Array.from({ length: 200 }, (_, i) => `function f${i}(x) return x + ${i} end`).join("\n");
const cold = { "plugboard: load + first call (wasm, 160 KB)": [], "@extism/extism: load + first call (wasm, 160 KB)": [],
  "plugboard: load + first call (Lua, 200 lines)": [], "wasmoon: load + first call (Lua, 200 lines)": [] };
for (let round = 0; round < 15; round++) {
  let t0 = performance.now();
  const h = new PluginHost();
  h.define("user", "shout", (s) => s);
  h.define("user", "add", (x) => x);
  await (await h.loadWasm(KITCHEN)).call("noop");
  cold["plugboard: load + first call (wasm, 160 KB)"].push(performance.now() - t0);
  h.close();
  t0 = performance.now();
  const e = await createPlugin({ wasm: [{ data: KITCHEN }] }, extismOptions);
  await e.call("noop", bytes64);
  cold["@extism/extism: load + first call (wasm, 160 KB)"].push(performance.now() - t0);
  await e.close();
  t0 = performance.now();
  const h2 = new PluginHost();
  await (await h2.loadLua("cold", lua200)).call("f199", 1);
  cold["plugboard: load + first call (Lua, 200 lines)"].push(performance.now() - t0);
  h2.close();
  t0 = performance.now();
  const w = await factory.createEngine();
  await w.doString(lua200);
  w.global.get("f199")(1);
  cold["wasmoon: load + first call (Lua, 200 lines)"].push(performance.now() - t0);
  w.global.close();
}
const c = Object.fromEntries(Object.entries(cold).map(([k, v]) => [k, median(v)]));

const fmt = (ns) => (ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(0)} ns`);
console.log(`Node ${process.version}, one process, ${Object.keys(cases).length} cases interleaved over 40 rounds of ${batch} calls; medians.\n`);
console.log("| call | plugboard `await call` | plugboard `callSync` | peer | peer / plugboard call | peer / callSync |\n|---|---|---|---|---|---|");
for (const [what, peer] of [["lua add", "wasmoon"], ["lua 64-byte string", "wasmoon"], ["extism noop", "@extism/extism"], ["extism 64-byte echo", "@extism/extism"]]) {
  const a = m[`${what}: plugboard await call`];
  const s = m[`${what}: plugboard callSync`];
  const p = m[`${what}: ${peer}`];
  console.log(`| ${what} | ${fmt(a)} | ${fmt(s)} | ${peer} ${fmt(p)} | ${(p / a).toFixed(2)}× | ${(p / s).toFixed(2)}× |`);
}
console.log("\n| cold start | median |\n|---|---|");
for (const [k, v] of Object.entries(c)) console.log(`| ${k} | ${v.toFixed(1)} ms |`);
console.log(`\nCold start ratio, wasm: @extism/extism / plugboard = ${(c["@extism/extism: load + first call (wasm, 160 KB)"] / c["plugboard: load + first call (wasm, 160 KB)"]).toFixed(2)}×; Lua: wasmoon / plugboard = ${(c["wasmoon: load + first call (Lua, 200 lines)"] / c["plugboard: load + first call (Lua, 200 lines)"]).toFixed(2)}×`);
await extism.close();
wasmoon.global.close();
