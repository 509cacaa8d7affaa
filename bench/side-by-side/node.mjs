// The side-by-side workloads in Node; prints JSON results ({ W1: { label, ms: { contender: median } }, … }).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import createPlugin from "@extism/extism";
import { LuaFactory } from "wasmoon";
import { setup, measure } from "./contenders.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const require = createRequire(import.meta.url);
const env = {
  plugboard: await import(root + "target/npm/plugboard/node/index.mjs"),
  LuaFactory,
  fengari: require("fengari"),
  createPlugin,
  bytes: {
    perf: readFileSync(root + "target/plugins/wasm32-wasip1/release/perf.wasm"),
    kitchen: readFileSync(root + "target/plugins/wasm32-unknown-unknown/release/extism_kitchen.wasm"),
  },
};
const rounds = Number(process.env.ROUNDS ?? 15);
const results = await measure(await setup(env), rounds, (m) => process.stderr.write(`[node] ${m}\n`));
console.log(JSON.stringify({ env: `Node ${process.version}`, rounds, results }));
process.exit(0);
