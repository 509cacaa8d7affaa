// The npm package against @extism/extism and wasmoon in one Node process: per-call cost of
// `await plugin.call(…)` and `callSync`, a 64-byte string round trip, and cold start (load a
// plugin and make its first call). Rounds interleaved (every contender measured in each round),
// medians over rounds, every result checked. Run by bench/run.sh; prints Markdown tables and
// writes them into docs/benchmarks.md between the js-calls markers.
import { readFileSync } from "node:fs";
import { writeSection } from "./markers.mjs";
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

// Contenders, warm. Both Extism hosts get the same host functions and the same 64-byte input.
const host = new PluginHost();
host.define("extism:host/user", "shout", (b) => b.text());
host.define("extism:host/user", "add", (b) => b.text());
const pbLua = await host.loadLua("bench", LUA);
const pbKitchen = await host.loadWasm(KITCHEN);
const extism = await createPlugin({ wasm: [{ data: KITCHEN }] }, extismOptions);
const factory = new LuaFactory();
const wasmoon = await factory.createEngine();
await wasmoon.doString(LUA);
const wAdd = wasmoon.global.get("add");
const wEcho = wasmoon.global.get("echo");
const bytes64 = new TextEncoder().encode(s64);

// Every result of every call is checked (a contender that stopped working would look fast).
const is3 = (v) => v === 3;
const isS64 = (v) => v === s64;
const isEmpty = (v) => v == null || (v.byteLength ?? v.bytes?.().byteLength) === 0;
const isEcho = (v) => {
  const b = v instanceof Uint8Array ? v : v.bytes();
  return b.byteLength === 64 && b.every((x, i) => x === bytes64[i]);
};
const cases = {
  "lua add: plugboard await call": [() => pbLua.call("add", [1, 2]), is3],
  "lua add: plugboard callSync": [async () => pbLua.callSync("add", [1, 2]), is3],
  "lua add: wasmoon": [async () => wAdd(1, 2), is3],
  "lua 64-byte string: plugboard await call": [() => pbLua.call("echo", [s64]), isS64],
  "lua 64-byte string: plugboard callSync": [async () => pbLua.callSync("echo", [s64]), isS64],
  "lua 64-byte string: wasmoon": [async () => wEcho(s64), isS64],
  "extism noop: plugboard await call": [() => pbKitchen.call("noop", bytes64), isEmpty],
  "extism noop: plugboard callSync": [async () => pbKitchen.callSync("noop", bytes64), isEmpty],
  "extism noop: @extism/extism": [() => extism.call("noop", bytes64), isEmpty],
  "extism 64-byte echo: plugboard await call": [() => pbKitchen.call("echo", bytes64), isEcho],
  "extism 64-byte echo: plugboard callSync": [async () => pbKitchen.callSync("echo", bytes64), isEcho],
  "extism 64-byte echo: @extism/extism": [() => extism.call("echo", bytes64), isEcho],
};
const run = async (name, [f, ok]) => {
  const v = await f();
  if (!ok(v)) throw new Error(`${name}: unexpected result ${String(v)}`);
};
for (const [name, c] of Object.entries(cases)) for (let i = 0; i < 3000; i++) await run(name, c); // JIT warm-up
const samples = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
const batch = 200;
for (let round = 0; round < 40; round++) {
  for (const [name, c] of Object.entries(cases)) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) await run(name, c);
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
  h.define("extism:host/user", "shout", (b) => b.text());
  h.define("extism:host/user", "add", (b) => b.text());
  if (!isEmpty(await (await h.loadWasm(KITCHEN)).call("noop", bytes64))) throw new Error("plugboard cold noop");
  cold["plugboard: load + first call (wasm, 160 KB)"].push(performance.now() - t0);
  h.close();
  t0 = performance.now();
  const e = await createPlugin({ wasm: [{ data: KITCHEN }] }, extismOptions);
  if (!isEmpty(await e.call("noop", bytes64))) throw new Error("@extism/extism cold noop");
  cold["@extism/extism: load + first call (wasm, 160 KB)"].push(performance.now() - t0);
  await e.close();
  t0 = performance.now();
  const h2 = new PluginHost();
  if ((await (await h2.loadLua("cold", lua200)).call("f199", 1)) !== 200) throw new Error("plugboard cold Lua");
  cold["plugboard: load + first call (Lua, 200 lines)"].push(performance.now() - t0);
  h2.close();
  t0 = performance.now();
  const w = await factory.createEngine();
  await w.doString(lua200);
  if (w.global.get("f199")(1) !== 200) throw new Error("wasmoon cold Lua");
  cold["wasmoon: load + first call (Lua, 200 lines)"].push(performance.now() - t0);
  w.global.close();
}
const c = Object.fromEntries(Object.entries(cold).map(([k, v]) => [k, median(v)]));

const fmt = (ns) => (ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(0)} ns`);
const date = new Date().toISOString().slice(0, 10);
let md = `Generated by \`node bench/js-calls.mjs\` (in \`bench/run.sh\`) on ${date}: Node ${process.version}, one process, ${Object.keys(cases).length} cases interleaved over 40 rounds of ${batch} calls, every result checked; medians. Both Extism hosts call with the same 64-byte input.\n\n`;
md += "| call | plugboard `await call` | plugboard `callSync` | peer | peer / `call` | peer / `callSync` |\n|---|---|---|---|---|---|\n";
const ratios = [];
for (const [what, peer] of [["lua add", "wasmoon"], ["lua 64-byte string", "wasmoon"], ["extism noop", "@extism/extism"], ["extism 64-byte echo", "@extism/extism"]]) {
  const a = m[`${what}: plugboard await call`];
  const s = m[`${what}: plugboard callSync`];
  const p = m[`${what}: ${peer}`];
  ratios.push(p / a);
  md += `| ${what} | ${fmt(a)} | ${fmt(s)} | ${peer} ${fmt(p)} | ${(p / a).toFixed(2)}× | ${(p / s).toFixed(2)}× |\n`;
}
const coldWasm = c["@extism/extism: load + first call (wasm, 160 KB)"] / c["plugboard: load + first call (wasm, 160 KB)"];
const coldLua = c["wasmoon: load + first call (Lua, 200 lines)"] / c["plugboard: load + first call (Lua, 200 lines)"];
md += "\n| cold start: load + first call, fresh host, the same bytes each round (15 rounds) | median |\n|---|---|\n";
for (const [k, v] of Object.entries(c)) md += `| ${k} | ${v.toFixed(1)} ms |\n`;
const verdict = (ok) => (ok ? "**met**" : "**not met**");
md += `\nTargets, from this run: per-call overhead 20× below the peer (\`await call\`: ${ratios.map((r) => `${r.toFixed(2)}×`).join(", ")}) → ${verdict(ratios.every((r) => r >= 20))}; cold start 5× faster than @extism/extism (${coldWasm.toFixed(2)}×) → ${verdict(coldWasm >= 5)}; Lua cold start faster than wasmoon (${coldLua.toFixed(2)}×) → ${verdict(coldLua > 1)}.\n`;
console.log(md);

// The section of docs/benchmarks.md between the markers is this run's output.
writeSection(root + "docs/benchmarks.md", "js-calls", md);
await extism.close();
wasmoon.global.close();
