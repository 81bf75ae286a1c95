//! Writes a target's seed corpus: `seeds TARGET DIR` (TARGET: parse, decrypt, analyze, event), or the
//! curated regression seeds with `seeds --regressions DIR` (committed in `fuzz/regressions/`).
//! The corpora committed in `fuzz/corpora/<target>/` come from here; regenerate them with
//! `cargo run --manifest-path crates/esdk-message/fuzz/Cargo.toml --bin seeds -- TARGET DIR`
//! (a plain build: no sanitizer-coverage flags, so no libFuzzer is needed to link it).
#![forbid(unsafe_code)]

use esdk_message_fuzz::seeds;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (seeds, dir) = match args.as_slice() {
        [flag, dir] if flag == "--regressions" => (seeds::regressions(), dir),
        [target, dir] if target == "parse" => (seeds::corpus(), dir),
        [target, dir] if target == "decrypt" => (seeds::decrypt_corpus(), dir),
        [target, dir] if target == "analyze" => (seeds::analyze_corpus(), dir),
        [target, dir] if target == "event" => (seeds::event_corpus(), dir),
        _ => {
            eprintln!("usage: seeds parse|decrypt|analyze|event DIR | seeds --regressions DIR");
            std::process::exit(2);
        }
    };
    let dir = std::path::Path::new(dir);
    std::fs::create_dir_all(dir).expect("create the output directory");
    for (name, bytes) in &seeds {
        std::fs::write(dir.join(name), bytes).expect("write a seed");
    }
    eprintln!("seeds: wrote {} files to {}", seeds.len(), dir.display());
}
