// tests/shared/stress.mjs in Node: limits pushed from inside a plugin, each followed by a
// call that must still answer (RES-03, RES-05, CON-01, Lua nesting).
import { test } from "node:test";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import init, * as pkg from "plugboard";
import { stressCases } from "../shared/stress.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));
await init();
const STRESS = readFileSync(root + "target/plugins/wasm32-wasip1/release/stress.wasm");
for (const [name, run] of stressCases(pkg, STRESS)) test(name, run);
