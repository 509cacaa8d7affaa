#!/usr/bin/env bash
# The main job: build the CLI and the example plugins from source, run the examples and the
# performance loop (sum 1..=3,000,000) through the CLI with timings, then build the npm package
# and serve the demo page (www/) on 127.0.0.1 (PORT, default 8080) until interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh

echo "=== building the CLI and the plugins (release)"
cargo build --release --locked -p plugboard-cli
# The fixtures crate's build script builds every plugin from source: plugins/rust and
# plugins/extism with cargo, plugins/zig with the Zig compiler from PyPI.
cargo build --release --locked -p plugboard-fixtures
PB=target/release/plugboard
W=target/plugins/wasm32-wasip1/release
X=target/plugins/wasm32-unknown-unknown/release
Z=target/plugins/zig

run() { echo; echo "\$ plugboard $*"; "$PB" "$@"; }

echo
echo "=== example plugins"
run inspect "$W/double.wasm"
run call "$W/double.wasm" double '[1.5, 2.5]'
run call "$W/double.wasm" greet '"plugboard"'
run call "$W/double.wasm" stats '[3, 1, 4, 1, 5, 9, 2, 6]'
run call "$W/wasi_probe.wasm" args
echo
echo "# an unmodified extism-pdk plugin (Extism kernel ABI): raw input, raw output"
run call "$X/extism_kitchen.wasm" count_vowels "hello world"
run call "$X/extism_kitchen.wasm" count_vowels "hello world" --config vowels=o
run call "$X/extism_kitchen.wasm" fail "a plugin-reported error" || echo "(exit code $?)"
echo
echo "# an Extism JS-PDK-style core module with its interface.d.ts: shims generated at load"
run idl plugins/extism/idl_core/interface.d.ts
run call "$X/idl_core.wasm" greet "plugboard" --interface plugins/extism/idl_core/interface.d.ts
echo
echo "# a runaway plugin is stopped by fuel (exit code 1, the error kind in brackets):"
run call "$W/perf.wasm" sum 1000000000 --fuel 50000000 || echo "(exit code $?)"
echo
echo "# a plugin that panics: its message reaches the host"
run call "$W/wasi_probe.wasm" boom '"demo"' || echo "(exit code $?)"

echo
echo "# Lua plugins (plugin_lua's example, from plugins/lua): init(), update() until false, destroy()"
run lua plugins/lua
run call plugins/lua/report report '"the cat and the hat and the bat"'

echo
echo "# Zig plugins on wasm_nvim's ABI (JSON values by id); Lua for lua_exec/lua_eval from plugins/zig/vm.lua"
run inspect "$Z/nvim_examples.wasm"
run call "$Z/nvim_examples.wasm" returning
run call "$Z/nvim_examples.wasm" consuming '{"apples": 3, "pears": 4.5, "note": "fresh"}'
run call "$Z/nvim_examples.wasm" luaEvalExample --lua-vm plugins/zig/vm.lua

echo
echo "=== performance loop: sum 1..=3,000,000 in a wasm plugin (best of 5)"
run call "$W/perf.wasm" sum 3000000 --time --repeat 5
echo
echo "=== the same loop in the Zig plugin (nvim ABI; best of 5)"
run call "$Z/perf.wasm" for_loop 3000000 --time --repeat 5
echo
echo "=== the same loop as a Lua plugin (piccolo; best of 3)"
run call plugins/lua/perf sum 3000000 --time --repeat 3
run call "$W/perf.wasm" count_primes 100000 --time --repeat 3
echo
echo "=== the npm package (target/npm/plugboard) and the demo page (www/)"
node scripts/build-npm.mjs
echo "The page runs the performance loop in the browser (plugboard's wasm and Lua plugins against"
echo "plain JavaScript and the browser's own WebAssembly) and a plugin playground."
exec node scripts/serve.mjs "${PORT:-8080}"
