//! Certificates and public keys from PEM: X.509 (RFC 5280) and SubjectPublicKeyInfo through
//! RustCrypto's `x509-cert`, `spki` and `der` (strict DER, constant-time base64), never by hand.

use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::der::asn1::BitString;
use x509_cert::der::{Any, Decode as _, Encode as _};
use x509_cert::spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoOwned};

/// rsaEncryption (RFC 8017 A.1), the algorithm of a PKCS#1 `RSA PUBLIC KEY` block.
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// One PEM block: its label and its DER.
struct Block {
    label: String,
    der: Vec<u8>,
}

/// Every well-formed PEM block in `text`, in order. Text between blocks is ignored (certificate
/// files often carry a readable dump); a block whose base64 does not decode is skipped.
fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let Some(tail) = rest.get(start..) else { break };
        let label_end = tail.get(11..).and_then(|t| t.find("-----")).map_or(tail.len(), |i| i + 11);
        let label = tail.get(11..label_end).unwrap_or_default();
        let end_line = format!("-----END {label}-----");
        let Some(stop) = tail.find(&end_line) else { break };
        let block_len = stop + end_line.len();
        if let Some(body) = tail.get(label_end + 5..stop)
            && let Ok((label, der)) = x509_cert::der::pem::decode_vec(rewrapped(label, body).as_bytes())
        {
            out.push(Block { label: label.to_owned(), der });
        }
        rest = tail.get(block_len..).unwrap_or_default();
    }
    out
}

/// The block in RFC 7468's strict layout (64-column lines, LF), whatever its line width or line
/// endings were: public material pasted into a console or a ticket is often re-wrapped. Only
/// whitespace is dropped; the base64 is still decoded by `pem-rfc7468`.
fn rewrapped(label: &str, body: &str) -> String {
    let b64: Vec<u8> = body.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Why a PEM text gave no certificate or public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PublicError {
    /// No CERTIFICATE block (or it did not decode).
    NoCertificate,
    /// The CERTIFICATE block is not a DER X.509 certificate.
    MalformedCertificate(String),
    /// A private key where a public key or certificate was expected.
    PrivateKey,
    /// No PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE block.
    NoPublicKey,
    /// The public key block is not DER of its type.
    MalformedPublicKey(String),
}

impl std::fmt::Display for PublicError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoCertificate => f.write_str("no CERTIFICATE block"),
            Self::MalformedCertificate(why) => write!(f, "the certificate is malformed: {why}"),
            Self::PrivateKey => f.write_str("PEM holds a private key; give the public key or certificate"),
            Self::NoPublicKey => f.write_str("PEM holds no PUBLIC KEY or CERTIFICATE block"),
            Self::MalformedPublicKey(why) => write!(f, "the public key is malformed: {why}"),
        }
    }
}

/// The first certificate in a PEM text.
pub(crate) fn first_certificate(text: &str) -> Result<Certificate, PublicError> {
    let block = blocks(text).into_iter().find(|b| b.label == "CERTIFICATE").ok_or(PublicError::NoCertificate)?;
    Certificate::from_der(&block.der).map_err(|e| PublicError::MalformedCertificate(e.to_string()))
}

/// A certificate's (notBefore, notAfter).
pub(crate) fn validity(cert: &Certificate) -> Result<(OffsetDateTime, OffsetDateTime), PublicError> {
    let v = &cert.tbs_certificate.validity;
    let at = |t: x509_cert::time::Time| {
        i64::try_from(t.to_unix_duration().as_secs())
            .ok()
            .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
            .ok_or_else(|| PublicError::MalformedCertificate("validity out of range".into()))
    };
    Ok((at(v.not_before)?, at(v.not_after)?))
}

/// The SubjectPublicKeyInfo DER of the first public key or certificate in a PEM text
/// (`PUBLIC KEY`, PKCS#1 `RSA PUBLIC KEY`, or `CERTIFICATE`), re-encoded as DER.
pub(crate) fn public_key_spki(text: &str) -> Result<Vec<u8>, PublicError> {
    let blocks = blocks(text);
    let malformed = |e: x509_cert::der::Error| PublicError::MalformedPublicKey(e.to_string());
    for b in &blocks {
        match b.label.as_str() {
            "PUBLIC KEY" => {
                return SubjectPublicKeyInfoOwned::from_der(&b.der).and_then(|s| s.to_der()).map_err(malformed);
            }
            "RSA PUBLIC KEY" => {
                // Check it is one DER value before wrapping it.
                Any::from_der(&b.der).map_err(malformed)?;
                let spki = SubjectPublicKeyInfoOwned {
                    algorithm: AlgorithmIdentifierOwned { oid: RSA_ENCRYPTION, parameters: Some(Any::null()) },
                    subject_public_key: BitString::from_bytes(&b.der).map_err(malformed)?,
                };
                return spki.to_der().map_err(malformed);
            }
            "CERTIFICATE" => {
                let cert =
                    Certificate::from_der(&b.der).map_err(|e| PublicError::MalformedCertificate(e.to_string()))?;
                return cert.tbs_certificate.subject_public_key_info.to_der().map_err(malformed);
            }
            _ => {}
        }
    }
    if blocks.iter().any(|b| b.label.contains("PRIVATE KEY")) {
        return Err(PublicError::PrivateKey);
    }
    Err(PublicError::NoPublicKey)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_no_certificate_in_text_without_one() {
        assert_eq!(first_certificate("hello").err(), Some(PublicError::NoCertificate));
        let not_base64 = "-----BEGIN CERTIFICATE-----\nnot base64!!\n-----END CERTIFICATE-----\n";
        assert_eq!(first_certificate(not_base64).err(), Some(PublicError::NoCertificate));
    }

    #[test]
    fn rejects_a_certificate_block_that_is_not_der() {
        // "AAAA" is three zero bytes: base64 decodes, DER does not.
        let pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(matches!(first_certificate(pem), Err(PublicError::MalformedCertificate(_))));
        assert!(matches!(public_key_spki(pem), Err(PublicError::MalformedCertificate(_))));
    }

    #[test]
    fn refuses_a_private_key_and_an_empty_public_key() {
        let private = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert_eq!(public_key_spki(private), Err(PublicError::PrivateKey));
        let public = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
        assert!(matches!(public_key_spki(public), Err(PublicError::MalformedPublicKey(_))));
        assert_eq!(public_key_spki(""), Err(PublicError::NoPublicKey));
    }

    #[test]
    fn a_pkcs1_public_key_and_its_spki_have_one_encoding() {
        // SEQUENCE { INTEGER 3, INTEGER 1 }: a toy RSAPublicKey, enough for the wrapping.
        let pkcs1 = [0x30, 0x06, 0x02, 0x01, 0x03, 0x02, 0x01, 0x01];
        let pem = x509_cert::der::pem::encode_string("RSA PUBLIC KEY", x509_cert::der::pem::LineEnding::LF, &pkcs1)
            .unwrap_or_default();
        let spki = public_key_spki(&pem).unwrap_or_default();
        let spki_pem = x509_cert::der::pem::encode_string("PUBLIC KEY", x509_cert::der::pem::LineEnding::LF, &spki)
            .unwrap_or_default();
        assert_eq!(public_key_spki(&spki_pem).ok(), Some(spki.clone()));
        assert!(spki.ends_with(&pkcs1));
    }

    #[test]
    fn a_re_wrapped_block_reads_the_same() {
        let der: Vec<u8> = (0u8..=200).collect();
        let pem = x509_cert::der::pem::encode_string("PUBLIC KEY", x509_cert::der::pem::LineEnding::LF, &der)
            .unwrap_or_default();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let one_line = format!("text before\r\n-----BEGIN PUBLIC KEY-----\r\n{body}\r\n-----END PUBLIC KEY-----\r\n");
        let read = blocks(&one_line);
        assert_eq!(read.len(), 1);
        assert_eq!(read.first().map(|b| (b.label.as_str(), b.der.clone())), Some(("PUBLIC KEY", der)));
    }
}
