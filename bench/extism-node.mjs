// Per-call overhead of @extism/extism (Node, in-process, no worker) on the same plugin and input
// as plugboard's criterion group `extism64`: the kitchen plugin's `echo` with 64 bytes.
// Prints the median ns/call as JSON. Run by bench/run.sh.
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
console.log(JSON.stringify({ noop_ns: noop, echo_ns: echo, rounds: 60, batch }));
await plugin.close();
