//! What `keygen` and `rotate` report about the key they made.

use serde::Serialize;

use crate::key_status::KeyStatus;

/// Where a new key ended up.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CreatedKey {
    /// `active` (stored under its key ID), `pending` (under its fingerprint) or `not-stored`.
    pub(crate) status: KeyStatus,
    /// Connect key ID, when associated.
    pub(crate) key_id: Option<String>,
    /// Connect instance, when associated.
    pub(crate) instance_id: Option<String>,
    /// SHA-256 of the public key.
    pub(crate) fingerprint: String,
    /// RSA modulus size.
    pub(crate) bits: u32,
    /// SSM parameter holding the private key.
    pub(crate) parameter: Option<String>,
    /// Its version.
    pub(crate) parameter_version: Option<i64>,
    /// KMS key requested for the SecureString.
    pub(crate) kms_key_id: Option<String>,
    /// Certificate validity start.
    pub(crate) certificate_not_before: String,
    /// Certificate validity end.
    pub(crate) certificate_not_after: String,
    /// Certificate PEM: paste into the Store customer input block.
    pub(crate) certificate_pem: String,
    /// Public key PEM: what Connect's Security keys page takes.
    pub(crate) public_key_pem: String,
    /// Files written.
    pub(crate) files: Vec<String>,
}

impl CreatedKey {
    /// The block telling the user what to paste where.
    pub(crate) fn paste_instructions(&self) -> String {
        let mut s = String::new();
        match &self.key_id {
            Some(id) => {
                s.push_str("In the Store customer input block, under \"Encrypt entry\":\n");
                s.push_str(&format!("  Specify encryption key ID: {id}\n"));
                s.push_str("  Specify encryption certificate:\n");
                s.push_str(&self.certificate_pem);
            }
            None if self.status == KeyStatus::Pending => {
                s.push_str("Connect > instance > Security keys > Add key: paste this public key:\n");
                s.push_str(&self.public_key_pem);
                s.push_str("Then run, with the key ID Connect shows:\n");
                s.push_str(&format!("  secure-ivr activate --fingerprint {} --key-id KEY_ID\n", self.fingerprint));
            }
            None => {
                s.push_str("Certificate:\n");
                s.push_str(&self.certificate_pem);
            }
        }
        s
    }
}

impl std::fmt::Display for CreatedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "status:          {}", self.status)?;
        if let Some(id) = &self.key_id {
            writeln!(f, "key ID:          {id}")?;
        }
        if let Some(i) = &self.instance_id {
            writeln!(f, "instance:        {i}")?;
        }
        writeln!(f, "fingerprint:     {}", self.fingerprint)?;
        writeln!(f, "bits:            {}", self.bits)?;
        if let (Some(p), Some(v)) = (&self.parameter, self.parameter_version) {
            writeln!(f, "parameter:       {p} (version {v})")?;
        }
        writeln!(f, "certificate:     valid {} to {}", self.certificate_not_before, self.certificate_not_after)?;
        for file in &self.files {
            writeln!(f, "wrote:           {file}")?;
        }
        writeln!(f)?;
        f.write_str(&self.paste_instructions())
    }
}
