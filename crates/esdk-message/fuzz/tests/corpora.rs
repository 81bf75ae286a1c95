//! The committed corpora (`fuzz/corpora/<target>/`) do what the targets need of them, and the
//! targets' properties hold on them and on byte edits of them, in a plain `cargo test` (both
//! providers, no libFuzzer).

use std::path::{Path, PathBuf};

use esdk_message_fuzz::decrypt::Reached;
use esdk_message_fuzz::{analysis, decrypt, entry, seeds};

fn files(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpora").join(target);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| (p.file_name().expect("name").to_string_lossy().into_owned(), std::fs::read(&p).expect("read")))
        .collect()
}

#[test]
fn every_decrypt_seed_opens_so_mutations_start_past_the_parser() {
    let seeds = files("decrypt");
    assert!(seeds.len() >= 20, "{} decrypt seeds", seeds.len());
    for (name, data) in &seeds {
        let reached = decrypt::run(data);
        let want = if name.starts_with("connect-") { Reached::OpenedAsConnect } else { Reached::Opened };
        assert_eq!(reached, want, "{name}");
    }
}

/// Every 29th byte of every decrypt seed, flipped: each edit must either fail to parse or fail
/// after parsing in an expected way (the target's assertions), and some must reach each stage.
#[test]
fn byte_edits_of_decrypt_seeds_keep_the_properties() {
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for (name, data) in files("decrypt").iter().filter(|(n, _)| n.ends_with(".bin")) {
        for at in (0..data.len()).step_by(29) {
            let mut edited = data.clone();
            if let Some(b) = edited.get_mut(at) {
                *b ^= 0x01;
            }
            let reached = std::panic::catch_unwind(|| decrypt::run(&edited))
                .unwrap_or_else(|_| panic!("{name}, byte {at} flipped: a property failed (see above)"));
            *counts.entry(format!("{reached:?}")).or_default() += 1;
        }
    }
    eprintln!("decrypt edits: {counts:?}");
    for stage in ["NotParsed", "Refused"] {
        assert!(counts.get(stage).is_some_and(|n| *n > 0), "no edit reached {stage}: {counts:?}");
    }
}

#[test]
fn every_parse_seed_replays_through_the_parse_entry() {
    let seeds = files("parse");
    assert!(seeds.len() >= 100, "{} parse seeds", seeds.len());
    for (name, data) in &seeds {
        let outcome = entry::run(data);
        assert_eq!(outcome, entry::Outcome::Decrypted, "{name}: a generated seed must open");
    }
}

#[test]
fn analyze_seeds_hold_the_properties_and_their_prefixes_too() {
    let seeds = files("analyze");
    assert_eq!(seeds.len(), seeds::analyze_corpus().len(), "regenerate fuzz/corpora/analyze");
    for (name, data) in &seeds {
        for end in 0..=data.len() {
            let part = data.get(..end).expect("prefix");
            std::panic::catch_unwind(|| analysis::run(part))
                .unwrap_or_else(|_| panic!("{name}, first {end} bytes: a property failed (see above)"));
        }
    }
}

#[test]
fn analyze_input_encoding_round_trips() {
    use caller_input::{ValueType, YearMonth};
    for kind in ValueType::ALL {
        let today = YearMonth { year: 2031, month: 12 };
        let data = analysis::join(kind, today, b"0130");
        assert_eq!(analysis::split(&data), (kind, today, &b"0130"[..]));
    }
}

/// A property that fails must fail the target: a card analysis that revealed more than its last
/// four digits would be caught (checked on a hand-made wrong `Analysis`, since the real one is
/// right).
#[test]
fn analysis_properties_reject_a_leak() {
    use caller_input::{ValueType, YearMonth, analyze};
    let today = YearMonth { year: 2026, month: 11 };
    let mut a = analyze(ValueType::Cvv, b"737", today);
    a.masked = "X3X".into();
    let caught = std::panic::catch_unwind(|| analysis::check(ValueType::Cvv, b"737", &a));
    assert!(caught.is_err(), "a CVV digit in Masked went unnoticed");
    let mut a = analyze(ValueType::Card, b"4111111111111111", today);
    a.last4 = Some("11111".into());
    let caught = std::panic::catch_unwind(|| analysis::check(ValueType::Card, b"4111111111111111", &a));
    assert!(caught.is_err(), "five digits in Last4 went unnoticed");
}

#[cfg(feature = "lambda")]
#[test]
fn event_seeds_deserialise_and_hold_the_properties() {
    use secure_ivr_lambda::event::{ConnectEvent, SelectOptions, select_inputs};
    let seeds = files("event");
    assert_eq!(seeds.len(), seeds::event_corpus().len(), "regenerate fuzz/corpora/event");
    let mut inputs = 0;
    for (name, data) in &seeds {
        let event: ConnectEvent = serde_json::from_slice(data).unwrap_or_else(|e| panic!("{name}: {e}"));
        std::panic::catch_unwind(|| esdk_message_fuzz::event::run(data))
            .unwrap_or_else(|_| panic!("{name}: a property failed (see above)"));
        let options = SelectOptions { default_type: caller_input::ValueType::Card, decrypt_undeclared: false };
        inputs += select_inputs(&event, options).map_or(0, |s| s.inputs.len());
    }
    assert!(inputs >= 4, "the event seeds select {inputs} inputs");
}
