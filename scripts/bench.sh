#!/usr/bin/env bash
# Benchmark us against the Python and Node AWS Encryption SDKs in one run, on this machine.
#
#   scripts/bench.sh            # full run; writes bench/bench.{md,json,svg} in cargo's target
#                               # directory (target/ unless CARGO_TARGET_DIR or .cargo/config.toml say otherwise)
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
build_zip=1 profile=release
for a in "$@"; do [ "$a" = --smoke ] && build_zip=0 profile=dev; done
# A smoke run measures nothing, so it builds with the dev profile, on the dependencies the test
# build already compiled (the crypto crates are opt-level 3 there too); a release build of
# aws-lc-sys and fat LTO would cost minutes for a check of the harness.
export SECURE_IVR_BENCH_PROFILE="$profile"
echo "bench: building the harness and the Lambda's cold path (profile $profile)" >&2
cargo build --profile "$profile" --locked -p esdk-message --example bench
# The cold path never calls AWS, so it builds without the runtime client and the SDK (minutes
# of compiling on two cores); its code is the Lambda's own handler, key store and decrypt.
cargo build --profile "$profile" --locked -p secure-ivr-lambda --no-default-features --example cold-path
zip_state=existing
if [ "${BENCH_BUILD_ZIP:-$build_zip}" = 1 ]; then
    echo "bench: cross-building the arm64 Lambda zip" >&2
    # A failed build is reported in the table, not fatal to the timings; a stale zip is not used.
    if bash scripts/build-lambda.sh >&2; then
        zip_state=built
    else
        zip_state=failed
        echo "bench: the arm64 zip build failed; its size is not reported" >&2
    fi
fi
exec "$root/.venv/bin/python" tests/bench/run_bench.py --zip-state "$zip_state" "$@"
