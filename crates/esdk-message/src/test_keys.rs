//! The crate's test key as DER, for unit tests: the keyrings take DER, and PEM is test-support's.

use zeroize::Zeroizing;

use crate::key::PrivateKeyDer;
use test_support::fixtures::{RSA_4096_TEST_KEY, RSA_4096_TEST_PUBLIC, der};

/// SubjectPublicKeyInfo DER of the test key.
pub(crate) fn public() -> Vec<u8> {
    der(RSA_4096_TEST_PUBLIC)
}

/// PKCS#8 DER of the test key.
pub(crate) fn private() -> PrivateKeyDer {
    PrivateKeyDer::from_pkcs8_der(Zeroizing::new(der(RSA_4096_TEST_KEY)))
}
