//! Rules for the flows this project ships: the recording blocks' documented shape, the Lambda's
//! contract (what it reads, what it returns), and the template's placeholders.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::flow::{Flow, STORED_INPUT, strings};
use crate::graph::{Problems, short};
use crate::states::{RECORDING_CURRENT, RECORDING_LEGACY};

/// The placeholders `secure-ivr flow` fills.
pub const PLACEHOLDERS: [&str; 3] = ["{{KEY_ID}}", "{{CERTIFICATE}}", "{{LAMBDA_ARN}}"];
/// The placeholders of the flows that hand the capture on, which the flows template fills with
/// `Fn::Sub` (cloudformation/secure-ivr-flows.yaml): the module's ARN in `InvokeFlowModule`, the
/// agent-assisted flow's in the quick connect's `TransferToFlow`.
pub(crate) const HANDOFF_PLACEHOLDERS: [(&str, &str, &str); 2] = [
    ("{{CAPTURE_MODULE_ARN}}", "InvokeFlowModule", "FlowModuleId"),
    ("{{AGENT_CAPTURE_FLOW_ARN}}", "TransferToFlow", "ContactFlowId"),
];
/// The statuses the Lambda returns (crates/lambda).
const STATUSES: [&str; 4] = ["Success", "Invalid", "NoInput", "Error"];
/// Declarations the Lambda accepts in `<Name>Type` (crates/caller-input, `ValueType::parse`).
const VALUE_TYPES: [&str; 11] =
    ["card", "cvc", "cvv", "creditcard", "digits", "exp", "expiration", "expiry", "number", "pan", "securitycode"];
/// Keys the Lambda returns (crates/caller-input `response_fields`, crates/lambda handler, and with
/// a payment connector crates/payments `response` and crates/lambda `payment`); the authoritative
/// check is crates/lambda/tests/flow_contract.rs, which runs the real handler.
const RESPONSE_KEYS: [&str; 21] = [
    "Brand",
    "DeclineCode",
    "Digits",
    "ErrorCode",
    "Expired",
    "Last4",
    "Length",
    "LengthValid",
    "Luhn",
    "Masked",
    "MonthValid",
    "PaymentErrorKind",
    "PaymentId",
    "PaymentParameter",
    "PaymentStatus",
    "PaymentToken",
    "Status",
    "Type",
    "Valid",
    "Values",
    "YearValid",
];
const PARTICIPANTS: [&str; 2] = ["Agent", "Customer"];

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object().map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default()
}

fn settings(p: &mut Problems, id: &str, where_: &str, rec: &Value) {
    if !rec.is_object() {
        p.push((Some(id.to_owned()), format!("{id}: {where_} is not an object")));
        return;
    }
    let parts = rec.get("RecordedParticipants");
    let ok = parts.and_then(Value::as_array).is_some_and(|list| {
        let names: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
        names.len() == list.len()
            && names.iter().all(|n| PARTICIPANTS.contains(n))
            && names.iter().collect::<BTreeSet<_>>().len() == names.len()
    });
    if !ok {
        p.push((
            Some(id.to_owned()),
            format!(
                "{id}: {where_}.RecordedParticipants must be a list of Agent and/or Customer (empty: off), not {}",
                short(parts)
            ),
        ));
    }
    if let Some(ivr) = rec.get("IVRRecordingBehavior")
        && !matches!(ivr.as_str(), Some("Enabled" | "Disabled"))
    {
        p.push((
            Some(id.to_owned()),
            format!("{id}: {where_}.IVRRecordingBehavior must be Enabled or Disabled, not {ivr}"),
        ));
    }
}

/// Each recording block in its action's documented shape (a `Type` switched without its
/// `Parameters` is the likely mistake), with the errors the reference says must be defined.
pub(crate) fn recording_actions(f: &Flow) -> Problems {
    let mut p: Problems = Vec::new();
    for a in &f.actions {
        let (n, params) = (a.id.as_str(), &a.params);
        let at = Some(n.to_owned());
        let given = keys(params);
        if a.kind == RECORDING_CURRENT {
            let unknown: Vec<&str> = given
                .iter()
                .copied()
                .filter(|k| !["ChatBehavior", "VoiceBehavior", "ScreenRecordingBehavior"].contains(k))
                .collect();
            if !unknown.is_empty() {
                p.push((at.clone(), format!("{n}: {RECORDING_CURRENT} has no parameter {} (RecordingBehavior/AnalyticsBehavior belong to {RECORDING_LEGACY}; use VoiceBehavior)", unknown.join(", "))));
            }
            let chat = given.contains("ChatBehavior");
            let voice = given.contains("VoiceBehavior");
            if chat && voice {
                p.push((at.clone(), format!("{n}: only one of ChatBehavior and VoiceBehavior may be set")));
            }
            if !chat && !voice && !given.contains("ScreenRecordingBehavior") {
                p.push((
                    at.clone(),
                    format!("{n}: sets nothing (no VoiceBehavior, ChatBehavior or ScreenRecordingBehavior)"),
                ));
            }
            if let Some(vb) = params.get("VoiceBehavior") {
                let vk = keys(vb);
                if !vb.is_object()
                    || vk.is_empty()
                    || vk.iter().any(|k| !["VoiceRecordingBehavior", "VoiceAnalyticsBehavior"].contains(k))
                {
                    p.push((
                        at.clone(),
                        format!("{n}: VoiceBehavior holds VoiceRecordingBehavior and/or VoiceAnalyticsBehavior only"),
                    ));
                } else if let Some(rec) = vb.get("VoiceRecordingBehavior") {
                    if keys(rec).iter().any(|k| !["RecordedParticipants", "IVRRecordingBehavior"].contains(k)) {
                        p.push((
                            at.clone(),
                            format!(
                                "{n}: VoiceRecordingBehavior holds RecordedParticipants and IVRRecordingBehavior only"
                            ),
                        ));
                    }
                    settings(&mut p, n, "VoiceBehavior.VoiceRecordingBehavior", rec);
                }
            }
            if let Some(screen) = params.get("ScreenRecordingBehavior") {
                let parts = screen.get("ScreenRecordedParticipants").and_then(Value::as_array);
                let ok = keys(screen) == BTreeSet::from(["ScreenRecordedParticipants"])
                    && parts.is_some_and(|l| l.iter().all(|x| x.as_str() == Some("Agent")));
                if !ok {
                    p.push((at.clone(), format!("{n}: ScreenRecordingBehavior holds ScreenRecordedParticipants only, a list that can only include Agent, not {}", short(Some(screen)))));
                }
            }
            let mut required = vec!["ChannelMismatch", "NoMatchingError"];
            if chat {
                required.push("InFlightRedactionConfigurationFailed");
            }
            let declared: BTreeSet<&str> = f
                .doc
                .get("Actions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|raw| raw.get("Identifier").and_then(Value::as_str) == Some(n))
                .flat_map(|raw| {
                    raw.get("Transitions").and_then(|t| t.get("Errors")).and_then(Value::as_array).into_iter().flatten()
                })
                .filter_map(|e| e.get("ErrorType").and_then(Value::as_str))
                .collect();
            let missing: Vec<&str> = required.into_iter().filter(|r| !declared.contains(r)).collect();
            if !missing.is_empty() {
                p.push((at, format!("{n}: {RECORDING_CURRENT} must define the error(s) {}", missing.join(", "))));
            }
        } else if a.kind == RECORDING_LEGACY {
            let unknown: Vec<&str> =
                given.iter().copied().filter(|k| !["RecordingBehavior", "AnalyticsBehavior"].contains(k)).collect();
            if !unknown.is_empty() {
                p.push((
                    at.clone(),
                    format!(
                        "{n}: {RECORDING_LEGACY} has no parameter {} (VoiceBehavior belongs to {RECORDING_CURRENT})",
                        unknown.join(", ")
                    ),
                ));
            }
            match params.get("RecordingBehavior") {
                None => p.push((at, format!("{n}: {RECORDING_LEGACY} without RecordingBehavior"))),
                Some(rec) => {
                    if keys(rec).iter().any(|k| {
                        !["RecordedParticipants", "ScreenRecordedParticipants", "IVRRecordingBehavior"].contains(k)
                    }) {
                        p.push((at, format!("{n}: RecordingBehavior holds RecordedParticipants, ScreenRecordedParticipants and IVRRecordingBehavior only")));
                    }
                    settings(&mut p, n, "RecordingBehavior", rec);
                }
            }
        }
    }
    p
}

pub(crate) fn lambda_parameters(f: &Flow) -> Problems {
    let mut p = Vec::new();
    for a in f.actions.iter().filter(|a| a.kind == "InvokeLambdaFunction") {
        let n = a.id.as_str();
        let at = Some(n.to_owned());
        let limit = match a.params.get("InvocationTimeLimitSeconds") {
            Some(Value::String(s)) => s.parse::<u32>().ok(),
            Some(Value::Number(x)) => x.as_u64().and_then(|v| u32::try_from(v).ok()),
            _ => None,
        };
        if !limit.is_some_and(|l| (1..=8).contains(&l)) {
            p.push((
                at.clone(),
                format!(
                    "{n}: InvocationTimeLimitSeconds {} (Connect allows 1 to 8)",
                    short(a.params.get("InvocationTimeLimitSeconds"))
                ),
            ));
        }
        if a.params.get("ResponseValidation").and_then(|r| r.get("ResponseType")).and_then(Value::as_str)
            != Some("STRING_MAP")
        {
            p.push((
                at.clone(),
                format!("{n}: ResponseValidation.ResponseType must be STRING_MAP (the Lambda returns a flat map)"),
            ));
        }
        let Some(attrs) = a.params.get("LambdaInvocationAttributes").and_then(Value::as_object) else { continue };
        for (name, value) in attrs {
            if let Some(base) = name.strip_suffix("Type")
                && attrs.contains_key(base)
            {
                let declared = value.as_str().unwrap_or_default().trim().to_ascii_lowercase();
                if !VALUE_TYPES.contains(&declared.as_str()) {
                    p.push((
                        at.clone(),
                        format!(
                            "{n}: {name}={} is not a type the Lambda accepts ({})",
                            short(Some(value)),
                            VALUE_TYPES.join(", ")
                        ),
                    ));
                }
                continue;
            }
            if value.as_str() == Some(STORED_INPUT)
                && !(name.starts_with("Encrypted") || attrs.contains_key(&format!("{name}Type")))
            {
                p.push((at.clone(), format!("{n}: {name} carries {STORED_INPUT} but the Lambda only treats it as encrypted if its name starts with 'Encrypted' or {name}Type is sent")));
            }
        }
    }
    p
}

/// `$.External.NAME` references in a string.
fn external_refs(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("$.External.") {
        let tail = rest.get(i + 11..).unwrap_or_default();
        let end = tail.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')).unwrap_or(tail.len());
        if end > 0 {
            out.push(tail.get(..end).unwrap_or_default());
        }
        rest = tail;
    }
    out
}

pub(crate) fn external_keys(f: &Flow) -> Problems {
    let sent: Vec<String> = f
        .actions
        .iter()
        .filter(|a| a.kind == "InvokeLambdaFunction")
        .flat_map(|a| {
            keys(a.params.get("LambdaInvocationAttributes").unwrap_or(&Value::Null))
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    // The Lambda prefixes each value's fields with its parameter name (non [A-Za-z0-9-] as '_').
    let prefixed = |key: &str| {
        sent.iter().any(|s| {
            let clean: String =
                s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
            key.strip_prefix(&clean).and_then(|r| r.strip_prefix('_')).is_some_and(|k| RESPONSE_KEYS.contains(&k))
        })
    };
    let mut p = Vec::new();
    for a in &f.actions {
        for text in strings(&a.params) {
            for key in external_refs(text) {
                if !RESPONSE_KEYS.contains(&key) && !prefixed(key) {
                    p.push((Some(a.id.clone()), format!("{}: $.External.{key} is not a key the Lambda returns", a.id)));
                }
            }
        }
    }
    p
}

pub(crate) fn status_branches(f: &Flow) -> Problems {
    let mut p = Vec::new();
    let mut compares = 0;
    let raw: Vec<&Value> = f.doc.get("Actions").and_then(Value::as_array).into_iter().flatten().collect();
    for a in
        f.actions.iter().filter(|a| a.kind == "Compare" && a.param_str("ComparisonValue") == Some("$.External.Status"))
    {
        compares += 1;
        let mut operands = BTreeSet::new();
        for r in raw.iter().filter(|r| r.get("Identifier").and_then(Value::as_str) == Some(a.id.as_str())) {
            for c in
                r.get("Transitions").and_then(|t| t.get("Conditions")).and_then(Value::as_array).into_iter().flatten()
            {
                for o in
                    c.get("Condition").and_then(|c| c.get("Operands")).and_then(Value::as_array).into_iter().flatten()
                {
                    operands.insert(o.as_str().unwrap_or_default().to_owned());
                }
            }
        }
        let unknown: Vec<&str> = operands.iter().map(String::as_str).filter(|o| !STATUSES.contains(o)).collect();
        let missing: Vec<&str> = STATUSES.iter().copied().filter(|s| !operands.contains(*s)).collect();
        if !unknown.is_empty() {
            p.push((
                Some(a.id.clone()),
                format!("{}: compares Status with {}, which the Lambda never returns", a.id, unknown.join(", ")),
            ));
        }
        if !missing.is_empty() {
            p.push((Some(a.id.clone()), format!("{}: no branch for Status {}", a.id, missing.join(", "))));
        }
    }
    if compares == 0 {
        p.push((None, "no Compare on $.External.Status".to_owned()));
    }
    p
}

/// Every `{{...}}` in the document's text.
fn braces(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("{{") {
        let tail = rest.get(i..).unwrap_or_default();
        let Some(end) = tail.find('}').filter(|e| tail.get(*e..).is_some_and(|t| t.starts_with("}}"))) else {
            rest = tail.get(2..).unwrap_or_default();
            continue;
        };
        out.insert(tail.get(..end + 2).unwrap_or_default().to_owned());
        rest = tail.get(end + 2..).unwrap_or_default();
    }
    out
}

pub(crate) fn placeholders_left(f: &Flow) -> Problems {
    braces(&f.doc.to_string()).into_iter().map(|p| (None, format!("placeholder left unfilled: {p}"))).collect()
}

/// A hand-off flow's placeholders: each target where the flows template fills it, nothing else.
fn handoff_placeholders(f: &Flow, text: &str) -> Problems {
    let mut p = Problems::new();
    for other in braces(text).into_iter().filter(|b| !HANDOFF_PLACEHOLDERS.iter().any(|h| h.0 == b.as_str())) {
        p.push((None, format!("{other} is not a placeholder the flows template fills")));
    }
    for (placeholder, kind, field) in HANDOFF_PLACEHOLDERS {
        for a in f.actions.iter().filter(|a| a.kind == kind && a.param_str(field) != Some(placeholder)) {
            p.push((Some(a.id.clone()), format!("{}: {field} is not {placeholder}", a.id)));
        }
    }
    p
}

pub(crate) fn placeholders_required(f: &Flow) -> Problems {
    let text = f.doc.to_string();
    if f.hands_off() {
        return handoff_placeholders(f, &text);
    }
    let mut p: Problems =
        PLACEHOLDERS.iter().filter(|ph| !text.contains(*ph)).map(|ph| (None, format!("{ph} is missing"))).collect();
    for other in braces(&text).into_iter().filter(|b| !PLACEHOLDERS.contains(&b.as_str())) {
        p.push((None, format!("{other} is not a placeholder `secure-ivr flow` fills")));
    }
    for a in &f.actions {
        let at = Some(a.id.clone());
        if a.is_capture() {
            if !a.stores_input() {
                p.push((at.clone(), format!("{}: StoreInput is not True", a.id)));
            }
            let enc = a.params.get("InputEncryption");
            let field = |k: &str| enc.and_then(|e| e.get(k)).and_then(Value::as_str);
            if field("EncryptionKeyId") != Some("{{KEY_ID}}") || field("Key") != Some("{{CERTIFICATE}}") {
                p.push((
                    at.clone(),
                    format!(
                        "{}: InputEncryption must be EncryptionKeyId={{{{KEY_ID}}}}, Key={{{{CERTIFICATE}}}}",
                        a.id
                    ),
                ));
            }
        }
        if a.kind == "InvokeLambdaFunction" && a.param_str("LambdaFunctionARN") != Some("{{LAMBDA_ARN}}") {
            p.push((at, format!("{}: LambdaFunctionARN is not {{{{LAMBDA_ARN}}}}", a.id)));
        }
    }
    p
}
