//! The file name as it may appear in logs and verdicts: a SHA-256 digest, never the name.

use sha2::{Digest, Sha256};

/// Lower-case hex SHA-256 of the name's UTF-8 bytes, exactly as given (no trimming, no case
/// folding), so `printf %s "$NAME" | sha256sum` gives the same string.
///
/// Plain, not keyed: an investigator who holds a name (from Connect's own records of the contact)
/// can confirm a log line is about that file without access to a key, and the CLI and the Lambda
/// agree without sharing a secret. The cost: anyone who can read the logs can confirm a name they
/// guess (see the README's security notes).
pub fn name_sha256(name: &str) -> String {
    hex::encode(Sha256::digest(name.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_known_sha256_of_a_name() {
        // FIPS 180-2 appendix B.1: SHA-256("abc").
        assert_eq!(name_sha256("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn does_not_fold_case_or_trim() {
        assert_ne!(name_sha256("Photo.png"), name_sha256("photo.png"));
        assert_ne!(name_sha256("photo.png "), name_sha256("photo.png"));
        assert!(!name_sha256("jane-doe.png").contains("jane"));
    }
}
