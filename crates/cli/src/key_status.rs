//! Where a key stands: the value of the `secure-ivr:status` tag and the `status` of `keygen`,
//! `rotate` and `list`. A typed state inside; its string only at the edge (tags, JSON, text).

use serde::{Serialize, Serializer};

/// A key's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyStatus {
    /// Stored under its Connect key ID: what the Lambda reads.
    Active,
    /// Stored under its fingerprint, waiting for `activate`.
    Pending,
    /// Disassociated; kept for its grace period.
    Retired,
    /// Generated with `--no-store`: nowhere in SSM.
    NotStored,
    /// Connect holds the key, SSM holds no private key for it (`list` only).
    ConnectOnly,
    /// A status tag this version does not know, shown as written.
    Other(String),
}

impl KeyStatus {
    /// The status a stored key has: its tag when present, else what its parameter name says
    /// (under a key ID: active; under `pending/`: pending).
    pub(crate) fn of_stored(tag: Option<&str>, has_key_id: bool) -> Self {
        match tag {
            Some(t) => Self::from_tag(t),
            None if has_key_id => Self::Active,
            None => Self::Pending,
        }
    }

    /// Reads a `secure-ivr:status` tag value.
    pub(crate) fn from_tag(tag: &str) -> Self {
        match tag {
            "active" => Self::Active,
            "pending" => Self::Pending,
            "retired" => Self::Retired,
            "not-stored" => Self::NotStored,
            "connect-only" => Self::ConnectOnly,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The string written to tags and shown in output.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Self::Active => "active",
            Self::Pending => "pending",
            Self::Retired => "retired",
            Self::NotStored => "not-stored",
            Self::ConnectOnly => "connect-only",
            Self::Other(s) => s,
        }
    }
}

impl std::fmt::Display for KeyStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `pad`, not `write_str`: the `list` table aligns this column with `{:<12}`.
        f.pad(self.as_str())
    }
}

impl Serialize for KeyStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_status_reads_back_from_its_tag() {
        for s in
            [KeyStatus::Active, KeyStatus::Pending, KeyStatus::Retired, KeyStatus::NotStored, KeyStatus::ConnectOnly]
        {
            assert_eq!(KeyStatus::from_tag(s.as_str()), s);
        }
        assert_eq!(KeyStatus::from_tag("Active"), KeyStatus::Other("Active".into()), "tags are case-sensitive");
    }

    #[test]
    fn an_untagged_key_takes_its_status_from_its_name() {
        assert_eq!(KeyStatus::of_stored(None, true), KeyStatus::Active);
        assert_eq!(KeyStatus::of_stored(None, false), KeyStatus::Pending);
        assert_eq!(KeyStatus::of_stored(Some("retired"), true), KeyStatus::Retired);
    }

    #[test]
    fn the_edge_strings_are_the_ones_users_see() {
        assert_eq!(serde_json::to_string(&KeyStatus::NotStored).ok().as_deref(), Some("\"not-stored\""));
        assert_eq!(format!("{:<8}|", KeyStatus::Active), "active  |");
        assert_eq!(KeyStatus::Other("odd".into()).to_string(), "odd");
    }
}
