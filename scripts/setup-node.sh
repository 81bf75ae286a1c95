#!/usr/bin/env bash
# Install the pinned Node interop oracle deps (tests/interop/node) with
# `npm ci`, i.e. exactly what package-lock.json says.
# Idempotent: skips when node_modules was installed from the same lockfile
# with the same Node major version.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$repo/tests/interop/node"
stamp="$dir/node_modules/.setup-node.stamp"

# shellcheck source=lib/portable.sh
source "$repo/scripts/lib/portable.sh"

log() { printf 'setup-node: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v node >/dev/null || die "node not found"
command -v npm >/dev/null || die "npm not found"
[[ -f "$dir/package-lock.json" ]] || die "missing $dir/package-lock.json"

want="$(cat "$dir/package.json" "$dir/package-lock.json" | sha256_hex -) node-$(node -p 'process.versions.node.split(".")[0]')"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  log "up to date: ${dir#"$repo"/}/node_modules"
  exit 0
fi

log "npm ci in ${dir#"$repo"/} (node $(node --version), npm $(npm --version 2>/dev/null))"
start=$SECONDS
# npm ci wipes node_modules first, so a half-finished earlier run is harmless.
(cd "$dir" && npm ci --no-audit --no-fund >&2) || die "npm ci failed"
log "installed in $((SECONDS - start))s"

printf '%s\n' "$want" >"$stamp"
log "done"
