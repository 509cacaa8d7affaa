#!/usr/bin/env bash
# Runs fuzz targets with cargo-fuzz (nightly toolchain, libFuzzer + ASan), each for a time or
# an execution count, and appends libFuzzer's final stats to fuzz/stats.log.
#   fuzz/run.sh [--runs N | --time SECONDS] [--max-len BYTES] [--no-asan] [TARGET...]
#   (default: every target, 60 s each)
# --no-asan: for targets whose code path is safe Rust only (our codec, JSON, d.ts, the models),
# where AddressSanitizer finds nothing and costs a 2-5x slowdown.
# Needs: rustup toolchain nightly, cargo install cargo-fuzz. Crashes land in
# fuzz/artifacts/<target>/; copy each (minimised: cargo fuzz tmin) to fuzz/regressions/<target>/
# with its fix, so tests/corpus.rs keeps it fixed on stable.
set -euo pipefail
cd "$(dirname "$0")"
# The workspace's piccolo with our fixes (docs/patched-crates.md).
../scripts/patch-crates.sh
limit=(-max_total_time=60)
maxlen=()
sanitizer=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) limit=(-runs="$2"); shift 2 ;;
    --time) limit=(-max_total_time="$2"); shift 2 ;;
    --max-len) maxlen=(-max_len="$2"); shift 2 ;;
    --no-asan) sanitizer=(-s none --target-dir target/no-asan); shift ;;
    *) break ;;
  esac
done
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(module_load buffer_abi bincode_decode kernel_ops nvim_ids json_text lua_source lua_ast dts instrument)
for t in "${targets[@]}"; do
  echo "=== $t ${limit[*]}"
  start=$(date +%s)
  cargo +nightly fuzz run -O ${sanitizer[@]+"${sanitizer[@]}"} "$t" -- "${limit[@]}" ${maxlen[@]+"${maxlen[@]}"} -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    2> >(tee "/tmp/fuzz-$t.log" >&2) || { echo "$t: FOUND A CRASH (see fuzz/artifacts/$t)"; }
  runs=$(grep -E "^stat::number_of_executed_units" "/tmp/fuzz-$t.log" | awk '{print $2}')
  peak=$(grep -E "^stat::peak_rss_mb" "/tmp/fuzz-$t.log" | awk '{print $2}')
  echo "$(date -u +%F) $t runs=${runs:-?} seconds=$(( $(date +%s) - start )) peak_rss_mb=${peak:-?}" | tee -a stats.log
done
