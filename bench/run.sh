#!/usr/bin/env bash
# Runs the benchmarks and prints the tables the README quotes, with ratios computed in this run.
# plugboard natively (criterion) against raw wasmi, and against @extism/extism in Node.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
if [ ! -d bench/node_modules/@extism/extism ] || [ bench/package-lock.json -nt bench/node_modules/.package-lock.json ]; then
  (cd bench && npm ci --no-audit --no-fund --loglevel=error)
fi
cargo bench -p plugboard-host-core --bench call_overhead --locked
node bench/extism-node.mjs target/plugins/wasm32-unknown-unknown/release/extism_kitchen.wasm > target/extism-node.json
node bench/report.mjs
