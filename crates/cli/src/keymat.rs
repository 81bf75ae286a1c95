//! Key material: generation, PEM, fingerprints. Private keys stay in zeroizing buffers.

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use crate::error::{CliError, Exit, Result};

/// A freshly generated key pair and its self-signed certificate.
pub(crate) struct Generated {
    /// PKCS#8 private key PEM. Never printed; written only where the user asks.
    pub(crate) private_pem: Zeroizing<String>,
    /// SubjectPublicKeyInfo PEM: what Connect's AssociateSecurityKey takes.
    pub(crate) public_pem: String,
    /// Self-signed certificate PEM: what the Store customer input block takes.
    pub(crate) certificate_pem: String,
    /// SHA-256 of the SubjectPublicKeyInfo DER, lowercase hex.
    pub(crate) fingerprint: String,
    /// Modulus size.
    pub(crate) bits: u32,
    /// Certificate validity start.
    pub(crate) not_before: OffsetDateTime,
    /// Certificate validity end.
    pub(crate) not_after: OffsetDateTime,
}

/// Certificate request options.
pub(crate) struct CertOptions<'a> {
    /// Subject as `CN=...,O=...`.
    pub(crate) subject: &'a str,
    /// Validity start.
    pub(crate) not_before: OffsetDateTime,
    /// Days of validity.
    pub(crate) days: u32,
}

/// Generates an RSA key pair in memory and a self-signed certificate for it.
pub(crate) fn generate(bits: u32, cert: &CertOptions<'_>) -> Result<Generated> {
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
        private_pem: pem("PRIVATE KEY", &pkcs8)?,
        public_pem: pem("PUBLIC KEY", &spki)?.to_string(),
        certificate_pem: certificate.pem(),
        fingerprint: fingerprint_spki(&spki),
        bits,
        not_before: params.not_before,
        not_after: params.not_after,
    })
}

/// PEM-encodes DER with 64-column lines (RFC 7468, constant-time base64), in a zeroizing buffer.
pub(crate) fn pem(label: &str, der: &[u8]) -> Result<Zeroizing<String>> {
    x509_cert::der::pem::encode_string(label, x509_cert::der::pem::LineEnding::LF, der)
        .map(Zeroizing::new)
        .map_err(|_| CliError::bare(Exit::Internal, format!("PEM encoding of {label} failed")))
}

/// SHA-256 of SubjectPublicKeyInfo DER, lowercase hex ([`keystore::Fingerprint`]).
pub(crate) fn fingerprint_spki(spki: &[u8]) -> String {
    keystore::Fingerprint::of_spki(spki).to_string()
}

/// The SubjectPublicKeyInfo DER of a public key or certificate PEM ([`crate::cert`]).
pub(crate) fn public_key_spki(text: &str) -> Result<Vec<u8>> {
    crate::cert::public_key_spki(text).map_err(|e| {
        CliError::input(
            format!("reading the public key: {e}"),
            "give an RSA public key or certificate in PEM (BEGIN PUBLIC KEY / CERTIFICATE)",
        )
    })
}

/// Fingerprint of a public key or certificate PEM.
pub(crate) fn fingerprint_public_pem(text: &str) -> Result<String> {
    Ok(fingerprint_spki(&public_key_spki(text)?))
}

/// Reads a private key PEM through [`keystore::StoredKey`]: the key store's parser, size rule
/// and wording, so the CLI says of a key exactly what the Lambda says.
pub(crate) fn stored_key(text: &str) -> Result<keystore::StoredKey> {
    keystore::StoredKey::from_pem(text).map_err(key_error)
}

/// A [`keystore::KeyError`] as a sentence with a next step.
pub(crate) fn key_error(e: keystore::KeyError) -> CliError {
    match e {
        keystore::KeyError::TooSmall(_) => CliError::input(
            format!("the private key is unusable: {e}"),
            "generate a new key with `secure-ivr keygen` (RSA-4096) and rotate to it",
        ),
        _ => CliError::input(
            format!("the private key is unusable: {e}"),
            "give an unencrypted RSA private key in PEM (BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY), \
             such as the one `secure-ivr keygen --private-key-out` wrote",
        ),
    }
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
pub(crate) fn certificate_validity(text: &str, now: OffsetDateTime) -> Result<(OffsetDateTime, OffsetDateTime)> {
    use crate::cert::PublicError;
    let read = crate::cert::first_certificate(text).and_then(|c| crate::cert::validity(&c));
    let (nb, na) = match read {
        Ok(window) => window,
        Err(PublicError::NoCertificate) => {
            return Err(CliError::input(
                "the certificate PEM is corrupt",
                "give the certificate file `secure-ivr keygen` wrote",
            ));
        }
        Err(e) => return Err(CliError::input(e.to_string(), "regenerate it with `secure-ivr keygen`")),
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_certificate_carries_the_public_key_and_window() -> Result<()> {
        let now = OffsetDateTime::now_utc();
        let g = generate(2048, &CertOptions { subject: "CN=test,O=Example", not_before: now, days: 730 })?;
        assert_eq!(fingerprint_public_pem(&g.certificate_pem)?, g.fingerprint);
        assert_eq!(fingerprint_public_pem(&g.public_pem)?, g.fingerprint);
        let stored = stored_key(&g.private_pem)?;
        assert_eq!(stored.fingerprint().as_str(), g.fingerprint);
        assert_eq!(stored.bits(), 2048);
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
