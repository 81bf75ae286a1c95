//! Runs an `awses-decrypt` test-vector manifest.
//!
//! ```text
//! cargo run --release -p esdk-message --example vectors -- [--provider rustcrypto|aws-lc] [--expect-reject] PATH/manifest.json
//! ```
//! The last line printed is `N passed, N failed, N skipped`; the exit code is 1 on any failure.

#[path = "../tests/kit/mod.rs"]
mod kit;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut provider = esdk_message::provider::default_provider();
    let mut expect_reject = false;
    let mut path: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--provider" => {
                let name = args.next().unwrap_or_default();
                match esdk_message::provider::provider_by_name(&name) {
                    Some(p) => provider = p,
                    None => return usage(&format!("unknown provider {name:?} (rustcrypto or aws-lc)")),
                }
            }
            "--expect-reject" => expect_reject = true,
            "-h" | "--help" => return usage(""),
            _ if path.is_none() => path = Some(PathBuf::from(arg)),
            _ => return usage(&format!("unexpected argument {arg:?}")),
        }
    }
    let Some(path) = path else { return usage("give the path of a manifest.json") };
    let results = match kit::run(provider, &path, expect_reject) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    for r in &results {
        if let kit::Outcome::Failed(why) = &r.outcome {
            eprintln!("FAILED {}: {why}", r.name);
        }
    }
    for (why, n) in kit::skip_reasons(&results) {
        eprintln!("skipped {n}: {why}");
    }
    let counts = kit::count(&results);
    eprintln!("provider {}, manifest {}", provider.name(), path.display());
    println!("{counts}");
    if counts.failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

fn usage(problem: &str) -> ExitCode {
    if !problem.is_empty() {
        eprintln!("error: {problem}");
    }
    eprintln!("usage: vectors [--provider rustcrypto|aws-lc] [--expect-reject] PATH/manifest.json");
    if problem.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) }
}
