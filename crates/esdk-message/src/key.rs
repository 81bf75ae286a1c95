//! Reading RSA keys and certificates from PEM, without any backend.
//!
//! Being replaced (issue 11): the stored private key is read by `keystore::StoredKey` through
//! `pem-rfc7468`/`pkcs8`/`pkcs1`, and the keyrings take DER ([`PrivateKeyDer`]). The PEM reader
//! here is left only for [`crate::encrypt_connect`], until its last caller (the fuzz crate) moves.
//!
//! Public material is normalised to SubjectPublicKeyInfo DER (from "PUBLIC KEY", "RSA PUBLIC KEY"
//! or the first "CERTIFICATE"). The DER walker below reads only the few structures this needs.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use crate::Error;
use crate::cursor::Cursor;

/// A PKCS#8 DER private key. Zeroized on drop; never printed.
pub struct PrivateKeyDer(Zeroizing<Vec<u8>>);

impl PrivateKeyDer {
    /// The DER bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Wraps PKCS#8 DER bytes the caller already has.
    pub fn from_pkcs8_der(der: Zeroizing<Vec<u8>>) -> Self {
        Self(der)
    }
}

impl core::fmt::Debug for PrivateKeyDer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("PrivateKeyDer(<redacted>)")
    }
}

/// One PEM block: its label and decoded bytes (zeroized on drop, since it may be a private key).
struct PemBlock {
    label: String,
    der: Zeroizing<Vec<u8>>,
}

fn pem_blocks(text: &str) -> Result<Vec<PemBlock>, Error> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = rest.get(start + 11..).ok_or(Error::InvalidKey("malformed PEM header"))?;
        let label_end = after.find("-----").ok_or(Error::InvalidKey("malformed PEM header"))?;
        let label = after.get(..label_end).ok_or(Error::InvalidKey("malformed PEM header"))?;
        let body = after.get(label_end + 5..).ok_or(Error::InvalidKey("malformed PEM header"))?;
        let end_marker = format!("-----END {label}-----");
        let end = body.find(&end_marker).ok_or(Error::InvalidKey("PEM block has no matching END line"))?;
        let b64 = body.get(..end).ok_or(Error::InvalidKey("malformed PEM body"))?;
        if b64.contains("Proc-Type:") || b64.contains("DEK-Info:") {
            return Err(Error::InvalidKey("PEM key is encrypted with a passphrase; store it unencrypted"));
        }
        // Audit finding 8: one buffer each for the base64 text and the DER, allocated at their
        // final size and wiped on drop (collecting into a growing String left freed copies).
        let mut compact = Zeroizing::new(String::with_capacity(b64.len()));
        compact.extend(b64.chars().filter(|c| !c.is_ascii_whitespace()));
        let mut der = Zeroizing::new(vec![0u8; compact.len() / 4 * 3 + 3]);
        let len = STANDARD
            .decode_slice(compact.as_bytes(), der.as_mut_slice())
            .map_err(|_| Error::InvalidKey("PEM body is not valid base64"))?;
        der.truncate(len);
        blocks.push(PemBlock { label: label.to_owned(), der });
        rest = body.get(end + end_marker.len()..).unwrap_or("");
    }
    if blocks.is_empty() {
        return Err(Error::InvalidKey("no PEM block found"));
    }
    Ok(blocks)
}

/// Reads RSA public key material as SubjectPublicKeyInfo DER.
pub fn public_key_from_pem(text: &str) -> Result<Vec<u8>, Error> {
    let blocks = pem_blocks(text)?;
    for block in &blocks {
        match block.label.as_str() {
            "PUBLIC KEY" => return Ok(block.der.to_vec()),
            "RSA PUBLIC KEY" => return Ok(pkcs1_public_to_spki(&block.der)),
            "CERTIFICATE" => return spki_from_certificate(&block.der),
            _ => {}
        }
    }
    if blocks.iter().any(|b| b.label.contains("PRIVATE KEY")) {
        return Err(Error::InvalidKey("PEM holds a private key; give the public key or certificate"));
    }
    Err(Error::InvalidKey("PEM holds no PUBLIC KEY or CERTIFICATE block"))
}

// AlgorithmIdentifier { rsaEncryption, NULL }
const RSA_ALGORITHM_ID: [u8; 15] =
    [0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];

fn der_len(out: &mut Vec<u8>, len: usize) {
    let bytes = (len as u64).to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    let significant = bytes.get(skip..).unwrap_or(&[]);
    if len < 0x80 {
        out.extend_from_slice(significant.get(..1).unwrap_or(&[0]));
    } else {
        out.push(0x80 | u8::try_from(significant.len()).unwrap_or(8));
        out.extend_from_slice(significant);
    }
}

fn der_tlv(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.push(tag);
    der_len(out, content.len());
    out.extend_from_slice(content);
}

/// SubjectPublicKeyInfo { rsaEncryption, BIT STRING { RSAPublicKey } }.
fn pkcs1_public_to_spki(pkcs1: &[u8]) -> Vec<u8> {
    let mut bits = Vec::with_capacity(pkcs1.len() + 1);
    bits.push(0);
    bits.extend_from_slice(pkcs1);
    let mut inner = RSA_ALGORITHM_ID.to_vec();
    der_tlv(&mut inner, 0x03, &bits);
    let mut out = Vec::with_capacity(inner.len() + 8);
    der_tlv(&mut out, 0x30, &inner);
    out
}

/// Reads one DER TLV (definite lengths only), returning the tag and the content.
fn der_read<'a>(c: &mut Cursor<'a>) -> Result<(u8, &'a [u8]), Error> {
    let bad = |_| Error::InvalidKey("malformed DER");
    let tag = c.u8("DER tag").map_err(bad)?;
    let first = c.u8("DER length").map_err(bad)?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return Err(Error::InvalidKey("malformed DER length"));
        }
        let mut len = 0usize;
        for b in c.take(n, "DER length").map_err(bad)? {
            len = (len << 8) | usize::from(*b);
        }
        len
    };
    let content = c.take(len, "DER content").map_err(bad)?;
    Ok((tag, content))
}

/// The SubjectPublicKeyInfo of an X.509 certificate, as DER.
fn spki_from_certificate(cert: &[u8]) -> Result<Vec<u8>, Error> {
    let bad = Error::InvalidKey("malformed X.509 certificate");
    let mut outer = Cursor::new(cert);
    let (tag, certificate) = der_read(&mut outer)?;
    if tag != 0x30 {
        return Err(bad);
    }
    let (tag, tbs) = der_read(&mut Cursor::new(certificate))?;
    if tag != 0x30 {
        return Err(bad);
    }
    let mut c = Cursor::new(tbs);
    let mut field = der_read(&mut c)?;
    if field.0 == 0xa0 {
        field = der_read(&mut c)?; // explicit version, then serialNumber
    }
    if field.0 != 0x02 {
        return Err(bad);
    }
    for _ in 0..4 {
        der_read(&mut c)?; // signature, issuer, validity, subject
    }
    let before = c.rest();
    let (tag, _) = der_read(&mut c)?;
    if tag != 0x30 {
        return Err(bad);
    }
    let len = before.len() - c.remaining();
    before.get(..len).map(<[u8]>::to_vec).ok_or(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_a_private_key_from_a_public_one() {
        let pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        let err = public_key_from_pem(pem);
        assert_eq!(err, Err(Error::InvalidKey("PEM holds a private key; give the public key or certificate")));
    }

    #[test]
    fn refuses_text_without_pem() {
        assert_eq!(public_key_from_pem("hello"), Err(Error::InvalidKey("no PEM block found")));
    }

    #[test]
    fn writes_long_form_der_lengths() {
        let mut v = Vec::new();
        der_len(&mut v, 0x7f);
        der_len(&mut v, 0x80);
        der_len(&mut v, 0x1234);
        assert_eq!(v, [0x7f, 0x81, 0x80, 0x82, 0x12, 0x34]);
    }
}
