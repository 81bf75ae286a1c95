//! A stored private key: reading its PEM, the size rule and its wording, and the facts the CLI and
//! the Lambda state about it (bits, SubjectPublicKeyInfo, fingerprint).
//!
//! PEM goes through `pem-rfc7468` (RFC 7468 strict grammar, constant-time base64) into one
//! zeroizing buffer of the exact decoded size; the DER through `pkcs8` and `pkcs1` (`der`: DER only,
//! so BER's indefinite or non-minimal lengths and trailing bytes are refused).

use core::fmt;

use esdk_message::key::PrivateKeyDer;
use esdk_message::keyring::{CONNECT_NAMESPACE, CONNECT_PADDING, RawRsaKeyring};
use esdk_message::provider::CryptoProvider;
use pkcs1::der::asn1::{AnyRef, BitStringRef};
use pkcs1::der::{Decode as _, Encode as _};
use pkcs8::spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};
use sha2::Digest as _;
use zeroize::Zeroizing;

/// Smallest RSA modulus accepted, by the Lambda and the CLI alike. Connect itself asks for
/// 4096-bit keys; below 2048 is broken.
pub const MIN_RSA_BITS: usize = 2048;

/// A key below [`MIN_RSA_BITS`]. Its `Display` is the one wording every entry point shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyTooSmall {
    /// The key's modulus size.
    pub bits: usize,
}

impl KeyTooSmall {
    /// The size rule: `Err` when `bits` is below [`MIN_RSA_BITS`].
    pub fn check(bits: usize) -> Result<(), Self> {
        if bits < MIN_RSA_BITS { Err(Self { bits }) } else { Ok(()) }
    }
}

impl fmt::Display for KeyTooSmall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the RSA key is {} bits, too small: at least {MIN_RSA_BITS} bits are required", self.bits)
    }
}

/// Why a text is not a usable stored private key. Names no parameter and holds no key material.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// No PEM block at all.
    NoPem,
    /// A passphrase-protected key (`ENCRYPTED PRIVATE KEY`, or OpenSSL's `Proc-Type` headers).
    Encrypted,
    /// A public key or certificate where the private key was expected.
    PublicKeyOrCertificate,
    /// A private key, but not RSA (an EC key, or PKCS#8 with another algorithm).
    NotRsa,
    /// PEM blocks, none of them a private key.
    NoPrivateKeyBlock,
    /// The PEM or DER is malformed; the string says where.
    Malformed(&'static str),
    /// The size rule.
    TooSmall(KeyTooSmall),
    /// The crypto backend refused a key that parsed.
    Refused,
}

impl KeyError {
    /// The reason as a static phrase (what [`crate::KeyStoreError::InvalidKey`] carries).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NoPem => "no PEM block found",
            Self::Encrypted => "PEM key is encrypted with a passphrase; store it unencrypted",
            Self::PublicKeyOrCertificate => "PEM holds a public key or certificate, not the private key",
            Self::NotRsa => "PEM holds a private key that is not RSA; an RSA key is required",
            Self::NoPrivateKeyBlock => "PEM holds no PRIVATE KEY or RSA PRIVATE KEY block",
            Self::Malformed(what) => what,
            Self::TooSmall(_) => "the RSA key is too small",
            Self::Refused => "the crypto backend refused the RSA private key",
        }
    }
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooSmall(small) => small.fmt(f),
            other => f.write_str(other.reason()),
        }
    }
}

impl std::error::Error for KeyError {}

impl From<KeyTooSmall> for KeyError {
    fn from(small: KeyTooSmall) -> Self {
        Self::TooSmall(small)
    }
}

/// SHA-256 of a SubjectPublicKeyInfo DER, as 64 lowercase hex digits: how the CLI names a key in
/// tags, pending parameter names and output.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// Length of the hex form.
    pub const HEX_LEN: usize = 64;

    /// The fingerprint of SubjectPublicKeyInfo DER.
    pub fn of_spki(spki_der: &[u8]) -> Self {
        let digest = sha2::Sha256::digest(spki_der);
        Self(digest.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Reads the hex form (any case); `None` unless exactly [`Fingerprint::HEX_LEN`] hex digits.
    pub fn parse(hex: &str) -> Option<Self> {
        (hex.len() == Self::HEX_LEN && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| Self(hex.to_ascii_lowercase()))
    }

    /// The lowercase hex form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", self.0)
    }
}

/// A parsed RSA private key that passed the size rule: its PKCS#8 DER (zeroized on drop) and the
/// facts of its public half. `Debug` shows only the facts.
pub struct StoredKey {
    der: PrivateKeyDer,
    bits: usize,
    spki: Vec<u8>,
}

impl fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredKey").field("bits", &self.bits).field("fingerprint", &self.fingerprint()).finish()
    }
}

const LABEL_PKCS8: &str = "PRIVATE KEY";
const LABEL_PKCS1: &str = "RSA PRIVATE KEY";
const PEM_BEGIN: &str = "-----BEGIN ";

/// The PEM blocks of a text, each from its BEGIN line to the next (whitespace around them
/// dropped). Framing only: the decoding and validation of each block is `pem-rfc7468`'s.
fn blocks(text: &str) -> Vec<&str> {
    let starts: Vec<usize> = text.match_indices(PEM_BEGIN).map(|(i, _)| i).collect();
    let ends = starts.iter().skip(1).copied().chain([text.len()]);
    starts.iter().zip(ends).filter_map(|(&s, e)| text.get(s..e)).map(str::trim_end).collect()
}

/// Decodes one PEM block into a zeroizing buffer of exactly its decoded size.
fn decode_block(block: &str) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let bytes = block.as_bytes();
    let len = pem_rfc7468::Decoder::new(bytes)
        .map_err(|_| {
            KeyError::Malformed("PEM is malformed (RFC 7468: 64-column base64 between matching BEGIN and END lines)")
        })?
        .remaining_len();
    let mut buf = Zeroizing::new(vec![0u8; len]);
    let used = pem_rfc7468::decode(bytes, &mut buf)
        .map_err(|e| match e {
            pem_rfc7468::Error::HeaderDisallowed => KeyError::Encrypted,
            _ => KeyError::Malformed("PEM body is not valid base64"),
        })?
        .1
        .len();
    buf.truncate(used);
    Ok(buf)
}

/// The modulus size of a big-endian unsigned integer.
fn bit_len(magnitude: &[u8]) -> usize {
    let skip = magnitude.iter().take_while(|&&b| b == 0).count();
    let significant = magnitude.get(skip..).unwrap_or_default();
    significant.first().map_or(0, |&top| significant.len() * 8 - usize::try_from(top.leading_zeros()).unwrap_or(8))
}

/// rsaEncryption with NULL parameters (RFC 8017 §A.1; RFC 3279 §2.3.1).
fn rsa_algorithm() -> AlgorithmIdentifierRef<'static> {
    AlgorithmIdentifierRef { oid: pkcs1::ALGORITHM_OID, parameters: Some(AnyRef::NULL) }
}

/// Encodes a DER value into a zeroizing buffer of exactly its length.
fn encode_secret<T: pkcs1::der::Encode>(value: &T) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let len = value.encoded_len().ok().and_then(|l| usize::try_from(u32::from(l)).ok());
    let mut buf = Zeroizing::new(vec![0u8; len.ok_or(KeyError::Malformed("key too large to encode"))?]);
    value.encode_to_slice(&mut buf).map_err(|_| KeyError::Malformed("key could not be re-encoded"))?;
    Ok(buf)
}

impl StoredKey {
    /// Reads the first RSA private key of a PEM text: PKCS#8 (`PRIVATE KEY`, what `openssl genpkey`
    /// writes) or PKCS#1 (`RSA PRIVATE KEY`, `openssl genrsa -traditional`), and applies the size
    /// rule ([`MIN_RSA_BITS`]).
    ///
    /// The text is the caller's: keep it in a [`Zeroizing`] buffer (as the key store does).
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let mut labels = Vec::new();
        for block in blocks(text) {
            let label = pem_rfc7468::decode_label(block.as_bytes()).unwrap_or("");
            match label {
                LABEL_PKCS8 | LABEL_PKCS1 => {
                    if block.contains("Proc-Type:") || block.contains("DEK-Info:") {
                        return Err(KeyError::Encrypted);
                    }
                    let der = decode_block(block)?;
                    return if label == LABEL_PKCS8 { Self::from_pkcs8_der(der) } else { Self::from_pkcs1_der(&der) };
                }
                "ENCRYPTED PRIVATE KEY" => return Err(KeyError::Encrypted),
                "EC PRIVATE KEY" | "DSA PRIVATE KEY" | "OPENSSH PRIVATE KEY" => return Err(KeyError::NotRsa),
                other => labels.push(other),
            }
        }
        if labels.is_empty() {
            Err(KeyError::NoPem)
        } else if labels.iter().any(|l| matches!(*l, "PUBLIC KEY" | "RSA PUBLIC KEY" | "CERTIFICATE")) {
            Err(KeyError::PublicKeyOrCertificate)
        } else {
            Err(KeyError::NoPrivateKeyBlock)
        }
    }

    /// From PKCS#8 `PrivateKeyInfo` DER (RFC 5208 §5) holding an RSA key.
    pub fn from_pkcs8_der(der: Zeroizing<Vec<u8>>) -> Result<Self, KeyError> {
        let info = pkcs8::PrivateKeyInfo::from_der(&der)
            .map_err(|_| KeyError::Malformed("PRIVATE KEY block is not a DER PKCS#8 PrivateKeyInfo"))?;
        if info.algorithm.oid != pkcs1::ALGORITHM_OID {
            return Err(KeyError::NotRsa);
        }
        if info.algorithm.parameters.is_some_and(|p| p != AnyRef::NULL) {
            return Err(KeyError::Malformed("rsaEncryption parameters are not NULL"));
        }
        let (bits, spki) = Self::facts(info.private_key)?;
        Ok(Self { der: PrivateKeyDer::from_pkcs8_der(der), bits, spki })
    }

    /// From PKCS#1 `RSAPrivateKey` DER (RFC 8017 §A.1.2); wrapped in PKCS#8 for the keyrings.
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, KeyError> {
        let (bits, spki) = Self::facts(der)?;
        let info = pkcs8::PrivateKeyInfo { algorithm: rsa_algorithm(), private_key: der, public_key: None };
        Ok(Self { der: PrivateKeyDer::from_pkcs8_der(encode_secret(&info)?), bits, spki })
    }

    /// Size rule and public half of an `RSAPrivateKey`.
    fn facts(pkcs1_der: &[u8]) -> Result<(usize, Vec<u8>), KeyError> {
        let key = pkcs1::RsaPrivateKey::from_der(pkcs1_der)
            .map_err(|_| KeyError::Malformed("the RSA private key is not DER RSAPrivateKey (RFC 8017 A.1.2)"))?;
        let bits = bit_len(key.modulus.as_bytes());
        KeyTooSmall::check(bits)?;
        let public = pkcs1::RsaPublicKey { modulus: key.modulus, public_exponent: key.public_exponent };
        let public_der = public.to_der().map_err(|_| KeyError::Malformed("the RSA public key could not be encoded"))?;
        let spki = SubjectPublicKeyInfoRef {
            algorithm: rsa_algorithm(),
            subject_public_key: BitStringRef::from_bytes(&public_der)
                .map_err(|_| KeyError::Malformed("the RSA public key could not be encoded"))?,
        }
        .to_der()
        .map_err(|_| KeyError::Malformed("the RSA public key could not be encoded"))?;
        Ok((bits, spki))
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// The public half as SubjectPublicKeyInfo DER (rsaEncryption, NULL parameters).
    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    /// SHA-256 of [`StoredKey::spki_der`].
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of_spki(&self.spki)
    }

    /// The public half as a `PUBLIC KEY` PEM (64-column lines, LF): what Connect's
    /// AssociateSecurityKey takes.
    pub fn public_key_pem(&self) -> String {
        pem_rfc7468::encode_string("PUBLIC KEY", pem_rfc7468::LineEnding::LF, &self.spki).unwrap_or_default()
    }

    /// The PKCS#8 DER, for the keyrings.
    pub fn private_der(&self) -> &PrivateKeyDer {
        &self.der
    }

    /// Amazon Connect's decrypt-only keyring for `key_id`.
    pub fn connect_keyring(&self, provider: &dyn CryptoProvider, key_id: &str) -> Result<RawRsaKeyring, KeyError> {
        let keyring = RawRsaKeyring::from_private_key(provider, CONNECT_NAMESPACE, key_id, &self.der, CONNECT_PADDING)
            .map_err(|_| KeyError::Refused)?;
        KeyTooSmall::check(keyring.bits())?;
        Ok(keyring)
    }
}
