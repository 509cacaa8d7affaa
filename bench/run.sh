#!/usr/bin/env bash
# Runs the benchmarks and writes their tables into docs/benchmarks.md, with ratios computed in this run.
# plugboard natively (criterion) against raw wasmi, and against @extism/extism in Node.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
if [ ! -d bench/node_modules/@extism/extism ] || [ bench/package-lock.json -nt bench/node_modules/.package-lock.json ]; then
  (cd bench && npm ci --no-audit --no-fund --loglevel=error)
fi
cargo bench -p plugboard-host-core --bench call_overhead --locked
cargo bench -p plugboard-host-core --bench lua --locked
cargo bench -p plugboard-host-core --bench abis --locked
# The fuel instrumenter (docs/metering.md): its fuel against wasmi's, its speed on wasmi.
cargo bench -p plugboard-host-core --bench meter --locked
# RELIABILITY.md §6 latency goals (stop latency, longest slice over the hostile corpus, …).
cargo bench -p plugboard-host-core --bench reliability --locked
# Node's per-process figure varies by up to 2x with JIT and GC timing: five processes, one JSON
# line each; the report takes their median and shows the range.
: > target/extism-node.json
for _ in 1 2 3 4 5; do
  node bench/extism-node.mjs target/plugins/wasm32-unknown-unknown/release/extism_kitchen.wasm >> target/extism-node.json
done
node bench/report.mjs
# The npm package in Node against @extism/extism and wasmoon, one process, rounds interleaved.
node scripts/build-npm.mjs
node bench/js-calls.mjs
# The side-by-side benchmark (issue 7): W1 perf loop, W2 small calls, W3 cold start across
# plugboard, wasmoon, fengari, @extism/extism, V8's WebAssembly and plain JS, in Node and in
# headless Chromium; writes target/bench/side-by-side.{md,svg} and its section of docs/benchmarks.md.
mkdir -p target/bench
node bench/side-by-side/node.mjs > target/bench/side-by-side-node.json
node bench/side-by-side/chromium.mjs > target/bench/side-by-side-chromium.json
node bench/side-by-side/report.mjs
