#!/usr/bin/env bash
# Fuzz the esdk-message parser (target `parse`) for SECONDS (default 60) with cargo-fuzz.
#
# Runs on the stable toolchain: cargo-fuzz passes nightly-only flags (-Zsanitizer, sancov), which
# RUSTC_BOOTSTRAP=1 lets a stable rustc accept. Installs cargo-fuzz pinned, only when that exact
# version is missing. The seed corpus is regenerated from this crate's own encrypt each run and
# the committed regression seeds are added to it. A crash leaves its input in
# crates/esdk-message/fuzz/artifacts/parse/: minimise it (`cargo fuzz tmin parse FILE`), copy it
# to fuzz/regressions/ and `cargo test -p esdk-message --test fuzz_regressions` replays it.
#
# Environment: FUZZ_JOBS (default 1) parallel fuzzing processes; FUZZ_SANITIZER (default address;
# `none` is several times faster).
set -euo pipefail

CARGO_FUZZ_VERSION=0.13.2
seconds="${1:-60}"
jobs="${FUZZ_JOBS:-1}"
sanitizer="${FUZZ_SANITIZER:-address}"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
crate="$repo/crates/esdk-message"
# shellcheck source=lib/cargo.sh
source "$repo/scripts/lib/cargo.sh"

log() { printf 'fuzz: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ "$seconds" =~ ^[0-9]+$ ]] || die "usage: scripts/fuzz.sh [SECONDS]"

if [[ "$(cargo fuzz --version 2>/dev/null || true)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]]; then
  log "installing cargo-fuzz $CARGO_FUZZ_VERSION"
  start=$SECONDS
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked >&2 || die "cargo install cargo-fuzz failed"
  log "installed cargo-fuzz in $((SECONDS - start))s"
fi

export RUSTC_BOOTSTRAP=1
cd "$crate"

# Every bin of the fuzz crate (the target and the seed generator) with the same flags, so the
# dependencies are compiled once.
log "building (sanitizer: $sanitizer)"
cargo fuzz build --sanitizer "$sanitizer" >&2 || die "cargo fuzz build failed"
triple="$(rustc -vV | sed -n 's/^host: //p')"
# The fuzz crate is a workspace of its own: its target directory is fuzz/target unless
# CARGO_TARGET_DIR (or a config) says otherwise; cargo reports which.
fuzz_target_dir="$(cargo_target_dir "$crate/fuzz/Cargo.toml")" || die "cargo metadata failed for the fuzz crate"
corpus="fuzz/corpus/parse"
mkdir -p "$corpus"
"$fuzz_target_dir/$triple/release/seeds" "$corpus"
cp fuzz/regressions/* "$corpus/"

log "running target parse for ${seconds}s with $jobs job(s)"
# -malloc_limit_mb: any single allocation over 64 MiB (inputs are a few KiB) is reported as a crash.
extra=()
if ((jobs > 1)); then extra=(-jobs="$jobs" -workers="$jobs"); fi
# ${extra[@]+...}: an empty array expands to nothing (bash 3.2 calls "${extra[@]}" unbound under set -u).
cargo fuzz run --sanitizer "$sanitizer" parse "$corpus" -- \
  -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=64 -print_final_stats=1 ${extra[@]+"${extra[@]}"} >&2
log "no crash in ${seconds}s"
