// Per-call overhead of @extism/extism (Node, in-process, no worker) on the same plugin and input
// as plugboard's criterion group `extism64`: the kitchen plugin's `echo` with 64 bytes.
// Prints the median ns/call as JSON, and V8's own call of `noop` as the floor. Run by
// bench/run.sh.
import { readFileSync } from "node:fs";
import createPlugin from "@extism/extism";

const wasm = readFileSync(process.argv[2]);
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };
const functions = {
  "extism:host/user": {
    shout: (p, h) => p.store(p.read(h).text()),
    add: (p, h) => p.store(p.read(h).text()),
  },
};
const plugin = await createPlugin({ wasm: [{ data: wasm }] }, { useWasi: false, functions, runInWorker: false, logger: quiet });
const input = new Uint8Array(64).fill(120);

const batch = 200;
async function measure(fn) {
  for (let i = 0; i < 2000; i++) await plugin.call(fn, input); // warm-up (JIT tier-up)
  const samples = [];
  for (let round = 0; round < 60; round++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) await plugin.call(fn, input);
    samples.push(Number(process.hrtime.bigint() - t0) / batch);
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1];
}
const noop = await measure("noop");
const echo = await measure("echo");

// The floor: V8 calling the same `noop` export directly (imports stubbed; it touches none),
// so that each host's own overhead is its time above its engine's bare call.
const stubs = {};
for (const imp of WebAssembly.Module.imports(new WebAssembly.Module(wasm))) {
  if (imp.kind === "function") (stubs[imp.module] ??= {})[imp.name] = () => 0n;
}
const { instance } = await WebAssembly.instantiate(wasm, stubs);
const raw = instance.exports.noop;
const rawBatch = 100000;
let sink = 0;
for (let i = 0; i < rawBatch; i++) sink += raw();
const rawSamples = [];
for (let round = 0; round < 60; round++) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rawBatch; i++) sink += raw();
  rawSamples.push(Number(process.hrtime.bigint() - t0) / rawBatch);
}
rawSamples.sort((a, b) => a - b);
const floor = rawSamples[rawSamples.length >> 1] + (sink === -1 ? 1 : 0);
console.log(JSON.stringify({ noop_ns: noop, echo_ns: echo, floor_ns: floor, rounds: 60, batch }));
await plugin.close();
