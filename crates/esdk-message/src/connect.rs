//! Amazon Connect's message policy, in one place: which suites, how many data keys, whose key.
//!
//! Connect's "Store customer input" block encrypts with the raw RSA keyring of the ESDK:
//! provider ID `AmazonConnect`, provider info = the key ID, OAEP-SHA512. Today it writes suite
//! 0x0378 (non-committing, signed). The committing signed suite 0x0578 uses the same keyring,
//! so it is accepted too: a move by Connect to commitment must not stop every call. Nothing
//! else is a Connect message.
//!
//! The Lambda and the CLI both ask [`connect_key_id`] which key a message needs, and decrypt with
//! [`crate::DecryptOptions::connect`], built from the same [`CONNECT_SUITES`].

use crate::Error;
use crate::header::Header;
use crate::keyring::CONNECT_NAMESPACE;
use crate::message::{self, Message};
use crate::suite::SuiteId;

/// The suites a Connect message may use: 0x0378 (what Connect writes) and 0x0578 (its
/// committing, signed counterpart under the same keyring).
pub const CONNECT_SUITES: [SuiteId; 2] =
    [SuiteId::AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384, SuiteId::AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384];

/// How many encrypted data keys a Connect message has: exactly one.
pub const CONNECT_MAX_ENCRYPTED_DATA_KEYS: u16 = 1;

/// Applies the Connect policy to a parsed header and returns the key ID the message needs.
///
/// Refuses, in this order: a suite outside [`CONNECT_SUITES`] (`SuiteNotAllowed`), other than
/// exactly one data key (`TooManyEncryptedDataKeys`), a data key whose provider ID is not
/// `AmazonConnect` (`WrongKeyProvider`), a key ID that is not UTF-8 (`KeyIdNotUtf8`). Parse
/// only: no key and no signature is involved, so nothing here says the message is authentic.
pub fn connect_key_id<'a>(header: &Header<'a>) -> Result<&'a str, Error> {
    let suite = header.suite_id();
    if !CONNECT_SUITES.contains(&suite) {
        return Err(Error::SuiteNotAllowed(suite.0));
    }
    let [edk] = header.encrypted_data_keys() else {
        let found = u16::try_from(header.encrypted_data_keys().len()).unwrap_or(u16::MAX);
        return Err(Error::TooManyEncryptedDataKeys { max: CONNECT_MAX_ENCRYPTED_DATA_KEYS, found });
    };
    if edk.provider_id != CONNECT_NAMESPACE.as_bytes() {
        return Err(Error::WrongKeyProvider);
    }
    core::str::from_utf8(edk.provider_info).map_err(|_| Error::KeyIdNotUtf8)
}

/// [`connect_key_id`] of raw or base64 input: decodes, parses (at most one data key) and applies
/// the policy. No signature is verified; decrypt for that.
pub fn connect_key_id_of_input(input: &[u8]) -> Result<String, Error> {
    let bytes = message::decode_input(input)?;
    let message = Message::parse(&bytes, CONNECT_MAX_ENCRYPTED_DATA_KEYS)?;
    connect_key_id(&message.header).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyring::{Keyring, OwnedEncryptedDataKey, RawAesKeyring, RawRsaKeyring};
    use crate::provider::default_provider;
    use crate::suite::{CommitmentPolicy, Suite};
    use crate::test_keys::public;
    use crate::{EncryptOptions, encrypt, encrypt_connect_der};

    const KEY_ID: &str = "5d1e3f7a-policy-unit-test";

    /// Wraps for `AmazonConnect` with whatever provider info it is given (not a real keyring).
    struct FakeConnect(&'static [u8], &'static [u8]);

    impl Keyring for FakeConnect {
        fn unwrap_key(&self, _: &crate::EncryptedDataKey<'_>, _: &[u8], _: &Suite) -> Option<crate::keyring::DataKey> {
            None
        }
        fn wrap_key(&self, _: &[u8], _: &[u8], _: &Suite) -> Result<OwnedEncryptedDataKey, Error> {
            Ok(OwnedEncryptedDataKey {
                provider_id: self.0.to_vec(),
                provider_info: self.1.to_vec(),
                ciphertext: vec![1; 8],
            })
        }
    }

    fn message(suite: SuiteId, keyrings: &[&dyn Keyring]) -> Vec<u8> {
        let commitment_policy = if suite.0 >= 0x0478 {
            CommitmentPolicy::RequireEncryptRequireDecrypt
        } else {
            CommitmentPolicy::ForbidEncryptAllowDecrypt
        };
        let options = EncryptOptions { suite, commitment_policy, ..EncryptOptions::connect() };
        encrypt(default_provider(), keyrings, b"4111", &options).expect("encrypts")
    }

    fn key_id(bytes: &[u8]) -> Result<String, Error> {
        let m = Message::parse(bytes, 16)?;
        connect_key_id(&m.header).map(str::to_owned)
    }

    #[test]
    fn reads_the_key_id_of_both_connect_suites() {
        let keyring = RawRsaKeyring::connect_public_der(default_provider(), KEY_ID, &public()).expect("key");
        let connect = encrypt_connect_der(default_provider(), KEY_ID, &public(), b"4111").expect("encrypts");
        assert_eq!(key_id(&connect).as_deref(), Ok(KEY_ID));
        let committing = message(SuiteId::AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384, &[&keyring]);
        assert_eq!(key_id(&committing).as_deref(), Ok(KEY_ID));
        use base64::Engine as _;
        let text = base64::engine::general_purpose::STANDARD.encode(&connect);
        assert_eq!(connect_key_id_of_input(text.as_bytes()).as_deref(), Ok(KEY_ID));
    }

    #[test]
    fn refuses_every_other_suite_by_value() {
        let aes = RawAesKeyring::new(default_provider(), CONNECT_NAMESPACE, KEY_ID, &[3; 32]).expect("key");
        for suite in SuiteId::ALL.into_iter().filter(|s| !CONNECT_SUITES.contains(s)) {
            assert_eq!(key_id(&message(suite, &[&aes])), Err(Error::SuiteNotAllowed(suite.0)), "{suite}");
        }
    }

    #[test]
    fn refuses_two_data_keys_another_provider_and_a_non_utf8_key_id() {
        let suite = SuiteId::AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384;
        let a = FakeConnect(b"AmazonConnect", b"a");
        let b = FakeConnect(b"AmazonConnect", b"b");
        let two = message(suite, &[&a, &b]);
        assert_eq!(key_id(&two), Err(Error::TooManyEncryptedDataKeys { max: 1, found: 2 }));
        assert_eq!(connect_key_id_of_input(&two), Err(Error::TooManyEncryptedDataKeys { max: 1, found: 2 }));
        let other = message(suite, &[&FakeConnect(b"AmazonConnectX", b"a")]);
        assert_eq!(key_id(&other), Err(Error::WrongKeyProvider));
        let lower = message(suite, &[&FakeConnect(b"amazonconnect", b"a")]);
        assert_eq!(key_id(&lower), Err(Error::WrongKeyProvider));
        let bad_id = message(suite, &[&FakeConnect(b"AmazonConnect", b"\xff\xfe")]);
        assert_eq!(key_id(&bad_id), Err(Error::KeyIdNotUtf8));
    }
}
