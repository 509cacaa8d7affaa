#!/usr/bin/env bash
# Runs every test: formatting, lints, static checks, the native suites (unit, integration with
# the hostile-input suite, doctests, trybuild UI, CLI, the fuzz corpora and model properties),
# the WebAssembly spec testsuite, the benches in test mode, the wasm32-unknown-unknown build, and
# the npm package: its build, tsc on its declarations, Node, wasm-bindgen-test in Node and
# headless Chromium, the package in Chromium (playwright-core), bundled by Vite and esbuild, and in
# workerd.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh

step() { echo; echo "=== $*"; }

# `node --test` in folder $2 with the rest as the command's environment and arguments; fails
# unless at least $1 tests passed (node --test passes when it finds no test files at all).
node_suite() {
  local min=$1 dir=$2 log
  shift 2
  log=$(mktemp)
  (cd "$dir" && env "$@" node --test) | tee "$log"
  local passed
  passed=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$log" | tail -n 1)
  rm -f "$log"
  if [ "${passed:-0}" -lt "$min" ]; then
    echo "$dir: ${passed:-0} tests passed, at least $min expected"
    exit 1
  fi
}

step "format"
cargo fmt --all --check
cargo fmt --check --manifest-path crates/spec-tests/Cargo.toml
cargo fmt --check --manifest-path fuzz/Cargo.toml

step "lints"
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy -p plugboard-web --target wasm32-unknown-unknown --all-targets --locked -- -D warnings

step "static checks"
# RELIABILITY MOD-25: no unchecked constructors, no lazy validation (lazy translation of
# validated bodies is fine), no WAT parser in production.
if grep -rnE "new_unchecked|CompilationMode::Lazy\b" crates/host-core/src crates/web/src crates/cli/src crates/plugin/src; then
  echo "forbidden construct in production code"; exit 1
fi
# The tree first (a failing `cargo tree` fails the step), then the check.
tree=$(cargo tree -p plugboard-host-core -e normal,features --locked)
if grep -q 'wasmi feature "wat"' <<<"$tree"; then
  echo "wasmi's wat feature is enabled in production"; exit 1
fi
grep -q 'wasmi feature' <<<"$tree" || { echo "cargo tree shows no wasmi features: the check above read nothing"; exit 1; }
# RELIABILITY.md's catalogue names files that exist and tests they contain.
node scripts/check-reliability.mjs
echo "ok"

step "tests (native)"
cargo test --workspace --locked

step "Lua: PUC-Rio's test suite (../shared/lua-testes) through plugboard and PUC Lua 5.4, against each file's floor"
# It also exports a sample's whole-file texts and counts for the npm package's Node test
# (tests/node/testes.test.mjs), which must count the same on wasm32.
cargo run -p plugboard-lua-testes --locked -- --check crates/lua-testes/floors.txt \
  --export target/testes-sample.json --export-files vararg.lua,tpack.lua,literals.lua,pm.lua,sort.lua,utf8.lua,strings.lua

step "WebAssembly spec testsuite (wasm-v2, tail-call, extended-const; fuel on and off, and instrumented by host-core's meter; production's engine config)"
cargo test --release --locked --manifest-path crates/spec-tests/Cargo.toml --target-dir target/spec-tests

step "Extism differential (official @extism/extism in Node vs plugboard, same plugins and inputs)"
cargo build -p plugboard-cli --locked
if [ ! -d tests/extism/node_modules/@extism/extism ] || [ tests/extism/package-lock.json -nt tests/extism/node_modules/.package-lock.json ]; then
  (cd tests/extism && npm ci --no-audit --no-fund --loglevel=error)
fi
node_suite 10 tests/extism PLUGBOARD_BIN="$PWD/target/debug/plugboard" PLUGINS_DIR="$PWD/target/plugins"

step "benches (test mode: each benchmark runs once)"
cargo test -p plugboard-host-core --benches --locked

step "host-core for wasm32-unknown-unknown"
cargo build -p plugboard-host-core --target wasm32-unknown-unknown --locked

step "npm package: build (scripts/build-npm.mjs, as wasm-pack.toml says)"
node scripts/build-npm.mjs
# The tests import "plugboard" as a user does, through the package's exports map.
mkdir -p tests/node/node_modules
ln -sfn ../../../target/npm/plugboard tests/node/node_modules/plugboard

step "npm package: TypeScript declarations (tsc --strict)"
crates/web/js/node_modules/.bin/tsc -p tests/node/tsconfig.json
echo "ok"

step "npm package in Node (node --test)"
node_suite 45 tests/node

# The binding's tests run the configuration the package ships (wasm-pack.toml: the pinned
# nightly, wasmi's guaranteed tail calls, wasm tail-call instructions), whose 10-million-
# iteration metered loop is the condition for shipping it (docs/toolchain.md).
step "JS binding: wasm-bindgen-test in Node (the package's tail-call build)"
# A separate assignment, so that a failing `--env` fails the step (inside `eval "$(…)"` it would not).
wasm_env=$(node scripts/build-npm.mjs --env)
(eval "$wasm_env" && wasm-pack test --node crates/web --test node --features "$PLUGBOARD_WASM_FEATURES" $PLUGBOARD_TEST_CARGO_ARGS)

step "JS binding: wasm-bindgen-test in headless Chromium (the package's tail-call build)"
(eval "$wasm_env" && CHROMEDRIVER="${CHROMEDRIVER:-$(command -v chromedriver)}" \
  wasm-pack test --headless --chrome crates/web --test browser --features "$PLUGBOARD_WASM_FEATURES" $PLUGBOARD_TEST_CARGO_ARGS)

step "npm package in headless Chromium (playwright-core, Debian's chromium)"
node tests/browser/run.mjs

step "bundlers: the package from its npm pack tarball through Vite (dev server, build) and esbuild, in Chromium"
if [ ! -d tests/bundlers/node_modules/vite ] || [ tests/bundlers/package-lock.json -nt tests/bundlers/node_modules/.package-lock.json ]; then
  (cd tests/bundlers && npm ci --no-audit --no-fund --loglevel=error)
fi
node tests/bundlers/run.mjs

step "the demo page end to end (www/ in Chromium via playwright-core; screenshots in target/e2e)"
node tests/e2e/demo.mjs

step "edge: the package in workerd, plugins sent at request time"
node_suite 5 tests/edge

step "docs"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p plugboard-host-core -p plugboard-plugin --locked

echo
echo "all checks passed"
