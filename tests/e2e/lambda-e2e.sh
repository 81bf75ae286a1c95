#!/usr/bin/env bash
# End to end through the real Lambda runtime: moto as SSM, a ciphertext from the Python ESDK,
# `cargo lambda watch` running `bootstrap`, `cargo lambda invoke` sending Connect events.
# Prints "N passed, N failed" last; exits non-zero on any failure.
#
# Needs the venv from scripts/setup-python.sh (moto, aws-encryption-sdk, cargo-lambda, ziglang).
# Env: E2E_KEEP_TMP=1 keeps the work dir; E2E_BUILD_TIMEOUT (s, default 900) bounds the first build.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT" || exit 1
VENV="$ROOT/.venv"
export PATH="$VENV/bin:$PATH"   # cargo-lambda finds zig here
PY="$VENV/bin/python"
for tool in "$PY" "$VENV/bin/moto_server" "$VENV/bin/cargo-lambda"; do
    [ -x "$tool" ] || { echo "lambda-e2e: $tool missing; run scripts/setup-python.sh" >&2; echo "0 passed, 1 failed"; exit 1; }
done

# shellcheck source=../../scripts/lib/moto.sh
source "$ROOT/scripts/lib/moto.sh"
# shellcheck source=../../scripts/lib/lambda.sh
source "$ROOT/scripts/lib/lambda.sh"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/lambda-e2e.XXXXXX")"
# shellcheck disable=SC2329 # called by the EXIT trap
cleanup() {
    lambda_watch_stop
    moto_stop
    if [ "${E2E_KEEP_TMP:-0}" = 1 ]; then echo "lambda-e2e: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "PASS $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $1${2:+: $2}"; }
finish() { echo "$PASSED passed, $FAILED failed"; [ "$FAILED" -eq 0 ]; exit $?; }

moto_start || { fail "moto starts"; finish; }

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN

PREFIX="/connect/secure-ivr-e2e/keys/"
KEY_ID="e2e00000-0000-4000-8000-$(printf '%012x' "$$")"
PRIVATE="$ROOT/crates/test-support/fixtures/test-only-c-pkcs8-4096.pem"
PUBLIC="$ROOT/crates/test-support/fixtures/test-only-c-public.pem"

# The key goes into moto with boto3 from the venv (SecureString, as operators store it).
if "$PY" - "$MOTO_ENDPOINT" "$PREFIX$KEY_ID" "$PRIVATE" <<'PY'
import sys, boto3
endpoint, name, path = sys.argv[1:4]
ssm = boto3.client("ssm", endpoint_url=endpoint, region_name="us-east-1")
ssm.put_parameter(Name=name, Value=open(path).read(), Type="SecureString", Overwrite=True)
assert ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"].startswith("-----BEGIN")
PY
then pass "test key stored in moto"; else fail "test key stored in moto"; finish; fi

# Ciphertexts from the Python ESDK, as Connect makes them (suite 0x0378, RSA-OAEP-SHA512).
encrypt() { # plaintext outfile-base64
    printf '%s' "$1" >"$WORK/pt"
    "$PY" "$ROOT/tests/interop/esdk_oracle.py" encrypt --public-key "$PUBLIC" --key-id "$2" \
        --in "$WORK/pt" --out "$WORK/ct" || return 1
    rm -f "$WORK/pt"
    # No -w0: BSD base64 lacks it; strip the line breaks instead.
    base64 <"$WORK/ct" | tr -d '\n'
}
if CARD_CT="$(encrypt 5555555555554444 "$KEY_ID")" && EXP_CT="$(encrypt 1230 "$KEY_ID")" \
    && UNKNOWN_CT="$(encrypt 4111111111111111 "e2e-unknown-key")"; then
    pass "Python ESDK encrypts"
else
    fail "Python ESDK encrypts"; finish
fi

event() { # file params-json
    "$PY" -c 'import json,sys; print(json.dumps({"Name":"ContactFlowEvent","Details":{"ContactData":{"ContactId":"e2e-contact-0001"},"Parameters":json.loads(sys.argv[1])}}))' "$2" >"$1"
}
event "$WORK/card.json" "{\"EncryptedCreditCard\": \"$CARD_CT\"}"
event "$WORK/multi.json" "{\"EncryptedCreditCard\": \"$CARD_CT\", \"EncryptedExpiry\": \"$EXP_CT\", \"EncryptedExpiryType\": \"expiry\"}"
event "$WORK/timeout.json" '{"EncryptedCreditCard": "Timeout"}'
event "$WORK/unknown.json" "{\"EncryptedCreditCard\": \"$UNKNOWN_CT\"}"

lambda_watch_start "$(moto_free_port)" "$WORK/watch.log" \
    AWS_ENDPOINT_URL_SSM="$MOTO_ENDPOINT" SECURE_IVR_KEY_PREFIX="$PREFIX" AWS_LAMBDA_LOG_LEVEL=DEBUG

invoke() { # event-file -> response on stdout
    lambda_invoke "$1" 2>>"$WORK/invoke.err"
}
field() { "$PY" -c 'import json,sys; print(json.loads(sys.stdin.read()).get(sys.argv[1], "<absent>"))' "$1"; }

# The first invoke waits for the build; retry until the emulator is listening.
RESP="$(lambda_wait "$WORK/card.json" "${E2E_BUILD_TIMEOUT:-900}" 2>>"$WORK/invoke.err")" || RESP=""
echo "card: $RESP"
if [ "$(printf '%s' "$RESP" | field Status)" = Success ] && [ "$(printf '%s' "$RESP" | field Last4)" = 4444 ] \
    && [ "$(printf '%s' "$RESP" | field Brand)" = Mastercard ]; then
    pass "card decrypts through the runtime (Status=Success, Last4=4444)"
else
    fail "card decrypts through the runtime" "see $WORK/watch.log"; tail -n 40 "$WORK/watch.log" "$WORK/invoke.err" 2>/dev/null
fi

check() { # name event field expected [field expected]...
    local name="$1" file="$2" resp ok=1; shift 2
    resp="$(invoke "$file")"
    echo "$name: $resp"
    while [ $# -ge 2 ]; do
        [ "$(printf '%s' "$resp" | field "$1")" = "$2" ] || ok=0
        shift 2
    done
    if [ "$ok" = 1 ]; then pass "$name"; else fail "$name"; fi
}
check "card and expiry in one event" "$WORK/multi.json" Status Success EncryptedExpiry_Expired false Values 2
check "Timeout is NoInput" "$WORK/timeout.json" Status NoInput
check "unknown key ID" "$WORK/unknown.json" Status Error ErrorCode KeyNotFound

# Nothing of the plaintext in the function's logs (which ran at DEBUG).
if grep -q -e 5555555555554444 -e 555555555 -e 4111111111111111 "$WORK/watch.log"; then
    fail "no plaintext in the function logs"
else
    pass "no plaintext in the function logs"
fi
# EMF lines reached stdout.
if grep -q '"CloudWatchMetrics"' "$WORK/watch.log"; then pass "EMF metric lines emitted"; else fail "EMF metric lines emitted"; fi

# --- Payments (issue 13): the generic connector to a local merchant (scripts/lib/merchant.py, which
# checks the signature and timestamp), the secret in moto's Secrets Manager and the replay table in
# moto's DynamoDB, through the same runtime. What it cannot show: TLS to a real gateway (plain
# http is allowed to loopback only) and IAM (moto allows every call).
lambda_watch_stop
printf '%s' "e2e-merchant-hmac-key" >"$WORK/merchant.secret"
"$PY" "$ROOT/scripts/lib/merchant.py" --secret-file "$WORK/merchant.secret" --port-file "$WORK/merchant.port" \
    --log "$WORK/merchant.log" 2>"$WORK/merchant.err" &
MERCHANT_PID=$!
merchant_stop() { kill "$MERCHANT_PID" 2>/dev/null || true; wait "$MERCHANT_PID" 2>/dev/null || true; }
trap 'merchant_stop; cleanup' EXIT
for _ in $(seq 1 50); do [ -s "$WORK/merchant.port" ] && break; sleep 0.1; done
if SECRET_ARN="$("$PY" - "$MOTO_ENDPOINT" "$WORK/merchant.secret" <<'PY'
import sys, boto3
endpoint, secret_file = sys.argv[1:3]
sm = boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1")
arn = sm.create_secret(Name="secure-ivr/e2e-merchant", SecretString=open(secret_file).read())["ARN"]
ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
ddb.create_table(TableName="secure-ivr-e2e-replay", BillingMode="PAY_PER_REQUEST",
                 AttributeDefinitions=[{"AttributeName": "MessageId", "AttributeType": "S"}],
                 KeySchema=[{"AttributeName": "MessageId", "KeyType": "HASH"}])
print(arn)
PY
)" && [ -s "$WORK/merchant.port" ]; then
    pass "merchant, secret and replay table ready"
    CVV_CT="$(encrypt 737 "$KEY_ID")"
    DECLINE_CARD_CT="$(encrypt 4000056655665556 "$KEY_ID")"
    pay_params() { # card-ct amount
        printf '{"EncryptedCreditCard": "%s", "EncryptedExpiry": "%s", "EncryptedExpiryType": "expiry", "EncryptedCvv": "%s", "EncryptedCvvType": "cvv", "PaymentAmount": "%s", "PaymentCurrency": "GBP"}' \
            "$1" "$EXP_CT" "$CVV_CT" "$2"
    }
    event "$WORK/authorize.json" "$(pay_params "$CARD_CT" 1250)"
    event "$WORK/decline.json" "$(pay_params "$DECLINE_CARD_CT" 4000)"
    # The authorize event's ciphertexts replayed in another contact.
    "$PY" -c 'import json,sys; e=json.load(open(sys.argv[1])); e["Details"]["ContactData"]["ContactId"]="e2e-contact-0002"; print(json.dumps(e))' \
        "$WORK/authorize.json" >"$WORK/replayed.json"
    lambda_watch_start "$(moto_free_port)" "$WORK/watch-pay.log" \
        AWS_ENDPOINT_URL_SSM="$MOTO_ENDPOINT" AWS_ENDPOINT_URL_SECRETS_MANAGER="$MOTO_ENDPOINT" \
        AWS_ENDPOINT_URL_DYNAMODB="$MOTO_ENDPOINT" SECURE_IVR_KEY_PREFIX="$PREFIX" AWS_LAMBDA_LOG_LEVEL=DEBUG \
        SECURE_IVR_PAYMENT_CONNECTOR=http SECURE_IVR_PAYMENT_URL="http://127.0.0.1:$(cat "$WORK/merchant.port")/pay" \
        SECURE_IVR_PAYMENT_SECRET_ARN="$SECRET_ARN" SECURE_IVR_REPLAY_TABLE=secure-ivr-e2e-replay
    RESP="$(lambda_wait "$WORK/authorize.json" 300 2>>"$WORK/invoke.err")" || RESP=""
    echo "authorize: $RESP"
    if [ "$(printf '%s' "$RESP" | field PaymentStatus)" = Authorized ] \
        && [ "$(printf '%s' "$RESP" | field PaymentId)" = pay_1 ]; then
        pass "authorize through the runtime (PaymentStatus=Authorized, PaymentId=pay_1)"
    else
        fail "authorize through the runtime" "see $WORK/watch-pay.log"; tail -n 30 "$WORK/watch-pay.log" "$WORK/merchant.err"
    fi
    check "decline through the runtime" "$WORK/decline.json" PaymentStatus Declined DeclineCode insufficient_funds
    check "the same ciphertext in another contact is a replay" "$WORK/replayed.json" PaymentStatus Error ErrorCode Replay
    check "a retry in the same contact gets the first answer" "$WORK/authorize.json" PaymentStatus Authorized PaymentId pay_1
    requests="$(grep -c '^authorize' "$WORK/merchant.log" 2>/dev/null || echo 0)"
    if [ "$requests" = 2 ] && ! grep -q '^refused' "$WORK/merchant.log"; then
        pass "the merchant got two signed requests (authorize, decline; no replay, no retry)"
    else
        fail "the merchant got two signed requests" "$requests; $(cat "$WORK/merchant.log")"
    fi
    if grep -q -e 5555555555554444 -e 4000056655665556 -e 555555555 -e e2e-merchant-hmac-key "$WORK/watch-pay.log"; then
        fail "no card data or secret in the payment logs"
    else
        pass "no card data or secret in the payment logs"
    fi
    if grep '"CloudWatchMetrics"' "$WORK/watch-pay.log" | grep -q '"PaymentStatus":"Declined"'; then
        pass "EMF line per payment"
    else
        fail "EMF line per payment"
    fi
    lambda_watch_stop
else
    fail "merchant, secret and replay table ready" "see $WORK/merchant.err"
fi
merchant_stop
trap cleanup EXIT

# --- SSM says AccessDeniedException: the same runtime against a loopback fake SSM that refuses
# every request as SSM refuses a role without ssm:GetParameter (HTTP 400, JSON 1.1, `__type` and
# `Message` as botocore's ssm/2014-11-06/service-2.json names them) and counts the requests.
# What it cannot show: IAM or KMS deciding anything (it refuses all), real SSM's exact headers
# and message, TLS, and a real invocation deadline (cargo lambda watch's is in 1970; the Rust
# test crates/lambda/tests/runtime.rs covers the deadline with a Runtime API emulator).
lambda_watch_stop
DENY_PORT_FILE="$WORK/deny.port"
DENY_COUNT_FILE="$WORK/deny.count"
"$PY" - "$DENY_PORT_FILE" "$DENY_COUNT_FILE" >"$WORK/deny.log" 2>&1 <<'PY' &
import http.server, sys, threading
port_file, count_file = sys.argv[1:3]
lock, count = threading.Lock(), [0]
BODY = (b'{"__type":"AccessDeniedException","Message":"User: arn:aws:sts::123456789012:assumed-role/'
        b'secure-ivr-decrypt-role/secure-ivr is not authorized to perform: ssm:GetParameter on resource: '
        b'arn:aws:ssm:us-east-1:123456789012:parameter/connect/secure-ivr-e2e/keys/k because no '
        b'identity-based policy allows the ssm:GetParameter action"}')
class Deny(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with lock:
            count[0] += 1
            open(count_file, "w").write(str(count[0]))
        self.send_response(400)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("x-amzn-RequestId", "00000000-0000-4000-8000-0000000000e2")
        self.send_header("Content-Length", str(len(BODY)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(BODY)
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Deny)
open(count_file, "w").write("0")
open(port_file, "w").write(str(server.server_address[1]))
server.serve_forever()
PY
DENY_PID=$!
deny_stop() { kill "$DENY_PID" 2>/dev/null || true; wait "$DENY_PID" 2>/dev/null || true; }
trap 'deny_stop; cleanup' EXIT
for _ in $(seq 1 50); do [ -s "$DENY_PORT_FILE" ] && break; sleep 0.1; done
deny_count() { cat "$DENY_COUNT_FILE" 2>/dev/null || echo "?"; }
now_ms() { "$PY" -c 'import time; print(int(time.time() * 1000))'; }

if [ -s "$DENY_PORT_FILE" ]; then
    lambda_watch_start "$(moto_free_port)" "$WORK/watch-denied.log" \
        AWS_ENDPOINT_URL_SSM="http://127.0.0.1:$(cat "$DENY_PORT_FILE")" SECURE_IVR_KEY_PREFIX="$PREFIX" \
        AWS_LAMBDA_LOG_LEVEL=DEBUG
    RESP="$(lambda_wait "$WORK/card.json" 300 2>>"$WORK/invoke.err")" || RESP=""
    echo "denied: $RESP (SSM requests: $(deny_count))"
    if [ "$(printf '%s' "$RESP" | field ErrorCode)" = KeyAccessDenied ] && [ "$(deny_count)" = 1 ]; then
        pass "AccessDeniedException is ErrorCode=KeyAccessDenied after one SSM request (no retries)"
    else
        fail "AccessDeniedException is ErrorCode=KeyAccessDenied after one SSM request" "see $WORK/watch-denied.log"
    fi
    RESP="$(invoke "$WORK/card.json")"
    if [ "$(printf '%s' "$RESP" | field ErrorCode)" = KeyAccessDenied ] && [ "$(deny_count)" = 1 ]; then
        pass "a second call within the negative-cache window asks SSM nothing"
    else
        fail "a second call within the negative-cache window asks SSM nothing" "requests: $(deny_count)"
    fi
    # Another key ID: one more request, answered at once (the time includes cargo lambda invoke's
    # own start-up, about 0.1-0.3 s here; SDK retries with backoff, or a wait for a timeout, would
    # add a second request or seconds).
    START="$(now_ms)"
    RESP="$(invoke "$WORK/unknown.json")"
    TOOK=$(($(now_ms) - START))
    echo "denied, other key ID: $RESP (${TOOK} ms, SSM requests: $(deny_count))"
    if [ "$(printf '%s' "$RESP" | field ErrorCode)" = KeyAccessDenied ] && [ "$(deny_count)" = 2 ] \
        && [ "$TOOK" -lt 2000 ]; then
        pass "KeyAccessDenied at once for another key ID (${TOOK} ms, one request)"
    else
        fail "KeyAccessDenied at once for another key ID" "${TOOK} ms, requests: $(deny_count)"
    fi
    if grep -q '"ErrorCode":"KeyAccessDenied"' "$WORK/watch-denied.log" \
        && grep '"CloudWatchMetrics"' "$WORK/watch-denied.log" | grep -q KeyAccessDenied; then
        pass "EMF line with ErrorCode=KeyAccessDenied"
    else
        fail "EMF line with ErrorCode=KeyAccessDenied"
    fi
else
    fail "fake SSM (AccessDenied) starts" "see $WORK/deny.log"
fi
lambda_watch_stop
deny_stop

finish
