#!/usr/bin/env bash
# The main job, locally, on a fresh machine with no AWS account:
#   1. installs what it needs (pinned venv: moto, cargo-lambda, zig) and builds the CLI;
#   2. starts moto on 127.0.0.1 as the SSM Parameter Store;
#   3. `secure-ivr keygen` makes an RSA key pair and certificate and stores the private key;
#   4. encrypts a test card exactly as Connect's Store customer input block would;
#   5. runs the Lambda in the real runtime (`cargo lambda watch`) and invokes it with Connect
#      events, printing what the contact flow would see;
#   6. turns the payment connector on and authorizes the card through a local merchant endpoint
#      (scripts/lib/merchant.py on 127.0.0.1, which checks the request's signature), with the
#      connector secret in moto's Secrets Manager and the replay table in moto's DynamoDB;
#   7. `secure-ivr list`.
# Stops everything it started, also on Ctrl-C or failure. Safe to run again: every run uses a
# fresh moto and a fresh temporary directory.
# The first run compiles the CLI and then the Lambda: about 10 minutes on 2 cores from a fresh
# clone (cargo's progress is shown); later runs take under a minute. Builds go to cargo's target
# directory (CARGO_TARGET_DIR or .cargo/config.toml are honoured).
#
#   scripts/demo.sh [--card DIGITS]      # default card: 4111111111111111 (a public test number)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

card=4111111111111111
while [ $# -gt 0 ]; do
    case "$1" in
        --card) card="${2:?--card needs digits}"; shift 2 ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "demo: unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
done

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold="" plain=""; fi
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }

# shellcheck source=lib/moto.sh
source scripts/lib/moto.sh
# shellcheck source=lib/lambda.sh
source scripts/lib/lambda.sh
# shellcheck source=lib/cargo.sh
source scripts/lib/cargo.sh
work="$(mktemp -d "${TMPDIR:-/tmp}/secure-ivr-demo.XXXXXX")"
merchant_pid=""
cleanup() {
    lambda_watch_stop
    [ -z "$merchant_pid" ] || kill "$merchant_pid" 2>/dev/null || true
    moto_stop 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "1. Installing the pinned tools and building secure-ivr"
target_dir="$(cargo_target_dir)" || { echo "demo: cannot find cargo's target directory (is cargo installed?)" >&2; exit 1; }
cli="$target_dir/debug/secure-ivr"
if [ ! -x "$cli" ]; then
    echo "demo: first run: compiling the CLI, then (step 5) the Lambda, takes about 10 minutes on" \
        "2 cores from a fresh clone; later runs take under a minute. Builds go to $target_dir." >&2
fi
bash scripts/setup-python.sh
export PATH="$root/.venv/bin:$PATH" # cargo-lambda and zig
if [ "${SECURE_IVR_DEMO_PREBUILT:-0}" = 1 ] && [ -x "$cli" ]; then
    # scripts/test.sh sets this: its test build already made this binary from the same sources.
    # `cargo build -p` resolves features for one package, not the workspace, so it would compile
    # the AWS SDK stack a second time (about 4 minutes on 2 cores) for an identical program.
    echo "demo: using the CLI the test run built: $cli" >&2
else
    cargo build --locked -p secure-ivr-cli
fi
json() { "$root/.venv/bin/python" -c 'import json,sys; d=json.load(sys.stdin); print(d[sys.argv[1]])' "$1"; }

say "2. Starting the local SSM (moto on 127.0.0.1)"
moto_start
# Test credentials for the emulator only; no request leaves this machine.
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_ENDPOINT_URL="$MOTO_ENDPOINT"
unset AWS_PROFILE AWS_SESSION_TOKEN

say "3. secure-ivr keygen (RSA-4096 + certificate, private key straight into SSM under a KMS key)"
# In an account the stack's own key (output KeyParametersKmsKeyArn) is the default; here moto
# gets a key of its own for the key parameters, named as the stack would name it.
kms_alias=alias/secure-ivr/secure-ivr-decrypt-keys
"$root/.venv/bin/python" - "$kms_alias" <<'PY'
import os, sys, boto3
kms = boto3.client("kms", region_name=os.environ["AWS_REGION"])
key = kms.create_key(Description="Secure IVR demo: encrypts the key parameters")["KeyMetadata"]["KeyId"]
kms.create_alias(AliasName=sys.argv[1], TargetKeyId=key)
PY
# Without a Connect instance the key is stored as pending; in a real account
# `keygen --instance-id ...` associates it and Connect assigns the key ID in one step.
"$cli" --output json keygen --kms-key-id "$kms_alias" --out-dir "$work" >"$work/keygen.json"
fingerprint="$(json fingerprint <"$work/keygen.json")"
key_id="$("$root/.venv/bin/python" -c 'import uuid; print(uuid.uuid4())')"
echo "Connect would now assign a key ID; the demo plays Connect: $key_id"
"$cli" activate --fingerprint "$fingerprint" --key-id "$key_id"
certificate="$(ls "$work"/*.cert.pem)"

say "4. Encrypting a test card as Connect's Store customer input block does"
"$cli" encrypt --certificate "$certificate" --key-id "$key_id" --text "$card" >"$work/card.b64"
"$cli" inspect "$work/card.b64"

event() { # file parameters-json
    "$root/.venv/bin/python" -c '
import json, sys
print(json.dumps({"Name": "ContactFlowEvent", "Details": {
    "ContactData": {"ContactId": "demo-contact-0001", "Channel": "VOICE"},
    "Parameters": json.loads(sys.argv[1])}}))' "$2" >"$1"
}
event "$work/card.json" "{\"EncryptedCreditCard\": \"$(cat "$work/card.b64")\"}"
event "$work/timeout.json" '{"EncryptedCreditCard": "Timeout"}'
"$cli" encrypt --certificate "$certificate" --key-id "$key_id" --text 4111111111111112 >"$work/bad.b64"
event "$work/bad.json" "{\"EncryptedCreditCard\": \"$(cat "$work/bad.b64")\"}"

say "5. The Lambda in the real runtime (cargo lambda watch); the first call waits for its build"
echo "demo: the first run compiles the Lambda here (several minutes; cargo's progress follows)" >&2
lambda_watch_start "$(moto_free_port)" "$work/watch.log" AWS_ENDPOINT_URL_SSM="$MOTO_ENDPOINT"
export LAMBDA_WAIT_PROGRESS=1
show() {
    "$root/.venv/bin/python" -c '
import json, sys
r = json.loads(sys.stdin.read())
print("  " + sys.argv[1] + ":")
for k in sorted(k for k in r if "_" not in k):
    print(f"    $.External.{k:<13} = {r[k]}")' "$1"
}
if ! response="$(lambda_wait "$work/card.json")"; then
    echo "demo: the Lambda did not answer; its log follows" >&2
    tail -n 40 "$work/watch.log" >&2
    exit 1
fi
echo "What the contact flow sees:"
printf '%s' "$response" | show "the caller keyed $card"
lambda_invoke "$work/bad.json" 2>/dev/null | show "a mistyped card (fails the Luhn check)"
lambda_invoke "$work/timeout.json" 2>/dev/null | show "the caller entered nothing (Connect passes Timeout)"
[ "$(printf '%s' "$response" | json Status)" = Success ] || { echo "demo: expected Status=Success" >&2; exit 1; }

say "6. A payment: the card authorized through a local merchant endpoint"
# The connector secret (the HMAC key the merchant shares) goes to Secrets Manager, the replay
# table to DynamoDB: both moto here, as the stack would create them in an account.
"$root/.venv/bin/python" -c 'import secrets; print(secrets.token_urlsafe(32), end="")' >"$work/merchant.secret"
"$root/.venv/bin/python" "$root/scripts/lib/merchant.py" --secret-file "$work/merchant.secret" \
    --port-file "$work/merchant.port" --log "$work/merchant.log" &
merchant_pid=$!
for _ in $(seq 1 50); do [ -s "$work/merchant.port" ] && break; sleep 0.1; done
[ -s "$work/merchant.port" ] || { echo "demo: the merchant endpoint did not start" >&2; exit 1; }
secret_arn="$("$root/.venv/bin/python" - "$work/merchant.secret" <<'PY'
import os, sys, boto3
region = os.environ["AWS_REGION"]
arn = boto3.client("secretsmanager", region_name=region).create_secret(
    Name="secure-ivr/demo-merchant", SecretString=open(sys.argv[1]).read())["ARN"]
boto3.client("dynamodb", region_name=region).create_table(
    TableName="secure-ivr-demo-replay", BillingMode="PAY_PER_REQUEST",
    AttributeDefinitions=[{"AttributeName": "MessageId", "AttributeType": "S"}],
    KeySchema=[{"AttributeName": "MessageId", "KeyType": "HASH"}])
print(arn)
PY
)"
"$cli" encrypt --certificate "$certificate" --key-id "$key_id" --text 1230 >"$work/exp.b64"
"$cli" encrypt --certificate "$certificate" --key-id "$key_id" --text 737 >"$work/cvv.b64"
event "$work/pay.json" "{\"EncryptedCreditCard\": \"$(cat "$work/card.b64")\",
    \"EncryptedExpiry\": \"$(cat "$work/exp.b64")\", \"EncryptedExpiryType\": \"expiry\",
    \"EncryptedCvv\": \"$(cat "$work/cvv.b64")\", \"EncryptedCvvType\": \"cvv\",
    \"PaymentAmount\": \"1250\", \"PaymentCurrency\": \"GBP\"}"
lambda_watch_stop
lambda_watch_start "$(moto_free_port)" "$work/watch-pay.log" AWS_ENDPOINT_URL_SSM="$MOTO_ENDPOINT" \
    SECURE_IVR_PAYMENT_CONNECTOR=http SECURE_IVR_PAYMENT_URL="http://127.0.0.1:$(cat "$work/merchant.port")/pay" \
    SECURE_IVR_PAYMENT_SECRET_ARN="$secret_arn" SECURE_IVR_REPLAY_TABLE=secure-ivr-demo-replay
if ! paid="$(lambda_wait "$work/pay.json" 300)"; then
    echo "demo: the Lambda did not answer; its log follows" >&2
    tail -n 40 "$work/watch-pay.log" >&2
    exit 1
fi
echo "What the merchant received (it prints the last four digits only):"
sed 's/^/  /' "$work/merchant.log"
printf '%s' "$paid" | show "card, expiry and security code with PaymentAmount=1250 PaymentCurrency=GBP"
[ "$(printf '%s' "$paid" | json PaymentStatus)" = Authorized ] || { echo "demo: expected PaymentStatus=Authorized" >&2; exit 1; }

say "7. secure-ivr list"
"$cli" list

say "Done. Everything started here is stopped on exit."
