#!/usr/bin/env bash
# The payment path's own cost per invocation, beside a decrypt-only invocation, on this machine:
# the same card + expiry + security-code events through the real handler, with no connector and
# with the generic connector calling a merchant on 127.0.0.1 that answers at once (its own time,
# measured inside it, is taken out). No AWS: the secret and the replay table are in memory.
#
#   scripts/bench-payments.sh               # release build, 500 invocations each; writes
#                                           # bench/payments.json in cargo's target directory
#   scripts/bench-payments.sh --smoke       # dev build, 5 invocations: checks the harness only
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=lib/cargo.sh
source scripts/lib/cargo.sh
profile=release iterations=500
for a in "$@"; do
    case "$a" in
        --smoke) profile=dev iterations=5 ;;
        *) echo "bench-payments: unknown argument $a" >&2; exit 2 ;;
    esac
done
# Like the cold path of scripts/bench.sh: nothing here calls AWS, so no SDK in the build.
cargo build --profile "$profile" --locked -p secure-ivr-lambda --no-default-features --example payment-path
target_dir="$(cargo_target_dir)"
dir=release
[ "$profile" = dev ] && dir=debug
out="$("$target_dir/$dir/examples/payment-path" --iterations "$iterations")"
mkdir -p "$target_dir/bench"
printf '%s\n' "$out" >"$target_dir/bench/payments.json"
"$root/.venv/bin/python" - "$out" "$profile" <<'PY'
import json, platform, sys
r = json.loads(sys.argv[1])
print(f"payment path, {r['iterations']} invocations each, profile {sys.argv[2]}, {platform.machine()}, median per invocation:")
print(f"  decrypt only (3 values)           {r['decrypt_only_us']:>10.1f} us")
print(f"  with the payment (same 3 values)  {r['with_payment_us']:>10.1f} us")
print(f"  of which the merchant's own time  {r['merchant_us']:>10.1f} us")
print(f"  the payment path's own cost       {r['payment_path_own_us']:>10.1f} us")
if sys.argv[2] == "dev":
    print("  (smoke run: a dev build measures nothing; run without --smoke for figures)")
    # Reached only if every invocation answered as expected (the example asserts each status).
    print("bench-payments-smoke: 1 passed, 0 failed")
PY
