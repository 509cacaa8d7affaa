// Reads criterion's estimates and the Node measurement of this run; prints Markdown tables.
import { readFileSync } from "node:fs";

const median = (group, bench) =>
  JSON.parse(readFileSync(`target/criterion/${group}/${bench}/new/estimates.json`, "utf8")).median.point_estimate;
const ns = (v) => (v >= 1000 ? `${(v / 1000).toFixed(2)} µs` : `${v.toFixed(1)} ns`);
const row = (name, ours, peer, peerName) => `| ${name} | ${ns(ours)} | ${ns(peer)} (${peerName}) | ${(peer / ours).toFixed(2)}× |`;

console.log("| call | plugboard | peer | peer / plugboard |\n|---|---|---|---|");
console.log(row("buffer ABI `add(i32, i32)`", median("small_call", "plugboard"), median("small_call", "raw_wasmi"), "raw wasmi, same ABI work by hand"));
console.log(row("buffer ABI 64-byte string round trip", median("string64", "plugboard"), median("string64", "raw_wasmi"), "raw wasmi, same ABI work by hand"));
const node = JSON.parse(readFileSync("target/extism-node.json", "utf8"));
const sdk = "@extism/extism 2.0.0-rc13, Node 20";
console.log(row("Extism per-call overhead: `noop` export, 64-byte input", median("extism64", "plugboard_noop"), node.noop_ns, sdk));
console.log(row("Extism `echo` of 64 bytes through extism-pdk", median("extism64", "plugboard_echo"), node.echo_ns, sdk));
console.log(`\nfloor: a plain wasmi call of a \`() -> i32\` export takes ${ns(median("extism64", "raw_wasmi_floor"))}.`);
