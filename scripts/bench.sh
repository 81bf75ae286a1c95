#!/usr/bin/env bash
# Benchmark us against the Python and Node AWS Encryption SDKs in one run, on this machine.
#
#   scripts/bench.sh            # full run; writes target/bench/bench.{md,json,svg}
#   scripts/bench.sh --smoke    # every step with tiny counts: checks the harness, measures nothing
#
# Other flags go to tests/bench/run_bench.py (--iterations N, --cold-runs N, --core N).
# Set BENCH_BUILD_ZIP=1 to cross-build the arm64 Lambda zip first (about 4 minutes) so its size
# is reported.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup-python.sh
bash scripts/setup-node.sh
echo "bench: building the release harness" >&2
cargo build --release --locked -p esdk-message --example bench
if cargo metadata --no-deps --format-version 1 | grep -q '"name":"cold-path"'; then
    cargo build --release --locked -p secure-ivr-lambda --example cold-path
fi
if [ "${BENCH_BUILD_ZIP:-0}" = 1 ] && [ -x scripts/build-lambda.sh ]; then
    bash scripts/build-lambda.sh
fi
exec "$root/.venv/bin/python" tests/bench/run_bench.py "$@"
