//! Writes the seed corpus to DIR (default `corpus/parse`); with `--regressions DIR`, writes the
//! curated regression seeds instead (they are committed in `fuzz/regressions/`).
#![forbid(unsafe_code)]

use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (seeds, dir) = match args.as_slice() {
        [flag, dir] if flag == "--regressions" => (esdk_message_fuzz::seeds::regressions(), PathBuf::from(dir)),
        [dir] => (esdk_message_fuzz::seeds::corpus(), PathBuf::from(dir)),
        [] => (esdk_message_fuzz::seeds::corpus(), PathBuf::from("corpus/parse")),
        _ => {
            eprintln!("usage: seeds [--regressions] [DIR]");
            std::process::exit(2);
        }
    };
    std::fs::create_dir_all(&dir).expect("create the output directory");
    for (name, bytes) in &seeds {
        std::fs::write(dir.join(name), bytes).expect("write a seed");
    }
    eprintln!("seeds: wrote {} files to {}", seeds.len(), dir.display());
}
