//! The certificate a Store customer input block encrypts to, and Connect's public keys, through
//! RustCrypto's `x509-cert` / `spki` / `der` (never parsed by hand).

use x509_cert::Certificate;
use x509_cert::der::{DecodePem as _, Encode as _};
use x509_cert::spki::SubjectPublicKeyInfoOwned;

/// What the rules need from a certificate.
#[derive(Debug, Clone)]
pub(crate) struct CertInfo {
    /// notBefore, Unix seconds.
    pub(crate) not_before: i64,
    /// notAfter, Unix seconds.
    pub(crate) not_after: i64,
    /// The subject public key as SubjectPublicKeyInfo DER.
    pub(crate) spki: Vec<u8>,
}

/// The first certificate in a PEM text, or why not (a short reason without the text).
pub(crate) fn certificate(pem: &str) -> Result<CertInfo, &'static str> {
    let block = rewrapped(pem, "CERTIFICATE").ok_or("no CERTIFICATE block")?;
    let cert =
        Certificate::from_pem(block.as_bytes()).map_err(|_| "the CERTIFICATE block is not a DER X.509 certificate")?;
    let validity = &cert.tbs_certificate.validity;
    let secs = |t: x509_cert::time::Time| i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
    let spki = cert.tbs_certificate.subject_public_key_info.to_der().map_err(|_| "the public key does not encode")?;
    Ok(CertInfo { not_before: secs(validity.not_before), not_after: secs(validity.not_after), spki })
}

/// SubjectPublicKeyInfo DER of a `PUBLIC KEY` PEM, as `ListSecurityKeys` returns it.
pub(crate) fn public_key_spki(pem: &str) -> Option<Vec<u8>> {
    let block = rewrapped(pem, "PUBLIC KEY")?;
    SubjectPublicKeyInfoOwned::from_pem(block.as_bytes()).ok()?.to_der().ok()
}

/// The first `label` block in RFC 7468's strict layout (64-column lines, LF): flows exported
/// from the console or rendered by other tools carry other widths and CRLF. Only whitespace is
/// dropped; the base64 itself is still decoded by `der`'s PEM decoder.
fn rewrapped(text: &str, label: &str) -> Option<String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let body = text.get(start..)?;
    let stop = body.find(&end)?;
    let b64: Vec<u8> = body.get(..stop)?.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let mut out = format!("{begin}\n");
    for line in b64.chunks(64) {
        out.push_str(std::str::from_utf8(line).ok()?);
        out.push('\n');
    }
    out.push_str(&end);
    out.push('\n');
    Some(out)
}
