#!/usr/bin/env bash
# Create <repo>/.venv with the fully pinned Python test tooling from
# tests/requirements.txt (ESDK interop oracle, moto, cargo-lambda, ziglang).
# Idempotent: skips work when the venv was built from the same requirements
# file with the same interpreter. Set PYTHON to choose the interpreter.
#
#   scripts/setup-python.sh [VENV_DIR REQUIREMENTS]   # another pinned venv, e.g. the template checkers'
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${1:-$repo/.venv}"
req="${2:-$repo/tests/requirements.txt}"
stamp="$venv/.requirements.stamp"
python="${PYTHON:-python3}"

# shellcheck source=lib/portable.sh
source "$repo/scripts/lib/portable.sh"

log() { printf 'setup-python: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v "$python" >/dev/null || die "$python not found"
[[ -f "$req" ]] || die "missing $req"

# The stamp ties the venv to both the requirements and the interpreter version
# (a venv breaks or goes stale when either changes).
want="$(sha256_hex "$req") $("$python" -c 'import sys; print(sys.version.split()[0])')"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && "$venv/bin/python" -c '' 2>/dev/null; then
  log "up to date: $venv"
  exit 0
fi

# Rebuild from scratch rather than upgrading in place, so packages dropped
# from requirements.txt don't linger. The stamp is written last, so an
# interrupted run is redone next time.
log "creating venv at $venv with $("$python" --version 2>&1)"
rm -rf "$venv"
"$python" -m venv "$venv"

log "installing pinned packages from ${req#"$repo"/}"
start=$SECONDS
"$venv/bin/python" -m pip install --disable-pip-version-check --no-input --progress-bar off \
  --quiet --requirement "$req" >&2 || die "pip install failed"
"$venv/bin/python" -m pip check >&2 || die "pip check found inconsistent dependencies"
log "installed $("$venv/bin/python" -m pip freeze | wc -l) packages in $((SECONDS - start))s"

printf '%s\n' "$want" >"$stamp"
log "done: $venv"
