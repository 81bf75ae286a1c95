#!/usr/bin/env bash
# Benchmark us against the Python and Node AWS Encryption SDKs in one run, on this machine.
#
#   scripts/bench.sh            # full run; writes target/bench/bench.{md,json,svg}
#   scripts/bench.sh --smoke    # every step with tiny counts: checks the harness, measures nothing
#
# Other flags go to tests/bench/run_bench.py (--iterations N, --cold-runs N, --core N).
# A full run cross-builds the arm64 Lambda zip (scripts/build-lambda.sh) to report its size;
# BENCH_BUILD_ZIP=0 skips that and reports an existing zip, if any. --smoke never builds it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup-python.sh
bash scripts/setup-node.sh
build_zip=1
for a in "$@"; do [ "$a" = --smoke ] && build_zip=0; done
build_zip="${BENCH_BUILD_ZIP:-$build_zip}"
zip_args=()
if [ "$build_zip" = 1 ]; then
    # The cross build gets its own target directory so that it runs beside the host builds
    # (two cargo processes sharing one directory wait for each other's lock).
    zip_target="$root/target/bench-arm64"
    mkdir -p target/bench
    echo "bench: cross-building the arm64 Lambda zip in the background (log: target/bench/zip.log)" >&2
    CARGO_TARGET_DIR="$zip_target" bash scripts/build-lambda.sh >target/bench/zip.log 2>&1 &
    zip_pid=$!
    trap 'kill -- "$zip_pid" 2>/dev/null || true' EXIT
    zip_args=(--zip "$zip_target/lambda/bootstrap/bootstrap.zip")
fi
echo "bench: building the release harness and the Lambda's cold path" >&2
cargo build --release --locked -p esdk-message --example bench
cargo build --release --locked -p secure-ivr-lambda --example cold-path
zip_state=existing
if [ "$build_zip" = 1 ]; then
    echo "bench: waiting for the arm64 zip build" >&2
    # A failed build is reported in the table, not fatal to the timings; a stale zip is not used.
    trap - EXIT
    if wait "$zip_pid"; then
        zip_state=built
    else
        zip_state=failed
        tail -n 20 target/bench/zip.log >&2
        echo "bench: the arm64 zip build failed (target/bench/zip.log); its size is not reported" >&2
    fi
    grep -E '^(ok|FAIL) |passed' target/bench/zip.log >&2 || true
fi
exec "$root/.venv/bin/python" tests/bench/run_bench.py --zip-state "$zip_state" "${zip_args[@]}" "$@"
