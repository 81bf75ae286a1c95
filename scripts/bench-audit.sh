#!/usr/bin/env bash
# Benchmark of `secure-ivr audit` against the CloudTrail fake (crates/cli/tests/audit.rs):
# requests made and wall time against the lower bound (pages needed / rate), and the CLI's peak
# RSS with 10,000 and 100,000 unrelated events. At CloudTrail's real 2 requests/s the two runs take
# about 40 s and 6 min; SECURE_IVR_BENCH_RATE=40 scales the fake's limit and the pace together.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${SECURE_IVR_BENCH_OUT:-target/bench-audit.txt}"
: >"$out"
SECURE_IVR_BENCH_OUT="$(realpath "$out")" cargo nextest run -p secure-ivr-cli --test audit \
    --run-ignored only --no-capture -E 'test(bench_audit_requests_wall_time_and_peak_rss)'
cat "$out"
