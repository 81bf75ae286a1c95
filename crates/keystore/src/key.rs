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

/// The label of a block's BEGIN line (`-----BEGIN <label>-----`).
fn label_of(block: &str) -> Option<&str> {
    let after_begin = block.strip_prefix(PEM_BEGIN)?;
    after_begin.get(..after_begin.find("-----")?)
}

/// One PEM block laid out as RFC 7468 writes it (64-column lines, LF), in a zeroizing buffer
/// allocated at its final size. Keys pasted with other line widths, CRLF, or the lines joined by
/// spaces (as some consoles and shells do) were accepted before and stay accepted; the layout is
/// public, so only whitespace is looked at, never the value of a base64 character.
fn normalized(block: &str) -> Result<Zeroizing<String>, KeyError> {
    const MALFORMED: KeyError = KeyError::Malformed("PEM is malformed: no matching BEGIN and END lines");
    let label = label_of(block).ok_or(MALFORMED)?;
    let rest = block.get(PEM_BEGIN.len() + label.len() + 5..).ok_or(MALFORMED)?;
    let end_line = format!("-----END {label}-----");
    let body = rest.strip_suffix(end_line.as_str()).ok_or(MALFORMED)?;
    let chars = body.bytes().filter(|b| !b.is_ascii_whitespace()).count();
    let begin_line = format!("{PEM_BEGIN}{label}-----");
    let capacity = begin_line.len() + 1 + chars + chars.div_ceil(64) + end_line.len() + 1;
    let mut out = Zeroizing::new(String::with_capacity(capacity));
    out.push_str(&begin_line);
    out.push('\n');
    for (i, c) in body.chars().filter(|c| !c.is_ascii_whitespace()).enumerate() {
        if i > 0 && i % 64 == 0 {
            out.push('\n');
        }
        out.push(c);
    }
    if chars > 0 {
        out.push('\n');
    }
    out.push_str(&end_line);
    out.push('\n');
    Ok(out)
}

/// Decodes one PEM block into a zeroizing buffer of exactly its decoded size.
fn decode_block(block: &str) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let block = normalized(block)?;
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
            let label = label_of(block).unwrap_or("");
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

    /// The private key as a PKCS#8 `PRIVATE KEY` PEM (64-column lines, LF), in a zeroizing buffer
    /// encoded at its final size: what the CLI stores in SSM or writes to the file the user named.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, KeyError> {
        pem_rfc7468::encode_string(LABEL_PKCS8, pem_rfc7468::LineEnding::LF, self.der.as_bytes())
            .map(Zeroizing::new)
            .map_err(|_| KeyError::Malformed("the private key could not be PEM-encoded"))
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

#[cfg(test)]
#[allow(clippy::indexing_slicing, reason = "tests build malformed DER by hand; a panic is a failed test")]
mod tests {
    use test_support::fixtures::{
        KEY_A_PKCS8_2048, KEY_A_PUBLIC, KEY_B_PKCS1_3072, KEY_B_PUBLIC, KEY_C_PKCS8_4096, KEY_C_PUBLIC, KEY_WEAK_1024,
    };

    use super::*;

    /// The DER inside the first PEM block of a fixture.
    fn der_of(pem: &str) -> Vec<u8> {
        decode_block(blocks(pem)[0]).unwrap().to_vec()
    }

    fn pem_of(label: &str, der: &[u8]) -> String {
        pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der).unwrap()
    }

    // Known answers computed independently with OpenSSL 3.0.19:
    //   openssl pkey -in crates/test-support/fixtures/<key>.pem -pubout -outform DER | sha256sum
    // (and the same digest from the `-public.pem` files with `openssl pkey -pubin ... -outform DER`).
    const FP_A: &str = "293ad20d855faf55da82dcc3545bd13b0200c6001b0b84eb33bbdced4edf52cf";
    const FP_B: &str = "df9f6592642900fe436cae36dbd05b74ab6d75184e11362a4fc85750b0d47bc8";
    const FP_C: &str = "ecca81e74c34ab05639ff227e2eac66bd60a0b9495c6c356dff044313fe17fd3";

    #[test]
    fn fingerprints_match_openssl() {
        for (pem, bits, fp) in
            [(KEY_A_PKCS8_2048, 2048, FP_A), (KEY_B_PKCS1_3072, 3072, FP_B), (KEY_C_PKCS8_4096, 4096, FP_C)]
        {
            let key = StoredKey::from_pem(pem).unwrap();
            assert_eq!((key.bits(), key.fingerprint().as_str()), (bits, fp));
        }
    }

    #[test]
    fn public_half_is_openssls_spki() {
        for (private, public) in
            [(KEY_A_PKCS8_2048, KEY_A_PUBLIC), (KEY_B_PKCS1_3072, KEY_B_PUBLIC), (KEY_C_PKCS8_4096, KEY_C_PUBLIC)]
        {
            let key = StoredKey::from_pem(private).unwrap();
            assert_eq!(key.spki_der(), der_of(public).as_slice());
            assert_eq!(key.public_key_pem(), public, "same PEM as `openssl pkey -pubout`");
            assert_eq!(Fingerprint::of_spki(&der_of(public)), key.fingerprint());
        }
    }

    #[test]
    fn accepts_pkcs1_and_pkcs8_of_the_same_key() {
        // KEY_B is PKCS#1; its PKCS#8 form, built here, must give the same facts and DER.
        let pkcs1 = StoredKey::from_pem(KEY_B_PKCS1_3072).unwrap();
        let pkcs8 = pem_of("PRIVATE KEY", pkcs1.private_der().as_bytes());
        let again = StoredKey::from_pem(&pkcs8).unwrap();
        assert_eq!(again.private_der().as_bytes(), pkcs1.private_der().as_bytes());
        assert_eq!((again.bits(), again.fingerprint()), (3072, pkcs1.fingerprint()));
        // And a PKCS#8 key's inner RSAPrivateKey read as PKCS#1.
        let a = StoredKey::from_pem(KEY_A_PKCS8_2048).unwrap();
        let info = pkcs8::PrivateKeyInfo::from_der(a.private_der().as_bytes()).unwrap();
        let as_pkcs1 = StoredKey::from_pem(&pem_of("RSA PRIVATE KEY", info.private_key)).unwrap();
        assert_eq!(as_pkcs1.fingerprint().as_str(), FP_A);
    }

    #[test]
    fn writes_pkcs8_pem_that_reads_back() {
        // KEY_A is PKCS#8 as openssl wrote it: the same text back. KEY_B (PKCS#1) comes out as PKCS#8.
        assert_eq!(StoredKey::from_pem(KEY_A_PKCS8_2048).unwrap().to_pkcs8_pem().unwrap().as_str(), KEY_A_PKCS8_2048);
        let b = StoredKey::from_pem(KEY_B_PKCS1_3072).unwrap().to_pkcs8_pem().unwrap();
        assert!(b.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{}", &b[..40]);
        assert_eq!(StoredKey::from_pem(&b).unwrap().fingerprint().as_str(), FP_B);
    }

    #[test]
    fn the_size_rule_has_one_wording() {
        let expected = "the RSA key is 1024 bits, too small: at least 2048 bits are required";
        assert_eq!(KeyTooSmall { bits: 1024 }.to_string(), expected);
        let err = StoredKey::from_pem(KEY_WEAK_1024).unwrap_err();
        assert_eq!(err, KeyError::TooSmall(KeyTooSmall { bits: 1024 }));
        assert_eq!(err.to_string(), expected);
        assert_eq!(KeyTooSmall::check(2048), Ok(()));
        assert_eq!(KeyTooSmall::check(2047), Err(KeyTooSmall { bits: 2047 }));
    }

    #[test]
    fn refuses_a_public_key_or_certificate_with_that_reason() {
        for public in [KEY_A_PUBLIC, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"] {
            let err = StoredKey::from_pem(public).unwrap_err();
            assert_eq!(err, KeyError::PublicKeyOrCertificate);
            assert!(err.to_string().contains("public key or certificate, not the private key"), "{err}");
        }
        // A public key stored under a private label is malformed, not accepted.
        let mislabelled = pem_of("PRIVATE KEY", &der_of(KEY_A_PUBLIC));
        assert!(matches!(StoredKey::from_pem(&mislabelled), Err(KeyError::Malformed(_))));
    }

    #[test]
    fn refuses_text_that_is_no_usable_key() {
        assert_eq!(StoredKey::from_pem("hello").unwrap_err(), KeyError::NoPem);
        assert_eq!(StoredKey::from_pem("").unwrap_err(), KeyError::NoPem);
        let encrypted = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert_eq!(StoredKey::from_pem(encrypted).unwrap_err(), KeyError::Encrypted);
        let legacy_encrypted = KEY_B_PKCS1_3072.replacen(
            "-----\n",
            "-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00000000000000000000000000000000\n\n",
            1,
        );
        assert_eq!(StoredKey::from_pem(&legacy_encrypted).unwrap_err(), KeyError::Encrypted);
        let ec = "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n";
        assert_eq!(StoredKey::from_pem(ec).unwrap_err(), KeyError::NotRsa);
        let other = "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n";
        assert_eq!(StoredKey::from_pem(other).unwrap_err(), KeyError::NoPrivateKeyBlock);
        let bad_base64 = KEY_A_PKCS8_2048.replacen('M', "*", 1);
        assert!(matches!(StoredKey::from_pem(&bad_base64), Err(KeyError::Malformed(_))));
        let truncated: String =
            KEY_A_PKCS8_2048.lines().take(5).chain(["-----END PRIVATE KEY-----"]).collect::<Vec<_>>().join("\n");
        assert!(matches!(StoredKey::from_pem(&truncated), Err(KeyError::Malformed(_))));
    }

    #[test]
    fn refuses_pkcs8_of_another_algorithm() {
        // PrivateKeyInfo { 0, id-ecPublicKey (1.2.840.10045.2.1), OCTET STRING { SEQUENCE {} } }.
        let ec = [
            0x30, 0x11, 0x02, 0x01, 0x00, 0x30, 0x09, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x04, 0x01,
            0x00,
        ];
        assert_eq!(StoredKey::from_pem(&pem_of("PRIVATE KEY", &ec)).unwrap_err(), KeyError::NotRsa);
    }

    /// The DER of `der` (one TLV) with its outer length rewritten in BER's non-minimal long form.
    fn non_minimal_length(der: &[u8]) -> Vec<u8> {
        let (tag, rest) = der.split_first().unwrap();
        let n = usize::from(rest[0] & 0x7f);
        let len = rest[1..=n].iter().fold(0usize, |l, b| (l << 8) | usize::from(*b));
        let mut out = vec![*tag, 0x84];
        out.extend_from_slice(&u32::try_from(len).unwrap().to_be_bytes());
        out.extend_from_slice(&rest[1 + n..]);
        out
    }

    /// The same TLV with BER's indefinite length (0x80 ... 00 00).
    fn indefinite_length(der: &[u8]) -> Vec<u8> {
        let (tag, rest) = der.split_first().unwrap();
        let n = usize::from(rest[0] & 0x7f);
        let mut out = vec![*tag, 0x80];
        out.extend_from_slice(&rest[1 + n..]);
        out.extend_from_slice(&[0, 0]);
        out
    }

    #[test]
    fn refuses_ber_lengths_and_trailing_bytes() {
        for (label, pem) in [("PRIVATE KEY", KEY_A_PKCS8_2048), ("RSA PRIVATE KEY", KEY_B_PKCS1_3072)] {
            let der = der_of(pem);
            assert!(StoredKey::from_pem(&pem_of(label, &der)).is_ok(), "the unmodified DER parses");
            let mut trailing = der.clone();
            trailing.push(0);
            for (what, bytes) in [
                ("non-minimal length", non_minimal_length(&der)),
                ("indefinite length", indefinite_length(&der)),
                ("trailing byte", trailing),
            ] {
                let err = StoredKey::from_pem(&pem_of(label, &bytes)).unwrap_err();
                assert!(matches!(err, KeyError::Malformed(_)), "{label} with a {what}: {err:?}");
            }
        }
    }

    #[test]
    fn truncated_der_is_refused_at_every_length() {
        for (label, pem) in [("PRIVATE KEY", KEY_A_PKCS8_2048), ("RSA PRIVATE KEY", KEY_B_PKCS1_3072)] {
            let der = der_of(pem);
            for len in 0..der.len() {
                let err = StoredKey::from_pem(&pem_of(label, &der[..len])).unwrap_err();
                assert!(matches!(err, KeyError::Malformed(_)), "{label} cut to {len} bytes: {err:?}");
            }
        }
    }

    #[test]
    fn altered_der_never_panics() {
        // Every byte of the DER changed in turn: parsing may accept (a modulus byte) or refuse,
        // but never panics, and an accepted key still obeys the size rule.
        let der = der_of(KEY_A_PKCS8_2048);
        for i in 0..der.len() {
            let mut bytes = der.clone();
            bytes[i] ^= 0x41;
            if let Ok(key) = StoredKey::from_pem(&pem_of("PRIVATE KEY", &bytes)) {
                assert!(key.bits() >= MIN_RSA_BITS, "byte {i}");
            }
        }
    }

    #[test]
    fn accepts_other_line_layouts_as_before() {
        let body: String = KEY_A_PKCS8_2048.lines().filter(|l| !l.starts_with("-----")).collect();
        for layout in [
            // One line of base64, as `tr -d '\n'` leaves it between the markers.
            format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n"),
            // 76-column lines (MIME), CRLF.
            {
                let lines: Vec<&str> = body.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).unwrap()).collect();
                format!("-----BEGIN PRIVATE KEY-----\r\n{}\r\n-----END PRIVATE KEY-----", lines.join("\r\n"))
            },
            // Newlines turned into spaces by a single-line field.
            KEY_A_PKCS8_2048.replace('\n', " "),
        ] {
            assert_eq!(StoredKey::from_pem(&layout).unwrap().fingerprint().as_str(), FP_A, "{:.60}", layout);
        }
        // A base64 character lost is still refused.
        let short = format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", &body[1..]);
        assert!(matches!(StoredKey::from_pem(&short), Err(KeyError::Malformed(_))));
        let mismatched = KEY_A_PKCS8_2048.replace("END PRIVATE KEY", "END RSA PRIVATE KEY");
        assert!(matches!(StoredKey::from_pem(&mismatched), Err(KeyError::Malformed(_))));
    }

    #[test]
    fn normalizing_allocates_once() {
        let block = KEY_C_PKCS8_4096.replace('\n', " ");
        let out = normalized(block.trim_end()).unwrap();
        assert_eq!(out.len(), out.capacity(), "the capacity computed up front is exactly what was written");
        assert_eq!(out.as_str(), KEY_C_PKCS8_4096);
    }

    #[test]
    fn takes_the_private_key_among_other_blocks() {
        let bundle = format!("Bag Attributes: x\n{KEY_A_PUBLIC}\n\n{KEY_C_PKCS8_4096}\n\n");
        assert_eq!(StoredKey::from_pem(&bundle).unwrap().fingerprint().as_str(), FP_C);
        let crlf = KEY_A_PKCS8_2048.replace('\n', "\r\n");
        assert_eq!(StoredKey::from_pem(&crlf).unwrap().fingerprint().as_str(), FP_A);
    }

    #[test]
    fn connect_keyring_names_the_key_id() {
        let provider = esdk_message::provider::default_provider();
        let keyring = StoredKey::from_pem(KEY_B_PKCS1_3072).unwrap().connect_keyring(provider, "k-1").unwrap();
        assert_eq!((keyring.name(), keyring.bits()), ("k-1", 3072));
    }

    #[test]
    fn debug_shows_facts_not_key_material() {
        let key = StoredKey::from_pem(KEY_A_PKCS8_2048).unwrap();
        let text = format!("{key:?}");
        assert!(text.contains(FP_A) && text.contains("2048"), "{text}");
        for line in KEY_A_PKCS8_2048.lines().filter(|l| !l.starts_with("-----")) {
            assert!(!text.contains(line));
        }
    }
}
