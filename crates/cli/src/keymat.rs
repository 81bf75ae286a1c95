//! Key material: generation, PEM, fingerprints. Private keys stay in zeroizing buffers.

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use crate::error::{CliError, Exit, Result};

/// A freshly generated key pair and its self-signed certificate.
pub struct Generated {
    /// PKCS#8 private key PEM. Never printed; written only where the user asks.
    pub private_pem: Zeroizing<String>,
    /// SubjectPublicKeyInfo PEM: what Connect's AssociateSecurityKey takes.
    pub public_pem: String,
    /// Self-signed certificate PEM: what the Store customer input block takes.
    pub certificate_pem: String,
    /// SHA-256 of the SubjectPublicKeyInfo DER, lowercase hex.
    pub fingerprint: String,
    /// Modulus size.
    pub bits: u32,
    /// Certificate validity start.
    pub not_before: OffsetDateTime,
    /// Certificate validity end.
    pub not_after: OffsetDateTime,
}

/// Certificate request options.
pub struct CertOptions<'a> {
    /// Subject as `CN=...,O=...`.
    pub subject: &'a str,
    /// Validity start.
    pub not_before: OffsetDateTime,
    /// Days of validity.
    pub days: u32,
}

/// Generates an RSA key pair in memory and a self-signed certificate for it.
pub fn generate(bits: u32, cert: &CertOptions<'_>) -> Result<Generated> {
    let size = match bits {
        2048 => KeySize::Rsa2048,
        3072 => KeySize::Rsa3072,
        4096 => KeySize::Rsa4096,
        _ => {
            return Err(CliError::new(
                Exit::Input,
                format!("{bits}-bit RSA is not offered"),
                "use --bits 2048, 3072 or 4096",
            ));
        }
    };
    let internal = |what: &str| CliError::bare(Exit::Internal, format!("key generation failed: {what}"));
    let pair = KeyPair::generate(size).map_err(|_| internal("RSA generate"))?;
    let pkcs8 = Zeroizing::new(pair.as_der().map_err(|_| internal("PKCS#8 encoding"))?.as_ref().to_vec());
    let spki = pair.public_key().as_der().map_err(|_| internal("public key encoding"))?.as_ref().to_vec();

    let signer = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
        &rustls_pki_types::PrivatePkcs8KeyDer::from(pkcs8.as_slice()),
        &rcgen::PKCS_RSA_SHA256,
    )
    .map_err(|e| internal(&format!("loading the key for signing: {e}")))?;
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = parse_subject(cert.subject)?;
    params.not_before = cert.not_before;
    params.not_after = cert.not_before + Duration::days(i64::from(cert.days));
    params.is_ca = rcgen::IsCa::NoCa;
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature, rcgen::KeyUsagePurpose::KeyEncipherment];
    let certificate = params.self_signed(&signer).map_err(|e| internal(&format!("certificate signing: {e}")))?;

    Ok(Generated {
        private_pem: pem("PRIVATE KEY", &pkcs8),
        public_pem: pem("PUBLIC KEY", &spki).to_string(),
        certificate_pem: certificate.pem(),
        fingerprint: fingerprint_spki(&spki),
        bits,
        not_before: params.not_before,
        not_after: params.not_after,
    })
}

/// PEM-encodes DER with 64-column lines, in a zeroizing buffer.
pub fn pem(label: &str, der: &[u8]) -> Zeroizing<String> {
    let b64 = Zeroizing::new(STANDARD.encode(der));
    let mut out = Zeroizing::new(String::with_capacity(b64.len() + b64.len() / 64 + 64));
    out.push_str(&format!("-----BEGIN {label}-----\n"));
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// SHA-256 of SubjectPublicKeyInfo DER, lowercase hex.
pub fn fingerprint_spki(spki: &[u8]) -> String {
    digest(&SHA256, spki).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Fingerprint of a public key or certificate PEM.
pub fn fingerprint_public_pem(text: &str) -> Result<String> {
    let spki =
        esdk_message::key::public_key_from_pem(text).map_err(|e| crate::error::esdk("reading the public key", e))?;
    Ok(fingerprint_spki(&spki))
}

/// Facts about a private key PEM: its public key fingerprint and size.
pub struct PrivateFacts {
    /// Fingerprint of the matching public key.
    pub fingerprint: String,
    /// Modulus size.
    pub bits: u32,
}

/// Parses a private key PEM (PKCS#8 or PKCS#1) and derives its public half.
pub fn private_facts(text: &str) -> Result<PrivateFacts> {
    let der =
        esdk_message::key::private_key_from_pem(text).map_err(|e| crate::error::esdk("reading the private key", e))?;
    // Read from the DER before the backend sees the key: aws-lc refuses small keys with a generic
    // error, and the operator needs to read "too small".
    if let Ok(bits) = esdk_message::key::rsa_private_key_bits(&der)
        && bits < keystore::MIN_RSA_BITS
    {
        return Err(CliError::input(
            format!("the private key is too small: {}", too_small(bits)),
            "generate a new key with `secure-ivr keygen` (RSA-4096) and rotate to it",
        ));
    }
    let pair = KeyPair::from_pkcs8(der.as_bytes()).map_err(|_| {
        CliError::input(
            "the private key PEM does not hold a usable RSA key",
            "regenerate it with `secure-ivr keygen`, or export it unencrypted as PKCS#8 or PKCS#1",
        )
    })?;
    let spki = pair
        .public_key()
        .as_der()
        .map_err(|_| CliError::bare(Exit::Internal, "public key encoding failed"))?
        .as_ref()
        .to_vec();
    let bits = u32::try_from(pair.public_modulus_len() * 8).unwrap_or(0);
    Ok(PrivateFacts { fingerprint: fingerprint_spki(&spki), bits })
}

/// The RSA modulus size of a PEM private key, read from its DER without a backend; `None` if the
/// text is not a PEM RSA private key.
pub fn private_key_bits(text: &str) -> Option<usize> {
    let der = esdk_message::key::private_key_from_pem(text).ok()?;
    esdk_message::key::rsa_private_key_bits(&der).ok()
}

/// The shared wording of a too-small key.
pub fn too_small(bits: usize) -> String {
    format!("{bits} bits; at least {} required", keystore::MIN_RSA_BITS)
}

fn parse_subject(subject: &str) -> Result<rcgen::DistinguishedName> {
    let mut dn = rcgen::DistinguishedName::new();
    for part in subject.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').ok_or_else(|| bad_subject(subject))?;
        let kind = match k.trim().to_ascii_uppercase().as_str() {
            "CN" => rcgen::DnType::CommonName,
            "O" => rcgen::DnType::OrganizationName,
            "OU" => rcgen::DnType::OrganizationalUnitName,
            "C" => rcgen::DnType::CountryName,
            "ST" => rcgen::DnType::StateOrProvinceName,
            "L" => rcgen::DnType::LocalityName,
            _ => return Err(bad_subject(subject)),
        };
        dn.push(kind, v.trim());
    }
    Ok(dn)
}

fn bad_subject(subject: &str) -> CliError {
    CliError::input(
        format!("--subject {subject:?} is not a distinguished name this tool understands"),
        "write it as CN=name,O=org,OU=unit,C=GB (CN, O, OU, C, ST and L are accepted)",
    )
}

/// Checks a certificate PEM's validity window against `now`; returns (not_before, not_after).
pub fn certificate_validity(text: &str, now: OffsetDateTime) -> Result<(OffsetDateTime, OffsetDateTime)> {
    let der = first_certificate_der(text)?;
    let (nb, na) = crate::cert::validity(&der).map_err(|why| {
        CliError::input(format!("the certificate is malformed: {why}"), "regenerate it with `secure-ivr keygen`")
    })?;
    if now > na {
        return Err(CliError::input(
            format!("the certificate expired on {}", crate::output::rfc3339(na)),
            "create a new key and certificate: `secure-ivr rotate --instance-id ID`",
        ));
    }
    if now < nb {
        return Err(CliError::input(
            format!("the certificate is not valid until {}", crate::output::rfc3339(nb)),
            "wait until then, or generate a certificate valid from now",
        ));
    }
    Ok((nb, na))
}

/// The DER of the first CERTIFICATE block, if any.
pub fn first_certificate_der(text: &str) -> Result<Vec<u8>> {
    let begin = "-----BEGIN CERTIFICATE-----";
    let end = "-----END CERTIFICATE-----";
    let corrupt =
        || CliError::input("the certificate PEM is corrupt", "give the certificate file `secure-ivr keygen` wrote");
    let start = text.find(begin).ok_or_else(corrupt)? + begin.len();
    let rest = text.get(start..).ok_or_else(corrupt)?;
    let stop = rest.find(end).ok_or_else(corrupt)?;
    let b64: String = rest.get(..stop).ok_or_else(corrupt)?.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD.decode(b64).map_err(|_| corrupt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_certificate_carries_the_public_key_and_window() -> Result<()> {
        let now = OffsetDateTime::now_utc();
        let g = generate(2048, &CertOptions { subject: "CN=test,O=Example", not_before: now, days: 730 })?;
        assert_eq!(fingerprint_public_pem(&g.certificate_pem)?, g.fingerprint);
        assert_eq!(fingerprint_public_pem(&g.public_pem)?, g.fingerprint);
        let facts = private_facts(&g.private_pem)?;
        assert_eq!(facts.fingerprint, g.fingerprint);
        assert_eq!(facts.bits, 2048);
        let (nb, na) = certificate_validity(&g.certificate_pem, now + Duration::days(1))?;
        assert_eq!((na - nb).whole_days(), 730);
        Ok(())
    }

    #[test]
    fn rejects_expired_certificate() -> Result<()> {
        let start = OffsetDateTime::now_utc() - Duration::days(100);
        let g = generate(2048, &CertOptions { subject: "CN=old", not_before: start, days: 10 })?;
        let err = certificate_validity(&g.certificate_pem, OffsetDateTime::now_utc()).err();
        assert!(err.is_some_and(|e| e.message.contains("expired")));
        Ok(())
    }

    #[test]
    fn rejects_unknown_subject_attribute() {
        assert!(parse_subject("XX=1").is_err());
        assert!(parse_subject("CN").is_err());
    }
}
