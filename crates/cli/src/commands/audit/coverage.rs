//! Which CloudTrail records are reads of the keys: the coverage rules, one home for them.
//!
//! SSM names a parameter by name or by ARN, optionally with a `:version` or `:label` selector;
//! `GetParametersByPath` returns the parameters one level under its path, or the whole subtree when
//! `recursive` is true. SSM makes a KMS `Decrypt` for each SecureString it decrypts, with the
//! encryption context `PARAMETER_ARN`.

use serde_json::Value;

/// SSM calls that return parameter values: the event names the audit looks up.
pub(crate) const SSM_READS: [&str; 4] = ["GetParameter", "GetParameters", "GetParametersByPath", "GetParameterHistory"];

/// The parameters the audit watches: everything under the prefix, and single named parameters
/// (the legacy parameter the function falls back to).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Watched {
    /// Starts and ends with `/`.
    prefix: String,
    /// Normalised names (`/...`).
    exact: Vec<String>,
}

/// What one record says was read, when it is a read of a watched parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Read {
    /// `ssm:GetParameter`, `kms:Decrypt`, ...
    pub(crate) action: String,
    /// The watched names (or the path) the call named.
    pub(crate) parameters: Vec<String>,
}

impl Watched {
    /// `prefix` as [`crate::aws::AwsArgs::checked_prefix`] returns it; `legacy` as the function's
    /// setting (a name or an ARN).
    pub(crate) fn new(prefix: &str, legacy: &[String]) -> Self {
        let exact = legacy.iter().map(|l| name_of(l)).collect();
        Self { prefix: prefix.to_owned(), exact }
    }

    /// The prefix.
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The single parameters watched besides the prefix.
    pub(crate) fn exact(&self) -> &[String] {
        &self.exact
    }

    /// Whether a parameter named by name or ARN (with or without a selector) is watched.
    pub(crate) fn covers_name(&self, name_or_arn: &str) -> bool {
        let n = name_of(name_or_arn);
        n.starts_with(&self.prefix) || self.exact.contains(&n)
    }

    /// Whether `GetParametersByPath(path, recursive)` can return a watched parameter: its path is
    /// the keys' own level or below it (any `recursive`), or an ancestor with `recursive`.
    pub(crate) fn covers_path(&self, path: &str, recursive: bool) -> bool {
        let dir = dir_of(path);
        let reaches = |level: &str| dir == level || dir.starts_with(level) || (recursive && level.starts_with(&dir));
        reaches(&self.prefix) || self.exact.iter().any(|n| level_reaches(&dir, n, recursive))
    }

    /// The watched parameters one record read, if any (`None` for records that are not reads).
    pub(crate) fn read_in(&self, record: &Value) -> Option<Read> {
        let source = record.get("eventSource")?.as_str()?;
        let name = record.get("eventName")?.as_str()?;
        let req = record.get("requestParameters").unwrap_or(&Value::Null);
        let parameters: Vec<String> = match (source, name) {
            ("ssm.amazonaws.com", n) if SSM_READS.contains(&n) => {
                let mut found = Vec::new();
                let names =
                    req.get("name").into_iter().chain(req.get("names").and_then(Value::as_array).into_iter().flatten());
                for n in names.filter_map(Value::as_str) {
                    if self.covers_name(n) {
                        found.push(name_of(n));
                    }
                }
                if let Some(p) = req.get("path").and_then(Value::as_str) {
                    let recursive = req.get("recursive").is_some_and(is_true);
                    if self.covers_path(p, recursive) {
                        found.push(if recursive { format!("{} (recursive)", dir_of(p)) } else { dir_of(p) });
                    }
                }
                found
            }
            ("kms.amazonaws.com", "Decrypt") => {
                let arn = req.pointer("/encryptionContext/PARAMETER_ARN").and_then(Value::as_str)?;
                if self.covers_name(arn) { vec![name_of(arn)] } else { Vec::new() }
            }
            _ => return None,
        };
        if parameters.is_empty() {
            return None;
        }
        Some(Read { action: format!("{}:{name}", source.trim_end_matches(".amazonaws.com")), parameters })
    }
}

/// CloudTrail writes `recursive` as a JSON boolean; accept the string form too.
fn is_true(v: &Value) -> bool {
    v.as_bool() == Some(true) || v.as_str() == Some("true")
}

/// A parameter name or ARN, without a `:version`/`:label` selector, as `/name`.
/// A name without `/` (a legacy, non-hierarchical one) sits at the root level.
pub(crate) fn name_of(n: &str) -> String {
    let n = n.trim();
    let n = match n.find(":parameter") {
        Some(i) if n.starts_with("arn:") => n.get(i + ":parameter".len()..).unwrap_or(n),
        _ => n,
    };
    // Names never hold ':' ; after the ARN part one can only be a selector.
    let n = n.split(':').next().unwrap_or(n);
    if n.starts_with('/') { n.to_owned() } else { format!("/{n}") }
}

/// A path as a level: `/a/b` and `/a/b/` are both `/a/b/`; `/` stays `/`.
fn dir_of(path: &str) -> String {
    let p = name_of(path);
    if p.ends_with('/') { p } else { format!("{p}/") }
}

/// The level a parameter sits at: `/a/b/c` is at `/a/b/`, `/NAME` at `/`.
fn parent_level(name: &str) -> &str {
    match name.rfind('/') {
        Some(i) => name.get(..=i).unwrap_or("/"),
        None => "/",
    }
}

/// Whether a path read at `dir` returns the single parameter `name`: its own level, or an
/// ancestor of it when recursive. (A path below the parameter's level cannot return it.)
fn level_reaches(dir: &str, name: &str, recursive: bool) -> bool {
    let level = parent_level(name);
    dir == level || (recursive && level.starts_with(dir))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const P: &str = "/connect/secure-ivr/keys/";

    fn watched() -> Watched {
        Watched::new(P, &["CONNECT_INPUT_DECRYPTION_KEY".to_owned()])
    }

    fn read(name: &str, req: Value) -> Option<Read> {
        watched().read_in(&json!({"eventSource": "ssm.amazonaws.com", "eventName": name, "requestParameters": req}))
    }

    #[test]
    fn names_are_normalised_from_arns_and_selectors() {
        assert_eq!(name_of("arn:aws:ssm:eu-west-2:1:parameter/connect/k/a"), "/connect/k/a");
        assert_eq!(name_of("connect/k/a"), "/connect/k/a");
        assert_eq!(name_of("/connect/k/a:3"), "/connect/k/a");
        assert_eq!(name_of("arn:aws:ssm:eu-west-2:1:parameter/connect/k/a:live"), "/connect/k/a");
        assert_eq!(name_of("NAME"), "/NAME");
    }

    #[test]
    fn get_parameter_by_name_or_arn_under_the_prefix_is_covered() {
        let w = watched();
        assert!(w.covers_name("/connect/secure-ivr/keys/k1"));
        assert!(w.covers_name("arn:aws:ssm:eu-west-2:111122223333:parameter/connect/secure-ivr/keys/k1"));
        assert!(w.covers_name("/connect/secure-ivr/keys/pending/abc:2"));
    }

    #[test]
    fn get_parameter_outside_the_prefix_is_not_covered() {
        let w = watched();
        assert!(!w.covers_name("/connect/secure-ivr/keys"));
        assert!(!w.covers_name("/connect/secure-ivr/keys-old/k1"));
        assert!(!w.covers_name("arn:aws:ssm:eu-west-2:111122223333:parameter/app/db-password"));
        assert!(!w.covers_name("/CONNECT_INPUT_DECRYPTION_KEY_2"));
    }

    #[test]
    fn the_legacy_parameter_is_covered_by_name_and_arn() {
        let w = watched();
        assert!(w.covers_name("CONNECT_INPUT_DECRYPTION_KEY"));
        assert!(w.covers_name("arn:aws:ssm:eu-west-2:111122223333:parameter/CONNECT_INPUT_DECRYPTION_KEY"));
        let nested = Watched::new(P, &["/legacy/key".to_owned()]);
        assert!(nested.covers_name("/legacy/key"));
        assert!(!Watched::new(P, &[]).covers_name("CONNECT_INPUT_DECRYPTION_KEY"));
    }

    #[test]
    fn path_at_the_keys_own_level_is_covered_recursive_or_not() {
        let w = watched();
        assert!(w.covers_path("/connect/secure-ivr/keys", false));
        assert!(w.covers_path("/connect/secure-ivr/keys/", true));
        assert!(w.covers_path("/connect/secure-ivr/keys/pending", false));
    }

    #[test]
    fn ancestor_path_is_covered_only_when_recursive() {
        let w = Watched::new(P, &[]);
        assert!(w.covers_path("/connect", true));
        assert!(w.covers_path("/connect/secure-ivr/", true));
        assert!(!w.covers_path("/connect", false));
        assert!(!w.covers_path("/connect/secure-ivr", false));
    }

    #[test]
    fn root_recursive_covers_everything() {
        assert!(Watched::new(P, &[]).covers_path("/", true));
        assert!(!Watched::new(P, &[]).covers_path("/", false));
    }

    #[test]
    fn sibling_and_unrelated_paths_are_not_covered() {
        let w = Watched::new(P, &[]);
        assert!(!w.covers_path("/connect/secure-ivr/keys-old", true));
        assert!(!w.covers_path("/app", true));
        assert!(!w.covers_path("/connect/other/", true));
    }

    #[test]
    fn legacy_parameter_is_covered_by_its_level_and_recursive_ancestors() {
        let w = watched();
        // At the root level: "/" covers it even without recursive.
        assert!(w.covers_path("/", false));
        let nested = Watched::new(P, &["/legacy/key".to_owned()]);
        assert!(nested.covers_path("/legacy", false));
        assert!(!nested.covers_path("/legacy/key", true), "a path below the parameter cannot return it");
        assert!(!nested.covers_path("/legacy/other", true));
    }

    #[test]
    fn records_name_what_they_read() {
        let r = read("GetParameters", json!({"names": ["/app/x", "/connect/secure-ivr/keys/k1"]})).expect("read");
        assert_eq!(r.action, "ssm:GetParameters");
        assert_eq!(r.parameters, ["/connect/secure-ivr/keys/k1"]);
        let r = read("GetParametersByPath", json!({"path": "/connect", "recursive": true})).expect("read");
        assert_eq!(r.parameters, ["/connect/ (recursive)"]);
        assert!(read("GetParametersByPath", json!({"path": "/connect"})).is_none());
        assert!(read("GetParameter", json!({"name": "/other/x"})).is_none());
        assert!(read("PutParameter", json!({"name": "/connect/secure-ivr/keys/k1"})).is_none());
        assert!(read("UpdateInstanceInformation", json!({"instanceId": "i-1"})).is_none());
    }

    #[test]
    fn kms_decrypt_is_matched_by_parameter_arn() {
        let w = watched();
        let dec = |ctx: Value| {
            w.read_in(&json!({"eventSource": "kms.amazonaws.com", "eventName": "Decrypt", "requestParameters": {"encryptionContext": ctx}}))
        };
        let ours = dec(json!({"PARAMETER_ARN": "arn:aws:ssm:eu-west-2:1:parameter/connect/secure-ivr/keys/k1"}));
        assert_eq!(ours.expect("read").parameters, ["/connect/secure-ivr/keys/k1"]);
        assert!(dec(json!({"PARAMETER_ARN": "arn:aws:ssm:eu-west-2:1:parameter/app/db"})).is_none());
        assert!(dec(json!({"aws:s3:arn": "arn:aws:s3:::bucket/key"})).is_none());
        let encrypt = w.read_in(&json!({"eventSource": "kms.amazonaws.com", "eventName": "GenerateDataKey",
            "requestParameters": {"encryptionContext": {"PARAMETER_ARN": "arn:aws:ssm:eu-west-2:1:parameter/connect/secure-ivr/keys/k1"}}}));
        assert!(encrypt.is_none());
    }
}
