#!/usr/bin/env bash
# Lint every CloudFormation template in cloudformation/ with cfn-lint and checkov, both pinned
# in a venv of their own (<repo>/.venv-templates, from tests/requirements-templates.txt; kept
# apart from .venv because checkov's boto3/networkx pins conflict with moto's).
#
#   scripts/check-templates.sh            # every template
#   scripts/check-templates.sh FILE...    # just these
#
# One check = one tool on one template. A check passes when cfn-lint prints nothing, and when
# checkov parses the template and reports 0 failed (skips must be justified in the template's
# Metadata). Last line: "N passed, N failed"; exit 1 on any failure.
# Set PYTHON to choose the interpreter for the venv.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo/.venv-templates"
req="$repo/tests/requirements-templates.txt"

log() { printf 'check-templates: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; echo "0 passed, 1 failed"; exit 1; }

# --- the pinned venv ------------------------------------------------------------------------
bash "$repo/scripts/setup-python.sh" "$venv" "$req" || die "could not set up $venv"
log "$("$venv/bin/cfn-lint" --version 2>&1 | head -1), checkov $("$venv/bin/checkov" --version 2>&1 | tail -1)"

# --- the templates ---------------------------------------------------------------------------
templates=()
if [[ $# -gt 0 ]]; then
    templates=("$@")
else
    shopt -s nullglob
    templates=("$repo"/cloudformation/*.yaml "$repo"/cloudformation/*.yml "$repo"/cloudformation/*.json)
    shopt -u nullglob
fi
[[ ${#templates[@]} -gt 0 ]] || die "no templates in $repo/cloudformation"

passed=0 failed=0
ok() { passed=$((passed + 1)); printf 'ok   %s\n' "$*"; }
fail() { failed=$((failed + 1)); printf 'FAIL %s\n' "$*"; }

for template in "${templates[@]}"; do
    name="${template#"$repo"/}"
    if [[ ! -f "$template" ]]; then
        fail "cfn-lint $name: no such file"
        fail "checkov $name: no such file"
        continue
    fi

    set +e
    out=$("$venv/bin/cfn-lint" -- "$template" 2>&1)
    rc=$?
    set -e
    if [[ $rc -eq 0 && -z "$out" ]]; then
        ok "cfn-lint $name"
    else
        fail "cfn-lint $name (exit $rc)"
        printf '%s\n' "$out" | sed 's/^/    /'
    fi

    # --skip-download: no network (the platform host is unreachable and only adds guidelines).
    set +e
    out=$("$venv/bin/checkov" -f "$template" --framework cloudformation --skip-download --compact 2>&1)
    rc=$?
    set -e
    summary=$(grep -E 'Passed checks: [0-9]+, Failed checks: [0-9]+' <<<"$out" | tail -1 || true)
    # checkov prints no summary either when it could not parse the template or when none of its
    # checks covers the template's resource types (AWS::Connect::*, secure-ivr-flows.yaml). Its
    # JSON report tells the two apart: only "parsed with 0 parsing errors and 0 failed" passes.
    if [[ $rc -eq 0 && -z "$summary" ]]; then
        set +e
        parsed=$("$venv/bin/checkov" -f "$template" --framework cloudformation --skip-download --compact -o json 2>/dev/null |
            "$venv/bin/python" -c 'import json, sys
d = json.load(sys.stdin)
s = (d.get("summary", d) if isinstance(d, dict) else {})
print("yes" if s.get("parsing_errors") == 0 and s.get("failed") == 0 else "no")')
        set -e
        [[ "$parsed" == yes ]] && summary="Failed checks: 0, parsed: no checkov check covers its resource types"
    fi
    # No summary means checkov did not parse the template: that is a failure, not a pass; so is
    # a summary that counts parsing errors.
    if [[ $rc -eq 0 && "$summary" == *"Failed checks: 0,"* && ! "$summary" =~ Parsing\ errors:\ [1-9] ]]; then
        ok "checkov $name ($summary)"
    else
        fail "checkov $name (exit $rc${summary:+, $summary})"
        # Each failed check as "CKV_ID: title -> resource", else checkov's own last words.
        details=$(awk '/^Check: /{check=$0} /FAILED for resource/{sub(/^[ \t]*FAILED for resource: /, ""); print check " -> " $0}' <<<"$out")
        printf '%s\n' "${details:-$(tail -5 <<<"$out")}" | sed 's/^/    /'
    fi
done

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
