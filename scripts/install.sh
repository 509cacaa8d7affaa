#!/usr/bin/env bash
# Installs what the build and tests need, skipping what is already there. Registries only.
set -euo pipefail

log() { echo "[install] $*"; }

command -v cargo >/dev/null || { echo "cargo not found: install Rust with rustup first" >&2; exit 1; }

# Our fixes to published crates (patches/, docs/patched-crates.md) before any cargo command of the
# workspace: its [patch.crates-io] builds piccolo from the patched copy this makes.
"$(dirname "$0")/patch-crates.sh"

installed_targets=$(rustup target list --installed 2>/dev/null || true)
for target in wasm32-wasip1 wasm32-unknown-unknown; do
  if ! grep -qx "$target" <<<"$installed_targets"; then
    log "rustup target add $target"
    rustup target add "$target"
  fi
done

# The npm package's wasm is built with a pinned nightly (wasm-pack.toml: wasmi's guaranteed tail
# calls need `become`, the immediate-abort std needs build-std): minimal profile, the wasm32
# target and the std sources, from static.rust-lang.org.
NIGHTLY=$(sed -n 's/^toolchain = "\(.*\)"$/\1/p' wasm-pack.toml)
if [ -n "$NIGHTLY" ] && { ! rustup target list --installed --toolchain "$NIGHTLY" 2>/dev/null | grep -qx wasm32-unknown-unknown \
    || ! rustup component list --installed --toolchain "$NIGHTLY" 2>/dev/null | grep -q '^rust-src'; }; then
  log "rustup toolchain install $NIGHTLY (the npm package's wasm build)"
  rustup toolchain install "$NIGHTLY" --profile minimal --target wasm32-unknown-unknown --component rust-src
fi

for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    log "rustup component add $component"
    rustup component add "$component"
  fi
done
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "$tool not found: install Node.js 20 (Debian: apt-get install nodejs npm)" >&2; exit 1; }
done
# Zig plugins (plugins/zig) are built with the Zig compiler from PyPI, pinned.
ZIG_VERSION=0.17.1
if [ -z "${ZIG:-}" ] && [ "$(python3 -m ziglang version 2>/dev/null || true)" != "$ZIG_VERSION" ]; then
  command -v python3 >/dev/null || { echo "python3 not found: install Python 3 with pip (Debian: apt-get install python3-pip)" >&2; exit 1; }
  log "pip install ziglang==$ZIG_VERSION"
  python3 -m pip install --quiet "ziglang==$ZIG_VERSION" 2>/dev/null \
    || python3 -m pip install --quiet --user "ziglang==$ZIG_VERSION" 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages "ziglang==$ZIG_VERSION"
fi

# The npm package (crates/web): wasm-bindgen's CLI at exactly the crate's version (pinned in
# crates/web/Cargo.toml), and wasm-pack, both from crates.io (their npm packages download binaries
# at install time, which fails here). One target dir for both: their shared deps build once.
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
export PATH="$CARGO_BIN:$PATH"
WASM_BINDGEN_VERSION=0.2.130
WASM_PACK_VERSION=0.15.1
tools_dir="${TOOLS_BUILD_DIR:-${TMPDIR:-/tmp}/plugboard-tools-build}"
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  log "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once)"
  # --locked first; its lockfile can name a crate version the registry does not serve (seen:
  # webpki-roots), so fall back to a fresh resolve.
  CARGO_TARGET_DIR="$tools_dir" cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --locked --force \
    || CARGO_TARGET_DIR="$tools_dir" cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi
if [ "$(wasm-pack --version 2>/dev/null | awk '{print $2}')" != "$WASM_PACK_VERSION" ]; then
  log "cargo install wasm-pack $WASM_PACK_VERSION (a few minutes, once)"
  CARGO_TARGET_DIR="$tools_dir" cargo install wasm-pack --version "$WASM_PACK_VERSION" --locked --force \
    || CARGO_TARGET_DIR="$tools_dir" cargo install wasm-pack --version "$WASM_PACK_VERSION" --force
fi

# Headless Chromium and its driver from Debian, for wasm-pack test --chrome and Playwright (never
# let a tool download a browser).
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    log "apt-get install chromium chromium-driver"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
  else
    echo "chromium and chromedriver not found: install them (Debian: apt-get install chromium chromium-driver)" >&2
    exit 1
  fi
fi

# PUC Lua 5.4 from Debian: the reference the Lua test-suite harness (crates/lua-testes) compares
# plugboard's Lua engine with.
if ! command -v lua5.4 >/dev/null; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    log "apt-get install lua5.4"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends lua5.4 >/dev/null
  else
    echo "lua5.4 not found: install PUC Lua 5.4 (Debian: apt-get install lua5.4)" >&2
    exit 1
  fi
fi

# npm tools of the JS side (wasm-opt from binaryen's JS build, TypeScript, workerd), pinned in
# crates/web/js/package-lock.json.
if [ ! -x crates/web/js/node_modules/.bin/wasm-opt ] || [ crates/web/js/package-lock.json -nt crates/web/js/node_modules/.package-lock.json ]; then
  log "npm ci (crates/web/js)"
  (cd crates/web/js && npm ci --no-audit --no-fund --loglevel=error)
fi

log "toolchain ready: $(rustc --version), ${NIGHTLY:+$NIGHTLY for the npm wasm, }node $(node --version), zig ${ZIG:-$(python3 -m ziglang version)}, $(wasm-bindgen --version), $(wasm-pack --version), $(lua5.4 -v 2>&1 | awk '{print $1, $2}')"
