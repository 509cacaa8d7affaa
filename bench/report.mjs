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

const node = JSON.parse(readFileSync("target/extism-node.json", "utf8"));
console.log("\nExtism plugins: plugboard natively against @extism/extism 2.0.0-rc13 in Node 20, same plugin and input (target ≥ 10× on overhead):\n");
console.log("| call | @extism/extism | plugboard | speed-up |\n|---|---|---|---|");
for (const [name, bench, peer] of [
  ["per-call overhead: `noop` export, 64-byte input", "plugboard_noop", node.noop_ns],
  ["`echo` of 64 bytes through extism-pdk", "plugboard_echo", node.echo_ns],
]) {
  const ours = median("extism64", bench);
  console.log(`| ${name} | ${ns(peer)} | ${ns(ours)} | ${(peer / ours).toFixed(2)}× |`);
}
console.log(`\nFloor: a plain wasmi call of a \`() -> i32\` export: ${ns(median("extism64", "raw_wasmi_floor"))}; plain \`(i32, i32) -> i32\`: ${ns(median("small_call", "wasmi_plain_i32_add"))}.`);
console.log(`Performance loop (sum 1..=3,000,000, perf.wasm) through \`plugin.call\`: ${ns(median("perf_loop", "plugboard_sum_3M"))}.`);
