#!/usr/bin/env bash
# The shipped contact flows through `secure-ivr flow-audit --file` (the rules of the connect-flows
# crate, the one implementation of them), as a user checks a flow before importing it:
# - every flow in flows/ passes the security and contract rules as a template, exit 0: the ones
#   with a Store customer input block with their placeholders where `secure-ivr flow` fills them,
#   the ones that hand the capture on (self-service, agent-assisted, the quick connect's transfer
#   flow) with theirs where the flows template fills them;
# - the same file read as a rendered flow is refused (exit 9), for its placeholders only;
# - the card capture flow rendered by `secure-ivr flow` with a throwaway key passes as rendered;
# - a copy with logging turned on between the capture and the Lambda is refused (exit 9), and so
#   is an agent-assisted flow that runs the capture without holding the agent; each finding names
#   the rule and the action.
# crates/lambda/tests/flow_contract.rs runs the real handler on what every Lambda block sends.
# No AWS call is made. Prints one line per check and "N passed, N failed" last.
#
#   tests/flows/check-flows.sh SECURE_IVR_BINARY
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root" || exit 1
bin="${1:?usage: tests/flows/check-flows.sh SECURE_IVR_BINARY}"
if [[ ! -x "$bin" ]]; then
    echo "FAIL $bin is not an executable"
    echo "0 passed, 1 failed"
    exit 1
fi

passed=0 failed=0
pass() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1${2:+: $2}"; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
log="$tmp/out"
# expect CODE DESCRIPTION COMMAND...: the command exits CODE; its output is left in $log.
expect() {
    local want="$1" what="$2" got
    shift 2
    "$@" >"$log" 2>&1
    got=$?
    if [[ "$got" == "$want" ]]; then
        pass "$what"
    else
        fail "$what" "exit $got, expected $want: $(tail -n 5 "$log")"
    fi
}

mapfile -t capture_flows < <(grep -l '"GetParticipantInput"' flows/*.json)
for must in secure-ivr-capture-module secure-ivr-card-capture secure-ivr-card-payment; do
    if printf '%s\n' "${capture_flows[@]}" | grep -qx "flows/$must.json"; then
        pass "flows/$must.json captures input"
    else
        fail "flows/$must.json captures input" "capturing flows: ${capture_flows[*]:-none}"
    fi
done
for flow in flows/*.json; do
    expect 0 "$flow passes the flow rules as a template" "$bin" flow-audit --file "$flow"
    expect 9 "$flow read as rendered is refused" "$bin" flow-audit --file "$flow" --rendered
    if grep -q '^FINDING' "$log" && ! grep '^FINDING' "$log" | grep -qv 'no-placeholders-left'; then
        pass "$flow read as rendered: placeholder findings only"
    else
        fail "$flow read as rendered: placeholder findings only" "$(grep '^FINDING' "$log" | head -n 3)"
    fi
done

# Rendered as deployed, with a throwaway key (keygen --no-store touches no AWS; the key ID is one
# Connect would have given it on association).
card=flows/secure-ivr-card-capture.json
key_id=0f1e2d3c-4b5a-4697-8877-665544332211
if "$bin" keygen --no-store --bits 2048 --private-key-out "$tmp/key.pem" --out-dir "$tmp/pub" >"$log" 2>&1; then
    cert="$(find "$tmp/pub" -name '*.cert.pem' | head -n 1)"
    expect 0 "$card rendered by secure-ivr flow" "$bin" flow --template "$card" --key-id "$key_id" \
        --certificate "$cert" --lambda-arn arn:aws:lambda:us-east-1:111122223333:function:secure-ivr-decrypt \
        --out "$tmp/rendered.json"
    expect 0 "$card rendered passes as a rendered flow" "$bin" flow-audit --file "$tmp/rendered.json" --rendered
else
    fail "a throwaway key to render with" "$(tail -n 5 "$log")"
fi

# A broken copy: logging turned on between the capture and its Lambda.
python3 - "$card" "$tmp/leaky.json" <<'PY'
import json
import sys

d = json.load(open(sys.argv[1]))
cap = next(a for a in d["Actions"] if a["Type"] == "GetParticipantInput")
d["Actions"].append({"Identifier": "leaky-logging-on", "Type": "UpdateFlowLoggingBehavior",
                     "Parameters": {"FlowLoggingBehavior": "Enabled"},
                     "Transitions": {"NextAction": cap["Transitions"]["NextAction"], "Errors": [], "Conditions": []}})
cap["Transitions"]["NextAction"] = "leaky-logging-on"
json.dump(d, open(sys.argv[2], "w"))
PY
expect 9 "logging on between capture and Lambda is refused" "$bin" flow-audit --file "$tmp/leaky.json"
if grep -q '^FINDING  no-logging-between-capture-and-lambda' "$log" && grep -q 'leaky-logging-on' "$log"; then
    pass "the finding names the rule and the action"
else
    fail "the finding names the rule and the action" "$(grep '^FINDING' "$log" | head -n 3)"
fi

# The agent-assisted flow with its hold dropped: the caller keys in while the agent listens.
python3 - flows/secure-ivr-agent-assisted.json "$tmp/unheld.json" <<'PY'
import json
import sys

d = json.load(open(sys.argv[1]))
hold = next(a for a in d["Actions"] if a["Type"] == "UpdatePreviousContactParticipantState")
for a in d["Actions"]:
    t = a.get("Transitions") or {}
    for item in [t] + (t.get("Conditions") or []) + (t.get("Errors") or []):
        if item.get("NextAction") == hold["Identifier"]:
            item["NextAction"] = hold["Transitions"]["NextAction"]
d["Actions"].remove(hold)
json.dump(d, open(sys.argv[2], "w"))
PY
expect 9 "agent-assisted capture without the agent on hold is refused" "$bin" flow-audit --file "$tmp/unheld.json"
if grep -q '^FINDING  agent-on-hold-during-capture' "$log"; then
    pass "the finding names the hold rule"
else
    fail "the finding names the hold rule" "$(grep '^FINDING' "$log" | head -n 3)"
fi

echo "$passed passed, $failed failed"
[[ "$failed" == 0 ]]
