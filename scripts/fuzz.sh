#!/usr/bin/env bash
# Fuzz the targets of crates/esdk-message/fuzz with libFuzzer (libfuzzer-sys), built by cargo
# itself with the sanitizer-coverage flags that cargo-fuzz would pass (no cargo-fuzz install).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   # each target for SECONDS (default 60); default all
#   scripts/fuzz.sh --smoke                 # what scripts/test.sh runs: every target briefly from
#                                           # its committed corpus, sanitizer none, one line
#                                           # "N passed, N failed" at the end
#
# Targets: parse (any bytes, the whole path), decrypt (after a successful parse: unwrap,
# derivation, tags, signature), analyze (caller-input on any plaintext), event (the Lambda's event
# selection on any JSON; only when named, since it builds aws-lc-sys with the coverage flags). Each starts from its
# committed corpus, fuzz/corpora/<target>/ (parse adds fuzz/regressions/); new inputs go to
# fuzz/corpus/<target>/ (ignored by git). A crash leaves its input in fuzz/artifacts/<target>/:
# minimise it (run the target binary with -minimize_crash=1 FILE), copy it to fuzz/regressions/
# and `cargo test -p esdk-message --test fuzz_regressions` replays it.
#
# Environment:
#   FUZZ_SANITIZER  address (default; stable rustc via RUSTC_BOOTSTRAP=1 for -Zsanitizer) or none
#                   (no sanitizer runtime: several times faster, and what --smoke uses)
#   FUZZ_PROVIDERS  both (default: the targets also assert that aws-lc and RustCrypto agree) or
#                   rustcrypto (no aws-lc-sys C build; what --smoke uses)
#   FUZZ_JOBS       parallel fuzzing processes per target (default 1)
#   FUZZ_SMOKE_SECONDS  seconds per target in --smoke (default 5)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fuzz="$repo/crates/esdk-message/fuzz"
# shellcheck source=lib/cargo.sh
source "$repo/scripts/lib/cargo.sh"

log() { printf 'fuzz: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# event needs --features lambda (FUZZ_PROVIDERS=both; the Lambda brings aws-lc): asked by name only.
all_targets=(parse decrypt analyze event)
default_targets=(parse decrypt analyze)
smoke=0
if [ "${1:-}" = "--smoke" ]; then
  smoke=1
  shift
  seconds="${FUZZ_SMOKE_SECONDS:-5}"
  sanitizer="${FUZZ_SANITIZER:-none}"
  providers="${FUZZ_PROVIDERS:-rustcrypto}"
else
  seconds="${1:-60}"
  [ $# -gt 0 ] && shift
  sanitizer="${FUZZ_SANITIZER:-address}"
  providers="${FUZZ_PROVIDERS:-both}"
fi
jobs="${FUZZ_JOBS:-1}"
[[ "$seconds" =~ ^[0-9]+$ ]] || die "usage: scripts/fuzz.sh [SECONDS] [TARGET...] | scripts/fuzz.sh --smoke"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${default_targets[@]}")
for t in "${targets[@]}"; do
  [[ " ${all_targets[*]} " == *" $t "* ]] || die "unknown target '$t' (known: ${all_targets[*]})"
done

# The flags cargo-fuzz 0.13 passes, so that libFuzzer sees edge coverage (inline 8-bit counters
# with their PC table) and compared values (trace-compares); `--cfg fuzzing` as cargo-fuzz. Debug
# assertions and overflow checks come from the fuzz crate's release profile (our crates only).
flags=(
  -Cpasses=sancov-module
  -Cllvm-args=-sanitizer-coverage-level=4
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters
  -Cllvm-args=-sanitizer-coverage-pc-table
  -Cllvm-args=-sanitizer-coverage-trace-compares
  --cfg fuzzing
)
case "$sanitizer" in
  none) ;;
  address)
    # -Zsanitizer is nightly-only; RUSTC_BOOTSTRAP=1 lets the stable rustc accept it.
    export RUSTC_BOOTSTRAP=1
    flags+=(-Zsanitizer=address)
    ;;
  *) die "FUZZ_SANITIZER must be address or none" ;;
esac
case "$providers" in
  both) features=() ;;
  rustcrypto) features=(--no-default-features --features rustcrypto) ;;
  *) die "FUZZ_PROVIDERS must be both or rustcrypto" ;;
esac

# --target: RUSTFLAGS then apply to the targets' code only, not to build scripts and proc macros
# (which would need libFuzzer to link). Only the target bins are built: the seed generator is a
# plain program (`cargo run --bin seeds`), never linked with the coverage flags.
triple="$(rustc -vV | sed -n 's/^host: //p')"
# The fuzz crate is a workspace of its own (default target dir: fuzz/target); its builds go to the
# repository's one target directory, as every other build.
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$(cargo_target_dir)}" || die "cargo metadata failed"
export CARGO_TARGET_DIR
bins=()
for t in "${targets[@]}"; do bins+=(--bin "$t"); done
if [[ " ${targets[*]} " == *" event "* ]]; then
  [ "$providers" = both ] || die "the event target needs FUZZ_PROVIDERS=both (the Lambda uses aws-lc)"
  features=(--features lambda)
fi
log "building ${targets[*]} (sanitizer: $sanitizer, providers: $providers)"
start=$SECONDS
(cd "$fuzz" && RUSTFLAGS="${flags[*]}" cargo build --locked --release --target "$triple" \
  ${features[@]+"${features[@]}"} "${bins[@]}" >&2) || die "cargo build of the fuzz targets failed"
log "built in $((SECONDS - start))s"
bin_dir="$CARGO_TARGET_DIR/$triple/release"

passed=0 failed=0
for t in "${targets[@]}"; do
  seeds=("$fuzz/corpora/$t")
  [ "$t" = parse ] && seeds+=("$fuzz/regressions")
  # --smoke leaves the tree as it was: new inputs go to a temporary directory.
  work=""
  if ((smoke)); then work="$(mktemp -d)"; corpus="$work/corpus"; else corpus="$fuzz/corpus/$t"; fi
  artifacts="$fuzz/artifacts/$t/"
  mkdir -p "$corpus" "$artifacts"
  extra=()
  if ((jobs > 1)); then extra=(-jobs="$jobs" -workers="$jobs"); fi
  log "running $t for ${seconds}s"
  out="$(mktemp)"
  # -malloc_limit_mb: any single allocation over 64 MiB (inputs are a few KiB) is a crash.
  # ${extra[@]+...}: an empty array expands to nothing (bash 3.2 calls "${extra[@]}" unbound).
  set +e
  "$bin_dir/$t" "$corpus" "${seeds[@]}" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=64 \
    -print_final_stats=1 -artifact_prefix="$artifacts" ${extra[@]+"${extra[@]}"} 2>"$out"
  rc=$?
  set -e
  execs="$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$out" | tail -1)"
  secs="$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+)/\1/p' "$out" | tail -1)"
  if [ "$rc" -eq 0 ] && [ "${execs:-0}" -gt 0 ]; then
    passed=$((passed + 1))
    echo "ok   fuzz $t: ${execs} executions in ${seconds}s (${secs:-?}/s), no crash" >&2
  else
    failed=$((failed + 1))
    echo "FAIL fuzz $t: exit $rc, ${execs:-0} executions (log below)" >&2
    tail -n 40 "$out" >&2
    echo "  the input that failed is in $artifacts" >&2
  fi
  rm -f "$out"
  [ -n "$work" ] && rm -rf "$work"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
