#!/usr/bin/env bash
# Runs every test: formatting, lints, static checks, the native suites (unit, integration,
# doctests, trybuild UI, CLI), the benches in test mode, and the wasm32-unknown-unknown build.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh

step() { echo; echo "=== $*"; }

step "format"
cargo fmt --all --check

step "lints"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "static checks"
# RELIABILITY MOD-25: no unchecked constructors, no lazy compilation, no WAT parser in production.
if grep -rnE "new_unchecked|CompilationMode::Lazy" crates/host-core/src; then
  echo "forbidden construct in host-core"; exit 1
fi
if cargo tree -p plugboard-host-core -e normal,features --locked 2>/dev/null | grep -q 'wasmi feature "wat"'; then
  echo "wasmi's wat feature is enabled in production"; exit 1
fi
echo "ok"

step "tests (native)"
cargo test --workspace --locked

step "Extism differential (official @extism/extism in Node vs plugboard, same plugins and inputs)"
cargo build -p plugboard-cli --locked
if [ ! -d tests/extism/node_modules/@extism/extism ] || [ tests/extism/package-lock.json -nt tests/extism/node_modules/.package-lock.json ]; then
  (cd tests/extism && npm ci --no-audit --no-fund --loglevel=error)
fi
(cd tests/extism && PLUGBOARD_BIN="$PWD/../../target/debug/plugboard" PLUGINS_DIR="$PWD/../../target/plugins" node --test)

step "benches (test mode: each benchmark runs once)"
cargo test -p plugboard-host-core --benches --locked

step "host-core for wasm32-unknown-unknown"
cargo build -p plugboard-host-core --target wasm32-unknown-unknown --locked

step "docs"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p plugboard-host-core -p plugboard-plugin --locked

echo
echo "all checks passed"
