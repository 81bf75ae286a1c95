#!/usr/bin/env bash
# End to end through the real Lambda runtime: the attachment scanner (crates/attachment-scanner,
# binary attachment-scanner) in `cargo lambda watch`, invoked by `cargo lambda invoke` with
# Connect-shaped FILE_SCANNER events for objects in moto's S3, and Rekognition answered by a
# loopback wire fake. Prints "N passed, N failed" last; exits non-zero on any failure.
#
# The files are made here: a PNG (approved), a text file (approved), an ELF executable named
# .png (rejected without asking Rekognition), a PNG that the fake labels "Explicit" (rejected),
# a PNG whose event names another bucket, and one outside the key prefix (both rejected).
#
# The Rekognition fake speaks DetectModerationLabels as botocore's rekognition/2016-06-27 model
# describes it (JSON 1.1, X-Amz-Target RekognitionService.DetectModerationLabels; ModerationLabels
# with Name, ParentName, Confidence, TaxonomyLevel; ModerationModelVersion; errors as
# {"__type", "Message"} with HTTP 400). It labels an image by its PNG width (3 px: Explicit, 99%),
# so what it cannot show: Rekognition's real judgement, its limits on image size and format (the
# Rust tests' fake covers InvalidImageFormatException), signatures, TLS, throttling.
#
# Needs the venv from scripts/setup-python.sh (moto, boto3, cargo-lambda, ziglang). The build is
# the dev profile that `cargo nextest run --workspace` already made (same target directory).
# Env: E2E_KEEP_TMP=1 keeps the work dir; E2E_BUILD_TIMEOUT (s, default 900) bounds the first build.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT" || exit 1
VENV="$ROOT/.venv"
export PATH="$VENV/bin:$PATH"   # cargo-lambda finds zig here
PY="$VENV/bin/python"
for tool in "$PY" "$VENV/bin/moto_server" "$VENV/bin/cargo-lambda"; do
    [ -x "$tool" ] || { echo "scanner-e2e: $tool missing; run scripts/setup-python.sh" >&2; echo "0 passed, 1 failed"; exit 1; }
done

# The scanner's package comes from another change (crates/attachment-scanner): until it is in the
# workspace there is nothing to run, and that is a counted skip, said by name.
if ! cargo metadata --format-version 1 --no-deps 2>/dev/null | grep -q '{"name":"secure-ivr-attachment-scanner","version"'; then
    echo "SKIP scanner end to end: package secure-ivr-attachment-scanner is not in the workspace"
    echo "0 passed, 0 failed, 1 skipped"
    exit 0
fi

# shellcheck source=../../scripts/lib/moto.sh
source "$ROOT/scripts/lib/moto.sh"
# shellcheck source=../../scripts/lib/lambda.sh
source "$ROOT/scripts/lib/lambda.sh"
export LAMBDA_PACKAGE_DIR=crates/attachment-scanner LAMBDA_BIN=attachment-scanner

WORK="$(mktemp -d "${TMPDIR:-/tmp}/scanner-e2e.XXXXXX")"
FAKE_PID=""
# shellcheck disable=SC2329 # called by the EXIT trap
cleanup() {
    lambda_watch_stop
    if [ -n "$FAKE_PID" ]; then kill "$FAKE_PID" 2>/dev/null; wait "$FAKE_PID" 2>/dev/null; fi
    moto_stop
    if [ "${E2E_KEEP_TMP:-0}" = 1 ]; then echo "scanner-e2e: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "PASS $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $1${2:+: $2}"; }
finish() { echo "$PASSED passed, $FAILED failed"; [ "$FAILED" -eq 0 ]; exit $?; }

# A moto of our own: the objects below are this run's only.
unset MOTO_PID MOTO_PORT MOTO_ENDPOINT
moto_start || { fail "moto starts"; finish; }

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN

BUCKET=connect-attachments-e2e
PREFIX="connect/e2e-instance/Attachments/"
# A file name a caller could have chosen: it must reach the logs only as a hash.
SECRET_NAME="jane-doe-passport-7731"
# A marker inside the text file: file content never reaches the logs.
CONTENT_MARKER="E2E-CONTENT-MARKER-5521"

# The files, the objects and one event per case (written by Python: PNG needs zlib and CRC32).
if "$PY" - "$MOTO_ENDPOINT" "$BUCKET" "$PREFIX" "$WORK" "$SECRET_NAME" "$CONTENT_MARKER" <<'PY'
import json, struct, sys, zlib
import boto3
endpoint, bucket, prefix, work, secret_name, marker = sys.argv[1:7]

def png(width, height):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    # One filter byte per row, then RGB pixels.
    raw = b"".join(b"\x00" + b"".join(bytes((x * 40 % 256, y * 40 % 256, 128)) for x in range(width)) for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))

# A minimal aarch64 ELF header (e_ident, ET_EXEC, EM_AARCH64) and some padding.
elf = (b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + struct.pack("<HHI", 2, 183, 1) + b"\x00" * 40) + b"\x00" * 200
files = {
    "approved-png": (f"{secret_name}.png", png(16, 12), bucket, prefix),
    "approved-text": ("notes.txt", f"Order 1234 arrived damaged.\n{marker}\nPlease call back.\n".encode(), bucket, prefix),
    "elf-named-png": ("holiday.png", elf, bucket, prefix),
    "explicit-png": ("photo.png", png(3, 3), bucket, prefix),
    "other-bucket": ("other.png", png(16, 12), "someone-elses-bucket", prefix),
    "outside-prefix": ("outside.png", png(16, 12), bucket, "elsewhere/"),
}
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
for b in {bucket, "someone-elses-bucket"}:
    s3.create_bucket(Bucket=b)
for case, (name, body, b, p) in files.items():
    file_id = f"e2e{abs(hash(case)) % 10**8:08d}-0000-4000-8000-000000000000"
    key = f"{p}chat/2026/12/02/{file_id}_20261202T11:41_UTC{name[name.rfind('.'):]}"
    s3.put_object(Bucket=b, Key=key, Body=body)
    event = {"Version": "1.0", "InstanceId": "0c4a1f6e-2b7d-4e59-9a31-5d8e7f60b2c4",
             "File": {"FileId": file_id, "FileCreationTime": 1764675660000, "FileName": name,
                      "FileSizeInBytes": len(body),
                      "FileLocation": {"S3Location": {"Key": key, "Bucket": b, "Arn": f"arn:aws:s3:::{b}/{key}"}}}}
    json.dump(event, open(f"{work}/{case}.json", "w"))
PY
then pass "files made and stored in moto's S3"; else fail "files made and stored in moto's S3"; finish; fi

# --- the Rekognition wire fake
FAKE_PORT_FILE="$WORK/rekognition.port"
FAKE_COUNT_FILE="$WORK/rekognition.count"
"$PY" - "$FAKE_PORT_FILE" "$FAKE_COUNT_FILE" >"$WORK/rekognition.log" 2>&1 <<'PY' &
import base64, http.server, json, struct, sys, threading
port_file, count_file = sys.argv[1:3]
lock, count = threading.Lock(), [0]
def answer(handler, status, body):
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/x-amz-json-1.1")
    handler.send_header("x-amzn-RequestId", "00000000-0000-4000-8000-00000000e2e0")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
class Rekognition(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with lock:
            count[0] += 1
            open(count_file, "w").write(str(count[0]))
        if self.headers.get("X-Amz-Target") != "RekognitionService.DetectModerationLabels":
            return answer(self, 400, {"__type": "UnknownOperationException", "Message": "unknown operation"})
        try:
            request = json.loads(body)
            image = base64.b64decode(request["Image"]["Bytes"])
        except (ValueError, KeyError, TypeError):
            return answer(self, 400, {"__type": "InvalidParameterException", "Message": "Request has invalid parameters"})
        if image[:8] != b"\x89PNG\r\n\x1a\n" and image[:3] != b"\xff\xd8\xff":
            return answer(self, 400, {"__type": "InvalidImageFormatException", "Message": "Request has unsupported image format"})
        labels = []
        if image[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">I", image[16:20])[0] == 3:
            labels = [{"Confidence": 99.1, "Name": "Explicit", "ParentName": "", "TaxonomyLevel": 1},
                      {"Confidence": 98.7, "Name": "Explicit Nudity", "ParentName": "Explicit", "TaxonomyLevel": 2}]
        minimum = request.get("MinConfidence", 50)
        answer(self, 200, {"ModerationLabels": [l for l in labels if l["Confidence"] >= minimum],
                           "ModerationModelVersion": "7.0", "ContentTypes": []})
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Rekognition)
open(count_file, "w").write("0")
open(port_file, "w").write(str(server.server_address[1]))
server.serve_forever()
PY
FAKE_PID=$!
for _ in $(seq 1 50); do [ -s "$FAKE_PORT_FILE" ] && break; sleep 0.1; done
[ -s "$FAKE_PORT_FILE" ] || { fail "Rekognition fake starts" "$(cat "$WORK/rekognition.log")"; finish; }
rek_count() { cat "$FAKE_COUNT_FILE" 2>/dev/null || echo "?"; }

lambda_watch_start "$(moto_free_port)" "$WORK/watch.log" \
    AWS_ENDPOINT_URL_S3="$MOTO_ENDPOINT" AWS_ENDPOINT_URL_REKOGNITION="http://127.0.0.1:$(cat "$FAKE_PORT_FILE")" \
    SECURE_IVR_SCAN_BUCKET="$BUCKET" SECURE_IVR_SCAN_KEY_PREFIX="$PREFIX" AWS_LAMBDA_LOG_LEVEL=DEBUG

invoke() { lambda_invoke "$1" 2>>"$WORK/invoke.err"; }
status_of() { "$PY" -c 'import json,sys; print(json.loads(sys.stdin.read() or "{}").get("Status", "<absent>"))'; }

# The first invoke waits for the build; retry until the emulator is listening.
RESP="$(lambda_wait "$WORK/approved-png.json" "${E2E_BUILD_TIMEOUT:-900}" 2>>"$WORK/invoke.err")" || RESP=""
echo "approved-png: $RESP (Rekognition requests: $(rek_count))"
if [ "$(printf '%s' "$RESP" | status_of)" = APPROVED ] && [ "$(rek_count)" = 1 ]; then
    pass "a PNG is APPROVED after one DetectModerationLabels call"
else
    fail "a PNG is APPROVED after one DetectModerationLabels call" "see $WORK/watch.log"
    tail -n 40 "$WORK/watch.log" "$WORK/invoke.err" 2>/dev/null
fi

check() { # name event-file expected-status expected-rekognition-count
    local resp
    resp="$(invoke "$WORK/$2.json")"
    echo "$2: $resp (Rekognition requests: $(rek_count))"
    if [ "$(printf '%s' "$resp" | status_of)" = "$3" ] && [ "$(rek_count)" = "$4" ]; then
        pass "$1"
    else
        fail "$1" "got '$resp', Rekognition requests $(rek_count), want $3 and $4"
    fi
}
check "a text file is APPROVED, without Rekognition" approved-text APPROVED 1
check "an ELF executable named .png is REJECTED, without Rekognition" elf-named-png REJECTED 1
check "a PNG Rekognition labels Explicit (99%) is REJECTED" explicit-png REJECTED 2
check "an event naming another bucket is REJECTED, nothing read" other-bucket REJECTED 2
check "a key outside the prefix is REJECTED, nothing read" outside-prefix REJECTED 2

# What the logs may hold: reasons and a hash of the name, never the name or the content.
if grep -q -e "$SECRET_NAME" -e "$CONTENT_MARKER" "$WORK/watch.log"; then
    fail "no file name and no file content in the function's logs (DEBUG)"
else
    pass "no file name and no file content in the function's logs (DEBUG)"
fi
if grep '"CloudWatchMetrics"' "$WORK/watch.log" | grep -qi reject; then
    pass "EMF metric lines for the rejections"
else
    fail "EMF metric lines for the rejections"
fi

lambda_watch_stop
finish
