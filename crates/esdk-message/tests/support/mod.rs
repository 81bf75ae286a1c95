//! What the integration tests share beyond `test-support`: where `../shared` is, and the test key
//! (from the one fixtures folder, `crates/test-support/fixtures/`).

#![allow(dead_code, unused_imports, unreachable_pub)]

use std::path::PathBuf;

pub use test_support::fixtures::{RSA_4096_TEST_KEY as TEST_KEY_PEM, RSA_4096_TEST_PUBLIC as TEST_PUBLIC_PEM};
pub use test_support::skip::{services_required, skip};

/// The test key's PKCS#8 DER (the keyrings take DER; PEM is test-support's).
pub fn test_key() -> esdk_message::key::PrivateKeyDer {
    esdk_message::key::PrivateKeyDer::from_pkcs8_der(zeroize::Zeroizing::new(test_support::fixtures::der(TEST_KEY_PEM)))
}

/// The test key's SubjectPublicKeyInfo DER.
pub fn test_public() -> Vec<u8> {
    test_support::fixtures::der(TEST_PUBLIC_PEM)
}

pub const TEST_KEY_ID: &str = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

/// `../shared` beside the checkout (or `$SECURE_IVR_SHARED`), if present.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("SECURE_IVR_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    dir.is_dir().then_some(dir)
}
