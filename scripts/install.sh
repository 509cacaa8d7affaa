#!/usr/bin/env bash
# Installs what the build and tests need, skipping what is already there. Registries only.
set -euo pipefail

log() { echo "[install] $*"; }

command -v cargo >/dev/null || { echo "cargo not found: install Rust with rustup first" >&2; exit 1; }

installed_targets=$(rustup target list --installed 2>/dev/null || true)
for target in wasm32-wasip1 wasm32-unknown-unknown; do
  if ! grep -qx "$target" <<<"$installed_targets"; then
    log "rustup target add $target"
    rustup target add "$target"
  fi
done

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

log "toolchain ready: $(rustc --version), node $(node --version), zig ${ZIG:-$(python3 -m ziglang version)}"
