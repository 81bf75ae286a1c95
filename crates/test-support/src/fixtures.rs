//! The test keys, once (`crates/test-support/fixtures/`). Test-only: they protect nothing.

use std::path::PathBuf;

/// The fixtures folder.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// A file in the fixtures folder.
pub fn path(name: &str) -> PathBuf {
    dir().join(name)
}

/// The DER inside a single-block PEM fixture (RFC 7468, through `pem-rfc7468`), for tests of code
/// that takes DER, such as the message-format crate's keyrings.
///
/// # Panics
/// When `pem` is not one well-formed PEM block: a fixture that does not decode is a broken test.
pub fn der(pem: &str) -> Vec<u8> {
    match pem_rfc7468::decode_vec(pem.trim().as_bytes()) {
        Ok((_, der)) => der,
        Err(e) => panic!("fixture is not one PEM block: {e}"),
    }
}

/// PKCS#8 RSA-2048 private key.
pub const KEY_A_PKCS8_2048: &str = include_str!("../fixtures/test-only-a-pkcs8-2048.pem");
/// Public half of [`KEY_A_PKCS8_2048`] (SubjectPublicKeyInfo PEM).
pub const KEY_A_PUBLIC: &str = include_str!("../fixtures/test-only-a-public.pem");
/// PKCS#1 RSA-3072 private key.
pub const KEY_B_PKCS1_3072: &str = include_str!("../fixtures/test-only-b-pkcs1-3072.pem");
/// Public half of [`KEY_B_PKCS1_3072`].
pub const KEY_B_PUBLIC: &str = include_str!("../fixtures/test-only-b-public.pem");
/// PKCS#8 RSA-4096 private key (the size Connect recommends).
pub const KEY_C_PKCS8_4096: &str = include_str!("../fixtures/test-only-c-pkcs8-4096.pem");
/// Public half of [`KEY_C_PKCS8_4096`].
pub const KEY_C_PUBLIC: &str = include_str!("../fixtures/test-only-c-public.pem");
/// RSA-1024 private key: below the size rule, must be refused.
pub const KEY_WEAK_1024: &str = include_str!("../fixtures/test-only-weak-1024.pem");
/// Public half of [`KEY_WEAK_1024`].
pub const KEY_WEAK_PUBLIC: &str = include_str!("../fixtures/test-only-weak-public.pem");
/// The message-format crate's PKCS#8 RSA-4096 test key.
pub const RSA_4096_TEST_KEY: &str = include_str!("../fixtures/rsa-4096-test-key.pem");
/// Public half of [`RSA_4096_TEST_KEY`].
pub const RSA_4096_TEST_PUBLIC: &str = include_str!("../fixtures/rsa-4096-test-key.pub.pem");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_the_files_the_constants_hold() {
        let read = |name: &str| std::fs::read_to_string(path(name)).unwrap();
        assert_eq!(read("test-only-a-pkcs8-2048.pem"), KEY_A_PKCS8_2048);
        assert_eq!(read("rsa-4096-test-key.pub.pem"), RSA_4096_TEST_PUBLIC);
        assert!(KEY_B_PKCS1_3072.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        assert!(KEY_C_PUBLIC.starts_with("-----BEGIN PUBLIC KEY-----"));
    }

    #[test]
    fn der_decodes_the_pem_body() {
        // SEQUENCE with a two-byte long-form length: an RSA-4096 PKCS#8 key is about 2.3 KB.
        let key = der(RSA_4096_TEST_KEY);
        assert_eq!(key.get(..2), Some(&[0x30, 0x82][..]));
        assert_eq!(usize::from(key[2]) << 8 | usize::from(key[3]), key.len() - 4);
        assert_eq!(der(KEY_A_PUBLIC).len(), 294, "an RSA-2048 SubjectPublicKeyInfo is 294 bytes");
    }
}
