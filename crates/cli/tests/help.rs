//! The help text of every command, checked against the snapshots in `tests/help/`. Help is the
//! first thing an operator reads, so a change to it should show in review as a change to these
//! files. After an intended change, regenerate them with
//! `SECURE_IVR_BLESS=1 cargo test -p secure-ivr-cli --test help` and review the diff.
#![allow(
    clippy::expect_used,
    reason = "test helpers: a failed expect is a failed test, as clippy.toml allows in #[test] functions"
)]

mod common;

use std::path::PathBuf;

use common::{assert_code, bin, out, run};

const COMMANDS: [&str; 13] = [
    "keygen",
    "activate",
    "list",
    "rotate",
    "retire",
    "inspect",
    "encrypt",
    "decrypt",
    "audit",
    "flow",
    "flow-audit",
    "check",
    "scan",
];

fn help(cmd: Option<&str>) -> String {
    let mut c = bin();
    for (k, _) in std::env::vars() {
        if k.starts_with("SECURE_IVR_") {
            c.env_remove(k); // an env-backed flag would print the value in its help
        }
    }
    c.env("COLUMNS", "100");
    c.args(cmd.into_iter().chain(["--help"]));
    let o = run(c, None);
    assert_code(&o, 0);
    out(&o)
}

#[test]
fn help_text_matches_the_snapshots() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/help");
    let bless = std::env::var("SECURE_IVR_BLESS").as_deref() == Ok("1");
    let mut stale = Vec::new();
    for cmd in std::iter::once(None).chain(COMMANDS.iter().map(|c| Some(*c))) {
        let file = dir.join(format!("{}.txt", cmd.unwrap_or("secure-ivr")));
        let text = help(cmd);
        if bless {
            std::fs::create_dir_all(&dir).expect("help dir");
            std::fs::write(&file, &text).expect("write snapshot");
            continue;
        }
        let want = std::fs::read_to_string(&file).unwrap_or_default();
        if want != text {
            let line = want
                .lines()
                .zip(text.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(want.lines().count().min(text.lines().count()));
            stale.push(format!("{} (first difference at line {})", file.display(), line + 1));
        }
    }
    assert!(
        stale.is_empty(),
        "help text differs from its snapshot:\n  {}\nIf the change is intended: SECURE_IVR_BLESS=1 cargo test -p secure-ivr-cli --test help",
        stale.join("\n  ")
    );
}

#[test]
fn every_command_has_a_snapshot_and_nothing_else_does() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/help");
    let mut found: Vec<String> =
        std::fs::read_dir(&dir).expect("tests/help").filter_map(|e| e.ok()?.file_name().into_string().ok()).collect();
    found.sort();
    let mut want: Vec<String> = COMMANDS.iter().chain(&["secure-ivr"]).map(|c| format!("{c}.txt")).collect();
    want.sort();
    assert_eq!(found, want);
}
