#!/usr/bin/env python3
"""Integrity checks for Amazon Connect contact flows (flow language JSON) used with Secure IVR.

    python3 tests/flows/check_flow.py [--rendered] FLOW.json...
    python3 tests/flows/check_flow.py --self-test [FLOW.json]

Per flow: the documented shape (Version, StartAction, Actions with Identifier/Type/Parameters/
Transitions), every transition target exists, no action unreachable from StartAction, every
retry cycle bounded by a Loop block, flow logging disabled on every path into a capture block,
no logging-enable block between a capture block and the Lambda that receives its
$.StoredCustomerInput, logging restored on every exit, the recording blocks (the current
UpdateContactRecordingAndAnalyticsBehavior or the legacy UpdateContactRecordingBehavior) in
their documented shape, recording off on every path into a capture block and up to its Lambda,
recording resumed (after the Lambda) on every path to an agent, the Lambda contract (parameters
the Lambda reads, $.External keys it returns, all four Status branches), and the placeholders
that `secure-ivr flow` fills (--rendered: that none remain).

One line per check, then "N passed, N failed"; exit 1 on any failure. Standard library only.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from collections import deque
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_FLOW = REPO / "flows" / "secure-ivr-card-capture.json"

VERSION = "2019-10-30"
PLACEHOLDERS = ("{{KEY_ID}}", "{{CERTIFICATE}}", "{{LAMBDA_ARN}}")
# Flow language: identifiers are at most 50 characters, without these.
IDENTIFIER_FORBIDDEN = set("%:(\\/)=$,;[]{}")
STORED_INPUT = "$.StoredCustomerInput"
STATUSES = ("Success", "Invalid", "NoInput", "Error")
# Declarations the Lambda accepts in <Name>Type (crates/caller-input, ValueType::parse).
VALUE_TYPES = {"card", "pan", "creditcard", "expiry", "exp", "expiration", "cvv", "cvc",
               "securitycode", "digits", "number"}
# Response keys the Lambda returns (crates/caller-input `response_fields`, crates/lambda handler).
FALLBACK_RESPONSE_KEYS = {"Status", "ErrorCode", "Values", "Type", "Length", "Valid", "Masked",
                          "Last4", "Digits", "Brand", "Luhn", "MonthValid", "Expired", "YearValid",
                          "LengthValid",
                          # With a payment connector (issue 13, crates/lambda/src/payment.rs).
                          "PaymentStatus", "PaymentId", "PaymentToken", "DeclineCode", "PaymentErrorKind",
                          "PaymentParameter"}
TERMINAL_TYPES = {"DisconnectParticipant", "TransferContactToQueue", "TransferContactToAgent",
                  "TransferToFlow", "EndFlowExecution", "EndFlowModuleExecution"}
# Blocks that hand the contact to an agent: agent recording should be back on before them.
AGENT_TYPES = {"TransferContactToQueue", "TransferContactToAgent", "DequeueContactAndTransferToQueue"}

# Recording blocks, from the Amazon Connect Flow language reference
# (docs.aws.amazon.com/connect/latest/APIReference/contact-actions-updatecontactrecordingandanalyticsbehavior.html
# and .../contact-actions-updatecontactrecordingbehavior.html). Current: one channel object
# (VoiceBehavior or ChatBehavior), optionally ScreenRecordingBehavior; NoMatchingError and
# ChannelMismatch "must always be defined". Legacy: RecordingBehavior (+ AnalyticsBehavior).
RECORDING_CURRENT = "UpdateContactRecordingAndAnalyticsBehavior"
RECORDING_LEGACY = "UpdateContactRecordingBehavior"
PARTICIPANTS = {"Agent", "Customer"}


def response_keys() -> tuple[set[str], str]:
    """The keys the Lambda can return. This is a quick structural check; the authoritative one is
    crates/lambda/tests/flow_contract.rs, which runs the real handler on what each flow block sends."""
    return set(FALLBACK_RESPONSE_KEYS), "built-in list (contract: crates/lambda/tests/flow_contract.rs)"


# ----------------------------------------------------------------------------- graph helpers

def successors(action: dict) -> list[str]:
    """Every NextAction of an action: default, conditions, errors (empty strings ignored)."""
    t = action.get("Transitions")
    if not isinstance(t, dict):
        return []
    out = []
    if isinstance(t.get("NextAction"), str) and t["NextAction"]:
        out.append(t["NextAction"])
    for key in ("Conditions", "Errors"):
        for item in t.get(key) or []:
            if isinstance(item, dict) and isinstance(item.get("NextAction"), str) and item["NextAction"]:
                out.append(item["NextAction"])
    return out


def is_capture(action: dict) -> bool:
    p = action.get("Parameters") or {}
    return action.get("Type") == "GetParticipantInput" and (
        str(p.get("StoreInput", "")).lower() == "true" or "InputEncryption" in p)


def sends_stored_input(action: dict) -> bool:
    attrs = (action.get("Parameters") or {}).get("LambdaInvocationAttributes") or {}
    return action.get("Type") == "InvokeLambdaFunction" and STORED_INPUT in attrs.values()


def voice_recording(action: dict) -> dict | None:
    """The voice recording settings a recording block sets (either action), else None."""
    p = action.get("Parameters") or {}
    if action.get("Type") == RECORDING_CURRENT:
        voice = p.get("VoiceBehavior")
        rec = voice.get("VoiceRecordingBehavior") if isinstance(voice, dict) else None
    elif action.get("Type") == RECORDING_LEGACY:
        rec = p.get("RecordingBehavior")
    else:
        return None
    return rec if isinstance(rec, dict) else None


def recording_set(action: dict) -> str | None:
    """'Disabled' when a block turns every voice recording off (no participant recorded, IVR
    recording disabled), 'Enabled' when it sets anything else, None when it sets no voice
    recording (another block type, or a chat or screen-recording-only block)."""
    rec = voice_recording(action)
    if rec is None:
        return None
    off = rec.get("RecordedParticipants") == [] and rec.get("IVRRecordingBehavior") == "Disabled"
    return "Disabled" if off else "Enabled"


def edges(action: dict) -> list[tuple[str, bool]]:
    """(target, is_error) for every transition; an Errors target means the action failed."""
    t = action.get("Transitions")
    if not isinstance(t, dict):
        return []
    out = []
    if isinstance(t.get("NextAction"), str) and t["NextAction"]:
        out.append((t["NextAction"], False))
    for key in ("Conditions", "Errors"):
        for item in t.get(key) or []:
            if isinstance(item, dict) and isinstance(item.get("NextAction"), str) and item["NextAction"]:
                out.append((item["NextAction"], key == "Errors"))
    return out


def logging_set(action: dict) -> str | None:
    """'Enabled'/'Disabled' for a Set logging behavior block, else None."""
    if action.get("Type") != "UpdateFlowLoggingBehavior":
        return None
    return (action.get("Parameters") or {}).get("FlowLoggingBehavior")


def strings_in(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings_in(v)


def path_to(parents: dict, node) -> str:
    steps = []
    while node is not None:
        steps.append(node[0] if isinstance(node, tuple) else node)
        node = parents.get(node)
    return " -> ".join(reversed(steps))


# ----------------------------------------------------------------------------- the checks

class Flow:
    def __init__(self, doc):
        self.doc = doc
        actions = doc.get("Actions") if isinstance(doc, dict) else None
        self.actions = [a for a in actions if isinstance(a, dict)] if isinstance(actions, list) else []
        self.by_id = {a.get("Identifier"): a for a in self.actions if isinstance(a.get("Identifier"), str)}
        self.start = doc.get("StartAction") if isinstance(doc, dict) else None

    def reachable(self) -> set[str]:
        seen, todo = set(), deque([self.start] if self.start in self.by_id else [])
        while todo:
            n = todo.popleft()
            if n in seen:
                continue
            seen.add(n)
            todo.extend(s for s in successors(self.by_id[n]) if s in self.by_id)
        return seen


def check_shape(f: Flow) -> list[str]:
    d, problems = f.doc, []
    if not isinstance(d, dict):
        return ["the flow is not a JSON object"]
    if d.get("Version") != VERSION:
        problems.append(f"Version is {d.get('Version')!r}, expected {VERSION!r}")
    if not isinstance(d.get("StartAction"), str):
        problems.append("StartAction is missing or not a string")
    if not isinstance(d.get("Actions"), list) or not d["Actions"]:
        problems.append("Actions is missing or empty")
        return problems
    if "Metadata" in d and not isinstance(d["Metadata"], dict):
        problems.append("Metadata is not an object")
    seen = set()
    for i, a in enumerate(d["Actions"]):
        if not isinstance(a, dict):
            problems.append(f"Actions[{i}] is not an object")
            continue
        ident = a.get("Identifier")
        where = f"Actions[{i}] ({ident})" if isinstance(ident, str) else f"Actions[{i}]"
        for field, kind in (("Identifier", str), ("Type", str), ("Parameters", dict), ("Transitions", dict)):
            if not isinstance(a.get(field), kind):
                problems.append(f"{where}: {field} missing or not a {kind.__name__}")
        if isinstance(ident, str):
            if ident in seen:
                problems.append(f"{where}: duplicate Identifier")
            seen.add(ident)
            if not 1 <= len(ident) <= 50 or set(ident) & IDENTIFIER_FORBIDDEN:
                problems.append(f"{where}: Identifier must be 1-50 characters without {''.join(sorted(IDENTIFIER_FORBIDDEN))}")
    return problems


def check_start(f: Flow) -> list[str]:
    return [] if f.start in f.by_id else [f"StartAction {f.start!r} names no action"]


def check_targets(f: Flow) -> list[str]:
    problems = []
    for a in f.actions:
        t = a.get("Transitions") or {}
        if "NextAction" in t and not isinstance(t["NextAction"], str):
            problems.append(f"{a.get('Identifier')}: NextAction is not a string")
        for key in ("Conditions", "Errors"):
            if key in t and not isinstance(t[key], list):
                problems.append(f"{a.get('Identifier')}: Transitions.{key} is not a list")
        for target in successors(a):
            if target not in f.by_id:
                problems.append(f"{a.get('Identifier')} -> {target!r}: no such action")
    return problems


def check_reachable(f: Flow) -> list[str]:
    orphans = sorted(set(f.by_id) - f.reachable())
    return [f"unreachable from StartAction: {', '.join(orphans)}"] if orphans else []


def check_bounded_loops(f: Flow) -> list[str]:
    """Every cycle passes through a Loop block (so retries are bounded)."""
    graph = {n: [s for s in successors(a) if s in f.by_id and f.by_id[s].get("Type") != "Loop"]
             for n, a in f.by_id.items() if a.get("Type") != "Loop"}
    state, problems = {}, []

    def visit(n, stack):
        state[n] = 1
        stack.append(n)
        for s in graph.get(n, []):
            if state.get(s) == 1:
                problems.append("cycle without a Loop block: " + " -> ".join(stack[stack.index(s):] + [s]))
            elif s not in state:
                visit(s, stack)
        stack.pop()
        state[n] = 2

    for n in graph:
        if n not in state:
            visit(n, [])
    return problems


def logging_states(f: Flow):
    """Breadth-first over (action, logging state on entry); logging is assumed on at the start
    (an instance can have flow logs enabled). Returns the visited states and their parents."""
    start = (f.start, "Enabled")
    parents, seen, todo = {start: None}, {start}, deque([start])
    while todo:
        node = todo.popleft()
        action = f.by_id[node[0]]
        after = logging_set(action) or node[1]
        for s in successors(action):
            nxt = (s, after)
            if s in f.by_id and nxt not in seen:
                seen.add(nxt)
                parents[nxt] = node
                todo.append(nxt)
    return seen, parents


def check_logging_off_before_capture(f: Flow) -> list[str]:
    if f.start not in f.by_id:
        return ["no StartAction to walk from"]
    seen, parents = logging_states(f)
    captures = [n for n, a in f.by_id.items() if is_capture(a)]
    if not captures:
        return ["no capture block (GetParticipantInput with StoreInput/InputEncryption)"]
    return [f"{n} is reached with flow logging on: {path_to(parents, (n, state))}"
            for n, state in sorted(seen) if n in captures and state != "Disabled"]


def check_no_logging_between_capture_and_lambda(f: Flow) -> list[str]:
    problems = []
    lambdas = [n for n, a in f.by_id.items() if sends_stored_input(a)]
    if not lambdas:
        return [f"no InvokeLambdaFunction sends {STORED_INPUT}"]
    for cap in (n for n, a in f.by_id.items() if is_capture(a)):
        start = (cap, False)
        parents, seen, todo = {start: None}, {start}, deque([start])
        while todo:
            node = todo.popleft()
            for s in successors(f.by_id[node[0]]):
                if s not in f.by_id:
                    continue
                a = f.by_id[s]
                enabled = node[1] or logging_set(a) == "Enabled"
                if sends_stored_input(a) and enabled:
                    problems.append(f"logging is enabled between {cap} and {s}: {path_to(parents, node)} -> {s}")
                    continue
                # Another capture replaces $.StoredCustomerInput: this capture's value ends there.
                if is_capture(a):
                    continue
                nxt = (s, enabled)
                if nxt not in seen:
                    seen.add(nxt)
                    parents[nxt] = node
                    todo.append(nxt)
    return problems


def check_logging_restored(f: Flow) -> list[str]:
    if f.start not in f.by_id:
        return ["no StartAction to walk from"]
    seen, parents = logging_states(f)
    problems = []
    for n, state in sorted(seen):
        a = f.by_id[n]
        ends = a.get("Type") in TERMINAL_TYPES or not successors(a)
        after = logging_set(a) or state
        if ends and after != "Enabled":
            problems.append(f"{n} ends the flow with logging off: {path_to(parents, (n, state))}")
    return problems


def check_recording_actions(f: Flow) -> list[str]:
    """Each recording block in its action's documented shape (a Type switched without its
    Parameters is the likely mistake), with the errors the reference says must be defined."""
    problems = []

    def settings(where: str, rec) -> None:
        if not isinstance(rec, dict):
            problems.append(f"{where} is not an object")
            return
        parts = rec.get("RecordedParticipants")
        if not isinstance(parts, list) or any(p not in PARTICIPANTS for p in parts) or len(set(parts)) != len(parts):
            problems.append(f"{where}.RecordedParticipants must be a list of Agent and/or Customer (empty: off), not {parts!r}")
        if "IVRRecordingBehavior" in rec and rec["IVRRecordingBehavior"] not in ("Enabled", "Disabled"):
            problems.append(f"{where}.IVRRecordingBehavior must be Enabled or Disabled, not {rec['IVRRecordingBehavior']!r}")

    for n, a in f.by_id.items():
        kind, p = a.get("Type"), a.get("Parameters") or {}
        if kind == RECORDING_CURRENT:
            unknown = sorted(set(p) - {"ChatBehavior", "VoiceBehavior", "ScreenRecordingBehavior"})
            if unknown:
                problems.append(f"{n}: {RECORDING_CURRENT} has no parameter {', '.join(unknown)} "
                                f"(RecordingBehavior/AnalyticsBehavior belong to {RECORDING_LEGACY}; use VoiceBehavior)")
            channels = [c for c in ("ChatBehavior", "VoiceBehavior") if c in p]
            if len(channels) > 1:
                problems.append(f"{n}: only one of ChatBehavior and VoiceBehavior may be set")
            if not channels and "ScreenRecordingBehavior" not in p:
                problems.append(f"{n}: sets nothing (no VoiceBehavior, ChatBehavior or ScreenRecordingBehavior)")
            voice = p.get("VoiceBehavior")
            if "VoiceBehavior" in p:
                if not isinstance(voice, dict) or not voice or set(voice) - {"VoiceRecordingBehavior", "VoiceAnalyticsBehavior"}:
                    problems.append(f"{n}: VoiceBehavior holds VoiceRecordingBehavior and/or VoiceAnalyticsBehavior only")
                elif "VoiceRecordingBehavior" in voice:
                    rec = voice["VoiceRecordingBehavior"]
                    if isinstance(rec, dict) and set(rec) - {"RecordedParticipants", "IVRRecordingBehavior"}:
                        problems.append(f"{n}: VoiceRecordingBehavior holds RecordedParticipants and IVRRecordingBehavior only")
                    settings(f"{n}: VoiceBehavior.VoiceRecordingBehavior", rec)
            if "ScreenRecordingBehavior" in p:
                screen = p["ScreenRecordingBehavior"]
                parts = screen.get("ScreenRecordedParticipants") if isinstance(screen, dict) else None
                if not isinstance(parts, list) or set(screen) != {"ScreenRecordedParticipants"} or set(parts) - {"Agent"}:
                    problems.append(f"{n}: ScreenRecordingBehavior holds ScreenRecordedParticipants only, "
                                    f"a list that can only include Agent, not {screen!r}")
            required = {"NoMatchingError", "ChannelMismatch"} | (
                {"InFlightRedactionConfigurationFailed"} if "ChatBehavior" in p else set())
            declared = {e.get("ErrorType") for e in (a.get("Transitions") or {}).get("Errors") or [] if isinstance(e, dict)}
            missing = sorted(required - declared)
            if missing:
                problems.append(f"{n}: {RECORDING_CURRENT} must define the error(s) {', '.join(missing)}")
        elif kind == RECORDING_LEGACY:
            unknown = sorted(set(p) - {"RecordingBehavior", "AnalyticsBehavior"})
            if unknown:
                problems.append(f"{n}: {RECORDING_LEGACY} has no parameter {', '.join(unknown)} "
                                f"(VoiceBehavior belongs to {RECORDING_CURRENT})")
            if "RecordingBehavior" not in p:
                problems.append(f"{n}: {RECORDING_LEGACY} without RecordingBehavior")
            else:
                rec = p["RecordingBehavior"]
                if isinstance(rec, dict) and set(rec) - {"RecordedParticipants", "ScreenRecordedParticipants", "IVRRecordingBehavior"}:
                    problems.append(f"{n}: RecordingBehavior holds RecordedParticipants, ScreenRecordedParticipants "
                                    "and IVRRecordingBehavior only")
                settings(f"{n}: RecordingBehavior", rec)
    return problems


def recording_states(f: Flow, intended: bool):
    """Breadth-first over (action, recording state on entry); recording is assumed on at the
    start (the instance or an earlier flow may record). A recording block's error transitions
    carry the state it failed to change, unless `intended` (what the flow meant to set)."""
    start = (f.start, "Enabled")
    parents, seen, todo = {start: None}, {start}, deque([start])
    while todo:
        node = todo.popleft()
        action = f.by_id[node[0]]
        for s, failed in edges(action):
            after = node[1] if failed and not intended else (recording_set(action) or node[1])
            nxt = (s, after)
            if s in f.by_id and nxt not in seen:
                seen.add(nxt)
                parents[nxt] = node
                todo.append(nxt)
    return seen, parents


def check_recording_off_before_capture(f: Flow) -> list[str]:
    if f.start not in f.by_id:
        return ["no StartAction to walk from"]
    seen, parents = recording_states(f, intended=False)
    captures = {n for n, a in f.by_id.items() if is_capture(a)}
    if not captures:
        return ["no capture block (GetParticipantInput with StoreInput/InputEncryption)"]
    return [f"{n} is reached with recording on: {path_to(parents, (n, state))}"
            for n, state in sorted(seen) if n in captures and state != "Disabled"]


def check_no_recording_between_capture_and_lambda(f: Flow) -> list[str]:
    """No block turns recording on between a capture and the Lambda that receives its value."""
    problems = []
    for cap in (n for n, a in f.by_id.items() if is_capture(a)):
        start = (cap, False)
        parents, seen, todo = {start: None}, {start}, deque([start])
        while todo:
            node = todo.popleft()
            for s in successors(f.by_id[node[0]]):
                if s not in f.by_id:
                    continue
                a = f.by_id[s]
                if sends_stored_input(a):
                    if node[1]:
                        problems.append(f"recording is turned on between {cap} and {s}: {path_to(parents, node)} -> {s}")
                    continue
                if is_capture(a):
                    continue
                nxt = (s, node[1] or recording_set(a) == "Enabled")
                if nxt not in seen:
                    seen.add(nxt)
                    parents[nxt] = node
                    todo.append(nxt)
    return problems


def check_recording_resumed_for_agent(f: Flow) -> list[str]:
    """Every block that hands the contact to an agent is reached with recording (meant to be)
    back on: the caller's conversation with the agent is recorded as it would be without us."""
    if f.start not in f.by_id:
        return ["no StartAction to walk from"]
    seen, parents = recording_states(f, intended=True)
    return [f"{n} hands the contact to an agent with recording still off: {path_to(parents, (n, state))}"
            for n, state in sorted(seen) if f.by_id[n].get("Type") in AGENT_TYPES and state != "Enabled"]


def check_lambda_contract(f: Flow) -> list[str]:
    problems = []
    for n, a in f.by_id.items():
        if a.get("Type") != "InvokeLambdaFunction":
            continue
        p = a.get("Parameters") or {}
        limit = str(p.get("InvocationTimeLimitSeconds", ""))
        if not limit.isdigit() or not 1 <= int(limit) <= 8:
            problems.append(f"{n}: InvocationTimeLimitSeconds {limit!r} (Connect allows 1 to 8)")
        if (p.get("ResponseValidation") or {}).get("ResponseType") != "STRING_MAP":
            problems.append(f"{n}: ResponseValidation.ResponseType must be STRING_MAP (the Lambda returns a flat map)")
        attrs = p.get("LambdaInvocationAttributes") or {}
        for name, value in attrs.items():
            if name.endswith("Type") and name[:-4] in attrs:
                if str(value).strip().lower() not in VALUE_TYPES:
                    problems.append(f"{n}: {name}={value!r} is not a type the Lambda accepts ({', '.join(sorted(VALUE_TYPES))})")
                continue
            if value == STORED_INPUT and not (name.startswith("Encrypted") or f"{name}Type" in attrs):
                problems.append(f"{n}: {name} carries {STORED_INPUT} but the Lambda only treats it as encrypted "
                                f"if its name starts with 'Encrypted' or {name}Type is sent")
    return problems


def check_external_keys(f: Flow) -> list[str]:
    keys, _ = response_keys()
    sent = {name for a in f.actions if a.get("Type") == "InvokeLambdaFunction"
            for name in ((a.get("Parameters") or {}).get("LambdaInvocationAttributes") or {})}
    prefixed = {f"{re.sub(r'[^A-Za-z0-9-]', '_', s)}_{k}" for s in sent for k in keys}
    problems = []
    for a in f.actions:
        for text in strings_in(a.get("Parameters")):
            for key in re.findall(r"\$\.External\.([A-Za-z0-9_-]+)", text):
                if key not in keys and key not in prefixed:
                    problems.append(f"{a.get('Identifier')}: $.External.{key} is not a key the Lambda returns")
    return problems


def check_status_branches(f: Flow) -> list[str]:
    problems, compares = [], 0
    for n, a in f.by_id.items():
        if a.get("Type") != "Compare" or (a.get("Parameters") or {}).get("ComparisonValue") != "$.External.Status":
            continue
        compares += 1
        operands = set()
        for c in (a.get("Transitions") or {}).get("Conditions") or []:
            operands.update((c.get("Condition") or {}).get("Operands") or [])
        unknown = operands - set(STATUSES)
        missing = set(STATUSES) - operands
        if unknown:
            problems.append(f"{n}: compares Status with {sorted(unknown)}, which the Lambda never returns")
        if missing:
            problems.append(f"{n}: no branch for Status {', '.join(s for s in STATUSES if s in missing)}")
    if not compares:
        problems.append("no Compare on $.External.Status")
    return problems


def check_placeholders(f: Flow, rendered: bool) -> list[str]:
    text = json.dumps(f.doc)
    problems = []
    if rendered:
        left = sorted(set(re.findall(r"\{\{[^}]*\}\}", text)))
        return [f"placeholder left unfilled: {p}" for p in left]
    for p in PLACEHOLDERS:
        if p not in text:
            problems.append(f"{p} is missing")
    for p in sorted(set(re.findall(r"\{\{[^}]*\}\}", text)) - set(PLACEHOLDERS)):
        problems.append(f"{p} is not a placeholder `secure-ivr flow` fills")
    for n, a in f.by_id.items():
        p = a.get("Parameters") or {}
        if is_capture(a):
            enc = p.get("InputEncryption") or {}
            if str(p.get("StoreInput", "")).lower() != "true":
                problems.append(f"{n}: StoreInput is not True")
            if enc.get("EncryptionKeyId") != "{{KEY_ID}}" or enc.get("Key") != "{{CERTIFICATE}}":
                problems.append(f"{n}: InputEncryption must be EncryptionKeyId={{{{KEY_ID}}}}, Key={{{{CERTIFICATE}}}}")
        if a.get("Type") == "InvokeLambdaFunction" and p.get("LambdaFunctionARN") != "{{LAMBDA_ARN}}":
            problems.append(f"{n}: LambdaFunctionARN is not {{{{LAMBDA_ARN}}}}")
    return problems


def run_checks(doc, rendered: bool = False) -> list[tuple[str, list[str]]]:
    """(check name, problems) for every check; an empty list is a pass."""
    f = Flow(doc)
    shape = check_shape(f)
    results = [("shape", shape)]
    if shape and not f.by_id:
        return results + [("graph", ["skipped: no usable actions"])]
    results += [
        ("start-action", check_start(f)),
        ("transition-targets", check_targets(f)),
        ("no-orphans", check_reachable(f)),
        ("bounded-retries", check_bounded_loops(f)),
        ("logging-off-before-capture", check_logging_off_before_capture(f)),
        ("no-logging-between-capture-and-lambda", check_no_logging_between_capture_and_lambda(f)),
        ("logging-restored-on-exit", check_logging_restored(f)),
        ("recording-actions", check_recording_actions(f)),
        ("recording-off-before-capture", check_recording_off_before_capture(f)),
        ("no-recording-between-capture-and-lambda", check_no_recording_between_capture_and_lambda(f)),
        ("recording-resumed-for-agent", check_recording_resumed_for_agent(f)),
        ("lambda-parameters", check_lambda_contract(f)),
        ("external-keys", check_external_keys(f)),
        ("status-branches", check_status_branches(f)),
        ("placeholders" if not rendered else "no-placeholders-left", check_placeholders(f, rendered)),
    ]
    return results


def load(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------- self-test

def mutations(doc):
    """(description, expected failing check or None for "passes every check", mutated copy)."""
    def mutate(fn):
        d = copy.deepcopy(doc)
        fn(d)
        return d

    def actions(d):
        return {a["Identifier"]: a for a in d["Actions"]}

    def first_capture_and_lambda(d):
        f = Flow(d)
        cap = next(n for n, a in f.by_id.items() if is_capture(a))
        lam = next(s for s in successors(f.by_id[cap]) if sends_stored_input(f.by_id[s]))
        return cap, lam

    def break_transition(d):
        d["Actions"][0]["Transitions"]["NextAction"] = "no-such-action"

    def enable_logging_before_lambda(d):
        cap, lam = first_capture_and_lambda(d)
        d["Actions"].append({"Identifier": "sneaky-logging-on", "Type": "UpdateFlowLoggingBehavior",
                             "Parameters": {"FlowLoggingBehavior": "Enabled"},
                             "Transitions": {"NextAction": lam, "Errors": [], "Conditions": []}})
        actions(d)[cap]["Transitions"]["NextAction"] = "sneaky-logging-on"

    def skip_logging_off(d):
        f = Flow(d)
        first_off = next(n for n, a in f.by_id.items() if logging_set(a) == "Disabled")
        d["StartAction"] = f.by_id[first_off]["Transitions"]["NextAction"]
        d["Actions"] = [a for a in d["Actions"] if a["Identifier"] != first_off]

    def add_orphan(d):
        d["Actions"].append({"Identifier": "orphan", "Type": "DisconnectParticipant",
                             "Parameters": {}, "Transitions": {}})

    def unbounded_retry(d):
        f = Flow(d)
        cap, _ = first_capture_and_lambda(d)
        # Send an Invalid re-prompt straight back to the capture, bypassing its Loop counter.
        status = next(a for a in f.actions if a.get("Type") == "Compare"
                      and a["Parameters"].get("ComparisonValue") == "$.External.Status")
        for c in status["Transitions"]["Conditions"]:
            if c["Condition"]["Operands"] == ["Invalid"]:
                c["NextAction"] = cap

    def hardcode_key_id(d):
        cap, _ = first_capture_and_lambda(d)
        actions(d)[cap]["Parameters"]["InputEncryption"]["EncryptionKeyId"] = "1234"

    def unknown_external_key(d):
        d["Actions"].append({"Identifier": "leak", "Type": "MessageParticipant",
                             "Parameters": {"Text": "You entered $.External.CardNumber"},
                             "Transitions": {}})
        d["Actions"][0]["Transitions"].setdefault("Errors", []).append(
            {"NextAction": "leak", "ErrorType": "NoMatchingError"})

    def undeclared_parameter(d):
        _, lam = first_capture_and_lambda(d)
        attrs = actions(d)[lam]["Parameters"]["LambdaInvocationAttributes"]
        for k in [k for k, v in attrs.items() if v == STORED_INPUT]:
            attrs.pop(f"{k}Type", None)
            attrs["CardData"] = attrs.pop(k)

    def missing_status_branch(d):
        status = next(a for a in d["Actions"] if a.get("Type") == "Compare"
                      and a["Parameters"].get("ComparisonValue") == "$.External.Status")
        status["Transitions"]["Conditions"] = [c for c in status["Transitions"]["Conditions"]
                                               if c["Condition"]["Operands"] != ["NoInput"]]

    def exit_with_logging_off(d):
        for a in d["Actions"]:
            if logging_set(a) == "Enabled":
                a["Parameters"]["FlowLoggingBehavior"] = "Disabled"

    def recording_blocks(d, state):
        return [a for a in d["Actions"] if recording_set(a) == state]

    def remove(d, ident):
        """Drops an action, sending every transition into it to its NextAction."""
        gone = actions(d)[ident]
        d["Actions"].remove(gone)
        after = gone["Transitions"]["NextAction"]
        d["StartAction"] = after if d["StartAction"] == ident else d["StartAction"]
        for a in d["Actions"]:
            t = a.get("Transitions") or {}
            if t.get("NextAction") == ident:
                t["NextAction"] = after
            for item in (t.get("Conditions") or []) + (t.get("Errors") or []):
                if item.get("NextAction") == ident:
                    item["NextAction"] = after

    def recording_never_off(d):
        for a in recording_blocks(d, "Disabled"):
            remove(d, a["Identifier"])

    def recording_off_records_agent(d):
        for a in recording_blocks(d, "Disabled"):
            voice_recording(a)["RecordedParticipants"] = ["Agent", "Customer"]

    def recording_off_ivr_left_on(d):
        for a in recording_blocks(d, "Disabled"):
            voice_recording(a)["IVRRecordingBehavior"] = "Enabled"

    def recording_off_fails_open(d):
        # When turning recording off fails, the flow captures anyway.
        for a in recording_blocks(d, "Disabled"):
            for e in a["Transitions"]["Errors"]:
                e["NextAction"] = a["Transitions"]["NextAction"]

    def resumed_before_lambda(d):
        cap, lam = first_capture_and_lambda(d)
        on = copy.deepcopy(recording_blocks(d, "Enabled")[0])
        on["Identifier"] = "early-recording-on"
        on["Transitions"]["NextAction"] = lam
        for e in on["Transitions"]["Errors"]:
            e["NextAction"] = lam
        d["Actions"].append(on)
        actions(d)[cap]["Transitions"]["NextAction"] = "early-recording-on"

    def never_resumed(d):
        for a in recording_blocks(d, "Enabled"):
            remove(d, a["Identifier"])

    def current_type_legacy_parameters(d):
        a = recording_blocks(d, "Disabled")[0]
        a["Parameters"] = {"RecordingBehavior": {"RecordedParticipants": [], "IVRRecordingBehavior": "Disabled"}}

    def without_channel_mismatch(d):
        a = next(a for a in d["Actions"] if a.get("Type") == RECORDING_CURRENT)
        a["Transitions"]["Errors"] = [e for e in a["Transitions"]["Errors"] if e["ErrorType"] != "ChannelMismatch"]

    def unknown_participant(d):
        a = recording_blocks(d, "Enabled")[0]
        voice_recording(a)["RecordedParticipants"] = ["Agent", "Supervisor"]

    def to_legacy_action(d):
        # The legacy action, in its own documented shape, is as good as the current one.
        for a in d["Actions"]:
            if a.get("Type") == RECORDING_CURRENT:
                rec = voice_recording(a)
                a["Type"] = RECORDING_LEGACY
                a["Parameters"] = {"RecordingBehavior": rec}
                a["Transitions"]["Errors"] = [e for e in a["Transitions"]["Errors"] if e["ErrorType"] == "NoMatchingError"]

    def screen_recording_customer(d):
        with_screen_recording_off(d)
        recording_blocks(d, "Disabled")[0]["Parameters"]["ScreenRecordingBehavior"]["ScreenRecordedParticipants"] = ["Customer"]

    def with_screen_recording_off(d):
        # ScreenRecordingBehavior may sit beside a channel object (the reference's third object).
        for a in recording_blocks(d, "Disabled"):
            a["Parameters"]["ScreenRecordingBehavior"] = {"ScreenRecordedParticipants": []}

    return [
        ("broken transition", "transition-targets", mutate(break_transition)),
        ("logging enabled between capture and Lambda", "no-logging-between-capture-and-lambda",
         mutate(enable_logging_before_lambda)),
        ("logging never disabled before capture", "logging-off-before-capture", mutate(skip_logging_off)),
        ("orphan action", "no-orphans", mutate(add_orphan)),
        ("re-prompt without a Loop counter", "bounded-retries", mutate(unbounded_retry)),
        ("key ID hard-coded instead of {{KEY_ID}}", "placeholders", mutate(hardcode_key_id)),
        ("reads $.External.CardNumber", "external-keys", mutate(unknown_external_key)),
        ("ciphertext sent under an undeclared name", "lambda-parameters", mutate(undeclared_parameter)),
        ("no NoInput branch", "status-branches", mutate(missing_status_branch)),
        ("logging never turned back on", "logging-restored-on-exit", mutate(exit_with_logging_off)),
        ("recording left on (no recording-off block)", "recording-off-before-capture", mutate(recording_never_off)),
        ("recording-off still records agent and customer", "recording-off-before-capture",
         mutate(recording_off_records_agent)),
        ("recording-off leaves IVR recording on", "recording-off-before-capture", mutate(recording_off_ivr_left_on)),
        ("recording-off failure goes on to the capture", "recording-off-before-capture",
         mutate(recording_off_fails_open)),
        ("recording resumed before the Lambda", "no-recording-between-capture-and-lambda",
         mutate(resumed_before_lambda)),
        ("recording never resumed for the agent", "recording-resumed-for-agent", mutate(never_resumed)),
        (f"{RECORDING_CURRENT} with the legacy RecordingBehavior parameters", "recording-actions",
         mutate(current_type_legacy_parameters)),
        (f"{RECORDING_CURRENT} without the ChannelMismatch error", "recording-actions",
         mutate(without_channel_mismatch)),
        ("recording a participant Connect does not know", "recording-actions", mutate(unknown_participant)),
        (f"legacy {RECORDING_LEGACY} used correctly", None, mutate(to_legacy_action)),
        (f"{RECORDING_CURRENT} also stopping agent screen recording", None, mutate(with_screen_recording_off)),
        ("screen recording of the customer", "recording-actions", mutate(screen_recording_customer)),
    ]


def self_test(path: Path) -> int:
    passed = failed = 0
    doc = load(path)
    baseline = [name for name, problems in run_checks(doc) if problems]
    if baseline:
        failed += 1
        print(f"FAIL self-test: the unmodified flow fails {', '.join(baseline)}")
    else:
        passed += 1
        print("ok   self-test: the unmodified flow passes every check")
    for description, expected, mutated in mutations(doc):
        failing = {name: problems for name, problems in run_checks(mutated) if problems}
        if mutated == doc:
            failed += 1
            print(f"FAIL self-test: {description} -> the mutation changed nothing (does the flow have such a block?)")
        elif expected is None:
            if failing:
                failed += 1
                print(f"FAIL self-test: {description} -> should pass, fails {', '.join(sorted(failing))}: "
                      f"{next(iter(failing.values()))[0]}")
            else:
                passed += 1
                print(f"ok   self-test: {description} -> passes every check")
        elif expected in failing:
            passed += 1
            print(f"ok   self-test: {description} -> caught by {expected}: {failing[expected][0]}")
        else:
            failed += 1
            print(f"FAIL self-test: {description} -> not caught by {expected} (failing: {sorted(failing) or 'none'})")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--")]
    flags = {a for a in argv if a.startswith("--")}
    unknown = flags - {"--self-test", "--rendered", "--help"}
    if "--help" in flags or unknown:
        print(__doc__.strip())
        return 0 if not unknown else 2
    if "--self-test" in flags:
        return self_test(Path(args[0]) if args else DEFAULT_FLOW)
    paths = [Path(a) for a in args] or [DEFAULT_FLOW]
    keys, source = response_keys()
    print(f"# Lambda response keys from {source}: {', '.join(sorted(keys))}")
    passed = failed = 0
    for path in paths:
        try:
            doc = load(path)
        except (OSError, ValueError) as e:
            failed += 1
            print(f"FAIL {path}: json: {e}")
            continue
        passed += 1
        print(f"ok   {path}: json")
        for name, problems in run_checks(doc, rendered="--rendered" in flags):
            if problems:
                failed += 1
                print(f"FAIL {path}: {name}: {problems[0]}")
                for p in problems[1:]:
                    print(f"       {p}")
            else:
                passed += 1
                print(f"ok   {path}: {name}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
