// Reads criterion's estimates and the Node measurement of this run; prints Markdown tables.
import { readFileSync } from "node:fs";

const median = (group, bench) =>
  JSON.parse(readFileSync(`target/criterion/${group}/${bench}/new/estimates.json`, "utf8")).median.point_estimate;
const ns = (v) => (v >= 1e6 ? `${(v / 1e6).toFixed(1)} ms` : v >= 1000 ? `${(v / 1000).toFixed(2)} µs` : `${v.toFixed(1)} ns`);

console.log("Our layer over raw wasmi doing the same buffer-ABI work by hand (target ≤ 2×):\n");
console.log("| call | raw wasmi | plugboard | plugboard / raw |\n|---|---|---|---|");
for (const [name, group] of [["`add(i32, i32) -> i32`", "small_call"], ["64-byte `String` round trip", "string64"]]) {
  const raw = median(group, "raw_wasmi");
  const ours = median(group, "plugboard");
  console.log(`| ${name} | ${ns(raw)} | ${ns(ours)} | ${(ours / raw).toFixed(2)}× |`);
}

// One JSON line per Node process: the median over processes, and the range.
const runs = readFileSync("target/extism-node.json", "utf8").trim().split("\n").map((l) => JSON.parse(l));
const mid = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const node = { noop_ns: mid(runs.map((r) => r.noop_ns)), echo_ns: mid(runs.map((r) => r.echo_ns)) };
const range = (key) => [Math.min(...runs.map((r) => r[key])), Math.max(...runs.map((r) => r[key]))];
console.log("\nExtism plugins: plugboard natively against @extism/extism 2.0.0-rc13 in Node 20, same plugin and input (target ≥ 10× on overhead):\n");
console.log("| call | @extism/extism | plugboard | speed-up |\n|---|---|---|---|");
for (const [name, bench, peer] of [
  ["`noop` export (touches nothing), 64-byte input: whole call", "plugboard_noop", node.noop_ns],
  ["`echo` of 64 bytes through extism-pdk", "plugboard_echo", node.echo_ns],
]) {
  const ours = median("extism64", bench);
  const [lo, hi] = range(bench === "plugboard_noop" ? "noop_ns" : "echo_ns");
  console.log(`| ${name} | ${ns(peer)} (${ns(lo)}–${ns(hi)}) | ${ns(ours)} | ${(peer / ours).toFixed(2)}× (${(lo / ours).toFixed(1)}–${(hi / ours).toFixed(1)}×) |`);
}
console.log(`\n@extism/extism: median of ${runs.length} Node processes (range in parentheses).`);

// Per-call overhead: what a host adds above its own engine's bare call of the same export.
const floor = median("extism64", "raw_wasmi_floor");
const ours = median("extism64", "plugboard_noop") - floor;
const theirs = runs.map((r) => r.noop_ns - r.floor_ns);
const [tlo, thi] = [Math.min(...theirs), Math.max(...theirs)];
console.log("\nPer-call overhead, each host above its engine's bare call of `noop` (target: plugboard ≥ 10× lower):\n");
console.log("| host | engine's bare call | call through the host | overhead |\n|---|---|---|---|");
console.log(`| @extism/extism (V8) | ${ns(mid(runs.map((r) => r.floor_ns)))} | ${ns(node.noop_ns)} | ${ns(mid(theirs))} (${ns(tlo)}–${ns(thi)}) |`);
console.log(`| plugboard (wasmi) | ${ns(floor)} | ${ns(floor + ours)} | ${ns(ours)} |`);
console.log(`\nOverhead ratio: ${(mid(theirs) / ours).toFixed(1)}× (${(tlo / ours).toFixed(1)}–${(thi / ours).toFixed(1)}× over the Node processes) → target ${mid(theirs) / ours >= 10 ? "met" : "not met"} in the median. What this compares: criterion in one native process against ${runs.length} separate Node processes, each host minus its own engine's bare call (different tools, processes and baselines): an indication, not an interleaved measurement; bench/js-calls.mjs interleaves the package and @extism/extism in one process.`);
console.log(`\nFloor: a plain wasmi call of a \`() -> i32\` export: ${ns(median("extism64", "raw_wasmi_floor"))}; plain \`(i32, i32) -> i32\`: ${ns(median("small_call", "wasmi_plain_i32_add"))}.`);
console.log(`Performance loop (sum 1..=3,000,000, perf.wasm) through \`plugin.call\`: ${ns(median("perf_loop", "plugboard_sum_3M"))}.`);

console.log("\nCold start natively: load the 160 KB Extism plugin and make its first call, against raw wasmi doing the same (host, module, instance, call):\n");
console.log("| | time | vs plugboard |\n|---|---|---|");
const cold = median("cold_start", "plugboard_new_bytes");
for (const [name, bench] of [["raw wasmi, eager translation (its default)", "raw_wasmi_eager"], ["raw wasmi, lazy translation", "raw_wasmi_lazy_translation"], ["plugboard, bytes it has not seen (lazy translation, ABI detection, kernel)", "plugboard_new_bytes"], ["plugboard, the same bytes again (module cache)", "plugboard_same_bytes"]]) {
  const t = median("cold_start", bench);
  console.log(`| ${name} | ${ns(t)} | ${(t / cold).toFixed(2)}× |`);
}

console.log("\nLua plugins: plugboard against raw piccolo 0.3.3 doing the same work (target ≤ 1.10× on the loop), and PUC Lua 5.4 (mlua, vendored) as a reference:\n");
console.log("| workload | raw piccolo | plugboard | plugboard / piccolo | PUC Lua 5.4 | plugboard / PUC |\n|---|---|---|---|---|---|");
for (const [name, group] of [["perf loop `sum(3,000,000)`", "lua_perf_loop"], ["small call `add(2, 40)`", "lua_small_call"]]) {
  const raw = median(group, "raw_piccolo");
  const ours = median(group, "plugboard");
  const puc = median(group, "puc_lua_mlua");
  console.log(`| ${name} | ${ns(raw)} | ${ns(ours)} | ${(ours / raw).toFixed(2)}× | ${ns(puc)} | ${(ours / puc).toFixed(1)}× |`);
}

console.log("\nThe performance loop (sum 1..=1,000,000) in each kind of plugin, natively through `Plugin::call`, one run:\n");
console.log("| plugin | ABI | time | vs the Rust plugin |\n|---|---|---|---|");
const rustLoop = median("perf_loop_by_plugin", "rust_buffer_abi");
for (const [name, abi, bench] of [
  ["Rust (`plugins/rust/perf`)", "buffer", "rust_buffer_abi"],
  ["Zig (`plugins/zig/perf.zig`)", "nvim", "zig_nvim_abi"],
  ["Lua (`plugins/lua/perf`)", "lua", "lua"],
]) {
  const t = median("perf_loop_by_plugin", bench);
  console.log(`| ${name} | ${abi} | ${ns(t)} | ${(t / rustLoop).toFixed(2)}× |`);
}

console.log("\nPer-call cost of the nvim ABI against the buffer ABI: a 5-byte string round trip, input pre-encoded (`call_bytes`):\n");
console.log("| call | time | vs buffer |\n|---|---|---|");
const bufEcho = median("abi_echo", "buffer_bincode");
for (const [name, bench] of [
  ["buffer ABI `echo(String)` (bincode; the guest allocates and copies)", "buffer_bincode"],
  ["nvim ABI `echo(id)` (JSON by id; the guest returns the id it got)", "nvim_json"],
  ["nvim ABI `echo` through `call_value` (Value → JSON → Value)", "nvim_value"],
]) {
  const t = median("abi_echo", bench);
  console.log(`| ${name} | ${ns(t)} | ${(t / bufEcho).toFixed(2)}× |`);
}
