#!/usr/bin/env bash
# Our fixes to published crates, applied at build time (docs/patched-crates.md): for each
# patches/<crate>-<version>/, the crate's published source is copied from cargo's registry into
# .patched/<crate>-<version> and our *.patch files are applied there, in name order; the
# workspace's [patch.crates-io] builds from that copy. Runs before any cargo command
# (scripts/install.sh calls it first); does nothing when the copy is up to date with the patches.
set -euo pipefail
# This script's own path, absolute: it is part of the stamp below, read after the `cd`
# (fuzz/run.sh calls it as ../scripts/patch-crates.sh).
self=$(realpath "$0")
cd "$(dirname "$self")/.."

log() { echo "[patch-crates] $*" >&2; }
command -v patch >/dev/null || { echo "patch not found (Debian: apt-get install patch)" >&2; exit 1; }
registry="${CARGO_HOME:-$HOME/.cargo}/registry/src"

# The published source of crate $1 at version $2, downloaded by cargo if it is not there yet.
published() {
  local crate=$1 version=$2 found
  found=$(ls -d "$registry"/*/"$crate-$version" 2>/dev/null | head -n 1 || true)
  if [ -z "$found" ]; then
    local tmp
    tmp=$(mktemp -d)
    printf '[package]\nname = "fetch-%s"\nversion = "0.0.0"\nedition = "2021"\n[lib]\npath = "lib.rs"\n[dependencies]\n%s = "=%s"\n' \
      "$crate" "$crate" "$version" > "$tmp/Cargo.toml"
    : > "$tmp/lib.rs"
    log "cargo fetch $crate $version"
    cargo fetch --quiet --manifest-path "$tmp/Cargo.toml"
    rm -rf "$tmp"
    found=$(ls -d "$registry"/*/"$crate-$version" 2>/dev/null | head -n 1 || true)
  fi
  [ -n "$found" ] || { echo "could not find $crate $version's source in $registry" >&2; exit 1; }
  echo "$found"
}

for dir in patches/*/; do
  name=$(basename "$dir")
  crate=${name%-*}
  version=${name##*-}
  out=".patched/$name"
  stamp=$(cat "$dir"*.patch "$self" | sha256sum | cut -c1-16)
  if [ -f "$out/.plugboard-patches" ] && [ "$(cat "$out/.plugboard-patches")" = "$stamp" ]; then
    continue
  fi
  src=$(published "$crate" "$version")
  log "$crate $version: applying $(ls "$dir"*.patch | wc -l) patches into $out"
  rm -rf "$out"
  mkdir -p .patched
  cp -r "$src" "$out"
  chmod -R u+w "$out"
  for p in "$dir"*.patch; do
    patch --quiet --forward -p1 -d "$out" < "$p" || { echo "$p does not apply to $crate $version" >&2; exit 1; }
  done
  echo "$stamp" > "$out/.plugboard-patches"
done
