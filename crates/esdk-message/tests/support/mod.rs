//! Helpers shared by the integration tests: where `../shared` is, loud counted skips, test keys.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::path::PathBuf;

/// The test-only RSA-4096 key (PKCS#8 PEM) and its public half.
pub const TEST_KEY_PEM: &str = include_str!("../data/rsa-4096-test-key.pem");
pub const TEST_PUBLIC_PEM: &str = include_str!("../data/rsa-4096-test-key.pub.pem");
pub const TEST_KEY_ID: &str = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

/// `../shared` beside the checkout (or `$SECURE_IVR_SHARED`), if present.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("SECURE_IVR_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    dir.is_dir().then_some(dir)
}

/// Records a skipped check: loudly on stderr, and as one line in `$SECURE_IVR_SKIP_LOG` so the
/// test script counts it. Fails instead when `$SECURE_IVR_REQUIRE_SERVICES` is 1 and the skip is
/// about a service the script should have provided.
pub fn skip(test: &str, reason: &str) {
    eprintln!("SKIP {test}: {reason}");
    if let Some(path) = std::env::var_os("SECURE_IVR_SKIP_LOG") {
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).expect("skip log");
        writeln!(f, "{test}: {reason}").expect("skip log");
    }
}

/// True when the test script promised the services (oracles, moto) are present.
pub fn services_required() -> bool {
    std::env::var("SECURE_IVR_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}
