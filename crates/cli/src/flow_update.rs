//! `--update-flows` of `rotate` and `retire`: every flow and flow module of the instance whose
//! Store customer input blocks encrypt with a key ID being replaced gets the new key ID and
//! certificate, through `UpdateContactFlowContent` / `UpdateContactFlowModuleContent`.
//!
//! Fail closed: every new content is built and checked before the first update is sent; if any
//! is refused, nothing is updated. The check: the new certificate is valid now and holds the
//! public key Connect has for the new key ID, and the new content breaks none of the
//! `connect-flows` rules (the ones `flow-audit` applies) that the old content kept.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::connect_flows_api::{self, InstanceFlow, Kind};
use crate::error::{CliError, Exit, Result};
use crate::keymat;
use crate::output::progress;

/// Where the flows move to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target<'a> {
    /// The key ID the capture blocks get.
    pub(crate) key_id: &'a str,
    /// That key's certificate PEM (the Store customer input block's `Key`); `None` in a dry run
    /// of `rotate`, before the key exists.
    pub(crate) certificate_pem: Option<&'a str>,
    /// Fingerprint of the public key Connect holds for `key_id` (as `list` shows it), which the
    /// certificate's public key must match.
    pub(crate) connect_fingerprint: Option<&'a str>,
}

/// What `Target` shows as the key ID and certificate when they do not exist yet (dry run).
const NEW_KEY_ID: &str = "<new key ID>";
const NEW_CERTIFICATE: &str = "<new certificate>";

impl Target<'static> {
    /// The stand-in of a key that a dry run does not create.
    pub(crate) fn not_yet_created() -> Self {
        Target { key_id: NEW_KEY_ID, certificate_pem: None, connect_fingerprint: None }
    }
}

/// One field of one block, before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct FieldChange {
    /// The block's `Identifier`.
    pub(crate) action: String,
    /// `EncryptionKeyId` or `Key` (under `Parameters.InputEncryption`).
    pub(crate) field: &'static str,
    /// Old value (the certificate as the fingerprint of its public key).
    pub(crate) from: String,
    /// New value, likewise.
    pub(crate) to: String,
}

/// The outcome for one flow or module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Status {
    /// The new content was sent and Connect accepted it.
    Updated,
    /// Dry run: it would be updated.
    WouldUpdate,
}

/// One flow or module that uses a replaced key ID.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FlowChange {
    /// Flow or module.
    pub(crate) kind: Kind,
    /// Its ID.
    pub(crate) id: String,
    /// Its name.
    pub(crate) name: String,
    /// What changes.
    pub(crate) changes: Vec<FieldChange>,
    /// Updated or (dry run) would be.
    pub(crate) status: Status,
}

/// The result of `--update-flows`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FlowUpdates {
    /// Nothing was sent.
    pub(crate) dry_run: bool,
    /// Key IDs moved away from.
    pub(crate) from_key_ids: Vec<String>,
    /// Key ID moved to.
    pub(crate) to_key_id: String,
    /// Flows and modules that used a replaced key ID.
    pub(crate) changed: Vec<FlowChange>,
    /// Flows and modules looked at that use none of them.
    pub(crate) unchanged: usize,
    /// Flows and modules whose key ID is computed in the flow (a JSONPath): not changed, check them by hand.
    pub(crate) dynamic_key_ids: Vec<String>,
    /// Flows and modules whose content Connect did not return: not checked.
    pub(crate) unreadable: Vec<String>,
}

impl fmt::Display for FlowUpdates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.dry_run { "would update" } else { "updated" };
        writeln!(
            f,
            "flows: {verb} {} of {} flows and modules ({} -> {})",
            self.changed.len(),
            self.changed.len() + self.unchanged,
            self.from_key_ids.join(", "),
            self.to_key_id
        )?;
        for c in &self.changed {
            writeln!(f, "  {} {:?} ({}):", c.kind.as_str(), c.name, c.id)?;
            for ch in &c.changes {
                writeln!(f, "    {} InputEncryption.{}", ch.action, ch.field)?;
                writeln!(f, "      - {}", ch.from)?;
                writeln!(f, "      + {}", ch.to)?;
            }
        }
        for d in &self.dynamic_key_ids {
            writeln!(f, "  NOT CHANGED (key ID set dynamically in the flow; check it by hand): {d}")?;
        }
        for u in &self.unreadable {
            writeln!(f, "  NOT CHECKED (Connect returned no content): {u}")?;
        }
        Ok(())
    }
}

/// A flow's content moved to the target key, and what changed.
#[derive(Debug, PartialEq)]
pub(crate) struct Rekeyed {
    /// The new content (compact JSON).
    pub(crate) content: String,
    /// Every changed field.
    pub(crate) changes: Vec<FieldChange>,
}

/// How a certificate is shown in a change: the fingerprint of its public key, as `list` shows keys.
fn describe_certificate(pem: &str) -> String {
    match keymat::fingerprint_public_pem(pem) {
        Ok(fp) => format!("certificate of public key {fp}"),
        Err(_) => "unreadable certificate".to_owned(),
    }
}

/// Moves every `InputEncryption` whose `EncryptionKeyId` is in `from` to `to`. `Ok(None)`: the
/// content uses none of them. `Err(actions)`: it names no such key statically, but these blocks
/// set their key ID dynamically (a JSONPath), which this cannot follow. Invalid JSON: `Ok(None)`
/// with nothing to change (Connect would not have accepted it as a flow).
pub(crate) fn rekey(
    content: &str,
    from: &[String],
    to: &Target<'_>,
) -> std::result::Result<Option<Rekeyed>, Vec<String>> {
    let Ok(mut doc) = serde_json::from_str::<Value>(content) else { return Ok(None) };
    let mut changes = Vec::new();
    let mut dynamic = Vec::new();
    let actions = doc.get_mut("Actions").and_then(Value::as_array_mut);
    for action in actions.into_iter().flatten() {
        let id = action.get("Identifier").and_then(Value::as_str).unwrap_or("?").to_owned();
        let Some(enc) = action.pointer_mut("/Parameters/InputEncryption").and_then(Value::as_object_mut) else {
            continue;
        };
        let Some(key_id) = enc.get("EncryptionKeyId").and_then(Value::as_str).map(str::to_owned) else { continue };
        if key_id.starts_with("$.") {
            dynamic.push(id);
            continue;
        }
        if !from.contains(&key_id) {
            continue;
        }
        let old_cert =
            enc.get("Key").and_then(Value::as_str).map(describe_certificate).unwrap_or_else(|| "none".into());
        let new_cert = to.certificate_pem.map(describe_certificate).unwrap_or_else(|| NEW_CERTIFICATE.to_owned());
        enc.insert("EncryptionKeyId".into(), Value::String(to.key_id.to_owned()));
        enc.insert("Key".into(), Value::String(to.certificate_pem.unwrap_or(NEW_CERTIFICATE).to_owned()));
        changes.push(FieldChange {
            action: id.clone(),
            field: "EncryptionKeyId",
            from: key_id,
            to: to.key_id.to_owned(),
        });
        changes.push(FieldChange { action: id, field: "Key", from: old_cert, to: new_cert });
    }
    if changes.is_empty() {
        return if dynamic.is_empty() { Ok(None) } else { Err(dynamic) };
    }
    let content = serde_json::to_string(&doc).unwrap_or_default();
    Ok(Some(Rekeyed { content, changes }))
}

/// Refuses a target whose certificate is expired, not yet valid, unreadable, or for another
/// public key than the one Connect holds for the key ID: every call would fail to decrypt.
pub(crate) fn check_target(to: &Target<'_>) -> Result<()> {
    let Some(cert) = to.certificate_pem else { return Ok(()) };
    keymat::certificate_validity(cert, time::OffsetDateTime::now_utc())?;
    let cert_fp = keymat::fingerprint_public_pem(cert)?;
    let Some(connect_fp) = to.connect_fingerprint else {
        return Err(CliError::new(
            Exit::Refused,
            format!(
                "Connect's public key for key {} does not read, so the certificate cannot be matched to it; no flow was changed",
                to.key_id
            ),
            "`secure-ivr list --instance-id ID` shows the instance's keys",
        ));
    };
    if cert_fp != connect_fp {
        return Err(CliError::new(
            Exit::Refused,
            format!(
                "the certificate is for public key {cert_fp}, but Connect holds {connect_fp} for key {}; no flow was changed",
                to.key_id
            ),
            "give the certificate written for that key ID (KEY_ID.cert.pem from keygen or rotate)",
        ));
    }
    Ok(())
}

/// Findings of the flow rules that `new` has and `old` had not (by rule and action): what the
/// change itself would break. Certificates are judged as valid or not now (no warning window).
pub(crate) fn introduced_findings(
    flow: &InstanceFlow,
    old: &str,
    new: &str,
    keys: &[connect_flows::ConnectKey],
    now_unix: i64,
) -> Vec<connect_flows::Finding> {
    let options = connect_flows::Options {
        keys: Some(keys.to_vec()),
        lambda_arn: None,
        now_unix,
        warn_days: 0,
        contract: false,
        placeholders: connect_flows::Placeholders::Ignore,
    };
    let who = flow.flow_ref();
    let findings = |content: &str| match connect_flows::Flow::parse(content) {
        Ok(f) => connect_flows::check(&who, &f, &options).findings,
        Err(e) => vec![connect_flows::unavailable(&who, &e.to_string())],
    };
    let before = findings(old);
    findings(new).into_iter().filter(|n| !before.iter().any(|b| b.rule == n.rule && b.action == n.action)).collect()
}

/// Finds and (unless `dry_run`) updates every flow and module of the instance that encrypts
/// with a key ID in `from`, so that it encrypts with `to`. Nothing is sent unless every new
/// content was built and `to` passed [`check_target`].
pub(crate) async fn update_flows(
    connect: &aws_sdk_connect::Client,
    instance_id: &str,
    from: &[String],
    to: &Target<'_>,
    dry_run: bool,
) -> Result<FlowUpdates> {
    check_target(to)?;
    progress(format!("reading the flows and modules of instance {instance_id} ..."));
    let flows = connect_flows_api::list_with_content(connect, instance_id).await?;
    let mut planned: Vec<(InstanceFlow, Rekeyed)> = Vec::new();
    let mut result = FlowUpdates {
        dry_run,
        from_key_ids: from.to_vec(),
        to_key_id: to.key_id.to_owned(),
        changed: Vec::new(),
        unchanged: 0,
        dynamic_key_ids: Vec::new(),
        unreadable: Vec::new(),
    };
    for flow in flows {
        let label = format!("{} {:?} ({})", flow.kind.as_str(), flow.name, flow.id);
        let Some(content) = flow.content.as_deref() else {
            result.unreadable.push(label);
            continue;
        };
        match rekey(content, from, to) {
            Ok(Some(rekeyed)) => planned.push((flow, rekeyed)),
            Ok(None) => result.unchanged += 1,
            Err(actions) => result.dynamic_key_ids.push(format!("{label}: {}", actions.join(", "))),
        }
    }
    if to.certificate_pem.is_some() && !planned.is_empty() {
        let keys = connect_flows_api::security_keys(connect, instance_id).await?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let broken: Vec<String> = planned
            .iter()
            .flat_map(|(flow, rekeyed)| {
                let old = flow.content.as_deref().unwrap_or_default();
                introduced_findings(flow, old, &rekeyed.content, &keys, now).into_iter().map(|f| {
                    let at = f.action.as_deref().map(|a| format!(" {a}")).unwrap_or_default();
                    format!("{} {:?} ({}){at}: {}: {}", flow.kind.as_str(), flow.name, flow.id, f.rule, f.message)
                })
            })
            .collect();
        if !broken.is_empty() {
            return Err(CliError::new(
                Exit::Refused,
                format!("the new content would break the flow rules; no flow was changed:\n  {}", broken.join("\n  ")),
                "`secure-ivr flow-audit --instance-id ID` shows every flow's findings; fix the key or certificate and run again",
            ));
        }
    }
    for (flow, rekeyed) in planned {
        if !dry_run {
            progress(format!("updating {} {:?} ({}) ...", flow.kind.as_str(), flow.name, flow.id));
            connect_flows_api::update_content(connect, instance_id, &flow, &rekeyed.content).await.map_err(|e| {
                let done: Vec<String> = result.changed.iter().map(|c| format!("{:?}", c.name)).collect();
                let hint = if done.is_empty() {
                    "no flow was changed".to_owned()
                } else {
                    format!("already updated: {}; run the command again once the cause is fixed", done.join(", "))
                };
                e.with_hint(hint)
            })?;
        }
        result.changed.push(FlowChange {
            kind: flow.kind,
            id: flow.id,
            name: flow.name,
            changes: rekeyed.changes,
            status: if dry_run { Status::WouldUpdate } else { Status::Updated },
        });
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture(id: &str, key_id: &str) -> Value {
        serde_json::json!({
            "Identifier": id, "Type": "GetParticipantInput",
            "Parameters": {"StoreInput": "True", "InputEncryption": {"EncryptionKeyId": key_id, "Key": "old cert"}},
            "Transitions": {}
        })
    }

    fn flow(actions: Vec<Value>) -> String {
        serde_json::json!({"Version": "2019-10-30", "StartAction": "a", "Actions": actions}).to_string()
    }

    const TO: Target<'static> =
        Target { key_id: "new-key", certificate_pem: Some("NEW PEM"), connect_fingerprint: None };

    #[test]
    fn moves_every_block_of_an_old_key_and_only_those() -> std::result::Result<(), Vec<String>> {
        let content = flow(vec![capture("a", "old-key"), capture("b", "other-key"), capture("c", "old-key")]);
        let out = rekey(&content, &["old-key".into()], &TO)?.ok_or_else(|| vec!["nothing changed".to_owned()])?;
        let doc: Value = serde_json::from_str(&out.content).map_err(|e| vec![e.to_string()])?;
        assert_eq!(doc["Actions"][0]["Parameters"]["InputEncryption"]["EncryptionKeyId"], "new-key");
        assert_eq!(doc["Actions"][0]["Parameters"]["InputEncryption"]["Key"], "NEW PEM");
        assert_eq!(doc["Actions"][1]["Parameters"]["InputEncryption"]["EncryptionKeyId"], "other-key");
        assert_eq!(doc["Actions"][1]["Parameters"]["InputEncryption"]["Key"], "old cert");
        assert_eq!(doc["Actions"][2]["Parameters"]["InputEncryption"]["EncryptionKeyId"], "new-key");
        let ids: Vec<_> =
            out.changes.iter().filter(|c| c.field == "EncryptionKeyId").map(|c| c.action.as_str()).collect();
        assert_eq!(ids, ["a", "c"]);
        Ok(())
    }

    #[test]
    fn leaves_a_flow_without_the_old_key_alone() {
        assert_eq!(rekey(&flow(vec![capture("a", "other")]), &["old".into()], &TO), Ok(None));
        assert_eq!(rekey("not json", &["old".into()], &TO), Ok(None));
        assert_eq!(rekey(&flow(vec![]), &["old".into()], &TO), Ok(None));
    }

    #[test]
    fn reports_dynamic_key_ids_it_cannot_follow() {
        let content = flow(vec![capture("dyn", "$.Attributes.KeyId")]);
        assert_eq!(rekey(&content, &["old".into()], &TO), Err(vec!["dyn".to_owned()]));
    }

    fn instance_flow(content: &str) -> InstanceFlow {
        InstanceFlow {
            kind: Kind::Flow,
            id: "f-1".into(),
            name: "Pay".into(),
            content: Some(content.to_owned()),
            unreadable_because: None,
        }
    }

    fn certificate(key: &rcgen::KeyPair) -> String {
        let params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.self_signed(key).expect("certificate").pem()
    }

    #[test]
    fn the_rules_refuse_only_what_the_change_breaks() {
        let key = || rcgen::KeyPair::generate().expect("key pair");
        let (old_key, new_key, other) = (key(), key(), key());
        let keys = vec![
            connect_flows::ConnectKey::from_pem("old", &old_key.public_key_pem()),
            connect_flows::ConnectKey::from_pem("new", &new_key.public_key_pem()),
        ];
        let old_cert = certificate(&old_key);
        let mut old =
            serde_json::json!({"Version": "2019-10-30", "StartAction": "a", "Actions": [capture("a", "old")]});
        old["Actions"][0]["Parameters"]["InputEncryption"]["Key"] = Value::String(old_cert);
        let old = old.to_string();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        // The right certificate for the new key: nothing new (the flow's own logging findings stay).
        let good_cert = certificate(&new_key);
        let to = Target { key_id: "new", certificate_pem: Some(&good_cert), connect_fingerprint: None };
        let new = rekey(&old, &["old".into()], &to).expect("rekeys").expect("changes");
        assert_eq!(introduced_findings(&instance_flow(&old), &old, &new.content, &keys, now), []);
        // A certificate of another key under the new key ID: refused by rule and action.
        let bad_cert = certificate(&other);
        let to = Target { certificate_pem: Some(&bad_cert), ..to };
        let new = rekey(&old, &["old".into()], &to).expect("rekeys").expect("changes");
        let found = introduced_findings(&instance_flow(&old), &old, &new.content, &keys, now);
        let rules: Vec<_> = found.iter().map(|f| (f.rule, f.action.as_deref())).collect();
        assert_eq!(rules, [(connect_flows::Rule::CertificateKeyMismatch, Some("a"))]);
    }

    #[test]
    fn a_dry_run_target_shows_stand_ins() -> std::result::Result<(), Vec<String>> {
        let out = rekey(&flow(vec![capture("a", "old")]), &["old".into()], &Target::not_yet_created())?
            .ok_or_else(|| vec!["nothing changed".to_owned()])?;
        assert_eq!(out.changes[0].to, NEW_KEY_ID);
        assert_eq!(out.changes[1].to, NEW_CERTIFICATE);
        Ok(())
    }
}
