//! Replays every file in `fuzz/regressions/` through the fuzz target's own entry point, so that a
//! plain `cargo test` keeps every seed and every crash the fuzzer ever found fixed.
//!
//! The entry point is compiled from the fuzz crate's source (`fuzz/src/entry.rs`); the fuzz crate
//! itself is not a dependency because it needs libFuzzer's flags.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../fuzz/src/entry.rs"]
#[allow(dead_code, unreachable_pub)]
mod entry;

use std::path::PathBuf;

use entry::Outcome;

fn regression_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| !n.to_string_lossy().starts_with('.')))
        .collect();
    files.sort();
    files
}

#[test]
fn every_fuzz_regression_replays_without_panic_and_providers_agree() {
    let files = regression_files();
    assert!(files.len() >= 10, "expected the committed regression seeds, found {}", files.len());
    let mut counts = std::collections::BTreeMap::<&'static str, usize>::new();
    for path in &files {
        let data = std::fs::read(path).expect("read a regression file");
        let outcome = std::panic::catch_unwind(|| entry::run(&data))
            .unwrap_or_else(|_| panic!("{} panicked (see the message above)", path.display()));
        let name = path.file_name().expect("file name").to_string_lossy();
        // Files named `aes-*` are intact messages under the fixed keyring: they must open.
        if name.starts_with("aes-") {
            assert_eq!(outcome, Outcome::Decrypted, "{name}");
        }
        let label = match outcome {
            Outcome::NotDecoded => "not decoded",
            Outcome::ParseFailed => "rejected by parse",
            Outcome::DecryptFailed => "rejected by decrypt",
            Outcome::Decrypted => "decrypted",
        };
        *counts.entry(label).or_default() += 1;
    }
    eprintln!("fuzz regressions: {} files, {counts:?}", files.len());
    assert!(counts.get("rejected by parse").is_some_and(|n| *n > 0), "no seed exercises a parse error");
    assert!(counts.get("decrypted").is_some_and(|n| *n > 0), "no seed reaches a successful decrypt");
}
