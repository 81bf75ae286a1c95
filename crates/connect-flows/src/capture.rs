//! The security rules on what a capture does with the input: encryption, the key and
//! certificate it encrypts to, and where the stored input goes.

use serde_json::Value;

use crate::cert;
use crate::flow::{Action, Flow, STORED_INPUT, strings};
use crate::graph::Problems;
use crate::report::{ConnectKey, Options, Rule};

const DAY: i64 = 86_400;

/// A value set at run time (a JSONPath such as `$.Attributes.KeyId`).
fn dynamic(s: &str) -> bool {
    s.trim_start().starts_with("$.")
}

/// A `{{NAME}}` placeholder (a template: the value comes later).
fn placeholder(s: &str) -> bool {
    s.contains("{{")
}

pub(crate) fn unencrypted(f: &Flow) -> Problems {
    let mut p = Vec::new();
    for a in f.actions.iter().filter(|a| a.kind == "GetParticipantInput" && a.stores_input()) {
        match a.params.get("InputEncryption") {
            None => p.push((
                Some(a.id.clone()),
                format!("{} stores the caller's input in {STORED_INPUT} without InputEncryption", a.id),
            )),
            Some(enc) => {
                let has = |k: &str| enc.get(k).and_then(Value::as_str).is_some_and(|s| !s.trim().is_empty());
                if !has("EncryptionKeyId") || !has("Key") {
                    p.push((
                        Some(a.id.clone()),
                        format!("{}: InputEncryption needs both EncryptionKeyId and Key (the certificate)", a.id),
                    ));
                }
            }
        }
    }
    p
}

/// Every `InputEncryption.EncryptionKeyId` in the flow, in action order (a key may repeat).
#[must_use]
pub fn key_ids(flow: &Flow) -> Vec<String> {
    flow.actions
        .iter()
        .filter(|a| a.kind == "GetParticipantInput")
        .filter_map(|a| a.params.get("InputEncryption")?.get("EncryptionKeyId")?.as_str().map(str::to_owned))
        .collect()
}

/// Key ID and certificate rules, per encrypted capture. Returns (rule, action, message).
pub(crate) fn keys_and_certificates(f: &Flow, o: &Options) -> Vec<(Rule, Option<String>, String)> {
    let mut out = Vec::new();
    for a in f.actions.iter().filter(|a| a.kind == "GetParticipantInput") {
        let Some(enc) = a.params.get("InputEncryption") else { continue };
        let id = a.id.clone();
        let key_id = enc.get("EncryptionKeyId").and_then(Value::as_str).unwrap_or_default();
        let known: Option<&ConnectKey> = o.keys.as_ref().and_then(|ks| ks.iter().find(|k| k.key_id == key_id));
        if !key_id.is_empty() && !placeholder(key_id) {
            if dynamic(key_id) {
                out.push((
                    Rule::UnknownKeyId,
                    Some(id.clone()),
                    format!(
                        "{id}: EncryptionKeyId is set at run time ({key_id}); the audit cannot tell which key encrypts"
                    ),
                ));
            } else if o.keys.is_some() && known.is_none() {
                out.push((
                    Rule::UnknownKeyId,
                    Some(id.clone()),
                    format!("{id}: EncryptionKeyId {key_id} is not a security key of the instance (retired or never associated): captures fail or go to a key nobody holds"),
                ));
            }
        }
        let Some(pem) = enc.get("Key").and_then(Value::as_str).filter(|s| !s.trim().is_empty() && !placeholder(s))
        else {
            continue;
        };
        if dynamic(pem) {
            out.push((
                Rule::CertificateUnreadable,
                Some(id.clone()),
                format!("{id}: the certificate is set at run time ({pem}); the audit cannot check it"),
            ));
            continue;
        }
        let info = match cert::certificate(pem) {
            Ok(info) => info,
            Err(why) => {
                out.push((Rule::CertificateUnreadable, Some(id.clone()), format!("{id}: InputEncryption.Key: {why}")));
                continue;
            }
        };
        let warn = i64::from(o.warn_days) * DAY;
        if info.not_after <= o.now_unix {
            out.push((
                Rule::CertificateExpiring,
                Some(id.clone()),
                format!("{id}: the certificate expired {} day(s) ago", (o.now_unix - info.not_after) / DAY),
            ));
        } else if info.not_after - o.now_unix <= warn {
            out.push((
                Rule::CertificateExpiring,
                Some(id.clone()),
                format!(
                    "{id}: the certificate expires in {} day(s), within the {}-day warning window: rotate the key",
                    (info.not_after - o.now_unix) / DAY,
                    o.warn_days
                ),
            ));
        }
        if info.not_before > o.now_unix {
            out.push((
                Rule::CertificateNotYetValid,
                Some(id.clone()),
                format!("{id}: the certificate is not valid yet"),
            ));
        }
        if let Some(k) = known {
            match &k.public_key_spki {
                Some(spki) if *spki == info.spki => {}
                Some(_) => out.push((
                    Rule::CertificateKeyMismatch,
                    Some(id.clone()),
                    format!("{id}: the certificate's public key is not the key Connect holds as {key_id}"),
                )),
                None => out.push((
                    Rule::CertificateKeyMismatch,
                    Some(id.clone()),
                    format!("{id}: Connect's key {key_id} is not a PUBLIC KEY PEM this audit reads, so the certificate cannot be matched to it"),
                )),
            }
        }
    }
    out
}

/// Whether `actual` is `expected`, or `expected` with a version or alias qualifier when
/// `expected` names the function without one.
fn same_function(expected: &str, actual: &str) -> bool {
    let (e, a) = (expected.trim(), actual.trim());
    if e == a {
        return true;
    }
    let unqualified = e.split(':').count() == 7;
    unqualified
        && a.strip_prefix(e).and_then(|q| q.strip_prefix(':')).is_some_and(|q| !q.is_empty() && !q.contains(':'))
}

/// Lambda calls that receive the stored input, checked against our function.
pub(crate) fn other_function(f: &Flow, ours: &str) -> Vec<(Rule, Option<String>, String)> {
    let mut out = Vec::new();
    for a in f.actions.iter().filter(|a| a.sends_stored_input()) {
        let arn = a.param_str("LambdaFunctionARN").unwrap_or_default();
        if dynamic(arn) {
            out.push((
                Rule::DynamicFunctionArn,
                Some(a.id.clone()),
                format!("{}: sends {STORED_INPUT} to a function chosen at run time ({arn}); the audit cannot tell it is {ours}", a.id),
            ));
        } else if !same_function(ours, arn) {
            let shown = if arn.is_empty() { "no LambdaFunctionARN" } else { arn };
            out.push((
                Rule::StoredInputToOtherFunction,
                Some(a.id.clone()),
                format!("{}: sends {STORED_INPUT} to {shown}, not to {ours}", a.id),
            ));
        }
    }
    out
}

/// `UpdateContactAttributes` (or any non-Lambda block's parameters) copying the stored input
/// into a contact attribute.
pub(crate) fn copied_to_attribute(f: &Flow) -> Problems {
    f.actions
        .iter()
        .filter(|a: &&Action| a.kind == "UpdateContactAttributes")
        .filter(|a| strings(&a.params).any(|s| s.contains(STORED_INPUT)))
        .map(|a| {
            (
                Some(a.id.clone()),
                format!("{}: copies {STORED_INPUT} into a contact attribute, which every later Lambda call and the contact record carry", a.id),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::same_function;

    #[test]
    fn a_qualifier_matches_only_an_unqualified_expected_arn() {
        let f = "arn:aws:lambda:eu-west-2:111122223333:function:decrypt";
        assert!(same_function(f, f));
        assert!(same_function(f, &format!("{f}:live")));
        assert!(same_function(f, &format!("{f}:7")));
        assert!(!same_function(f, &format!("{f}-evil")));
        assert!(!same_function(f, &format!("{f}:a:b")));
        assert!(!same_function(&format!("{f}:live"), f));
        assert!(!same_function(f, "arn:aws:lambda:eu-west-2:111122223333:function:other"));
    }
}
