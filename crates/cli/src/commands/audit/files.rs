//! The audit from CloudTrail log files as delivered to S3 (`.json`, `.json.gz`, `{"Records": [...]}`).
//!
//! Files are read one at a time and every record is offered to the collector and dropped, so
//! thousands of files cost the memory of the largest one. Digest files (`CloudTrail-Digest`) hold
//! hashes, Insight files (`CloudTrail-Insight`) hold anomaly summaries: neither holds API calls.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Deserialize;
use serde_json::Value;

use super::report::{Collector, Gathered};
use crate::error::{self, CliError, Result};
use crate::output::progress;

/// Path parts that mark files without API call records.
const NOT_CALLS: [&str; 2] = ["CloudTrail-Digest", "CloudTrail-Insight"];

#[derive(Deserialize)]
struct LogFile {
    #[serde(rename = "Records")]
    records: Vec<Value>,
}

/// What a path holds.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Plain,
    Gzip,
    /// A digest or Insight file.
    Skipped,
    /// Not a CloudTrail file name.
    Other,
}

/// What a file (or S3 key) holds, by its name.
pub(crate) fn kind(path: &Path) -> Kind {
    let text = path.to_string_lossy();
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let log = name.ends_with(".json") || name.ends_with(".json.gz");
    if !log {
        Kind::Other
    } else if NOT_CALLS.iter().any(|m| text.contains(m)) {
        Kind::Skipped
    } else if name.ends_with(".gz") {
        Kind::Gzip
    } else {
        Kind::Plain
    }
}

/// Every file under `dir`, in name order (so runs are repeatable).
fn walk(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| error::io("could not read directory", &d, e))?;
        for entry in entries {
            let path = entry.map_err(|e| error::io("could not read directory", &d, e))?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Offers one log file's records (any reader: a file, an S3 object body) to `acc`.
pub(crate) fn offer_log(label: &str, gzip: bool, reader: impl Read, acc: &mut Collector) -> Result<()> {
    let parsed: std::result::Result<LogFile, _> = if gzip {
        serde_json::from_reader(std::io::BufReader::new(flate2::read::MultiGzDecoder::new(reader)))
    } else {
        serde_json::from_reader(std::io::BufReader::new(reader))
    };
    let log = parsed.map_err(|e| {
        CliError::input(
            format!("{label} is not a CloudTrail log file: {e}"),
            "give CloudTrail log files as delivered to S3 ({\"Records\": [...]}, optionally gzip)",
        )
    })?;
    for r in &log.records {
        acc.offer(r);
    }
    Ok(())
}

/// Reads every log file under `dir`.
pub(crate) fn read_dir(dir: &Path, acc: &mut Collector) -> Result<Gathered> {
    let started = Instant::now();
    let files = walk(dir)?;
    let mut g = Gathered::default();
    let total = files.iter().filter(|f| matches!(kind(f), Kind::Plain | Kind::Gzip)).count();
    let mut last_progress = Instant::now();
    for path in &files {
        let gzip = match kind(path) {
            Kind::Plain => false,
            Kind::Gzip => true,
            Kind::Skipped => {
                g.files_skipped += 1;
                continue;
            }
            Kind::Other => continue,
        };
        let f = std::fs::File::open(path).map_err(|e| error::io("could not open", path, e))?;
        offer_log(&path.display().to_string(), gzip, f, acc)?;
        g.files_read += 1;
        if last_progress.elapsed().as_secs_f64() >= 1.0 {
            last_progress = Instant::now();
            progress(format!(
                "trail files: {} of {total} read, {} records scanned, {} kept, {:.0}s elapsed",
                g.files_read,
                acc.scanned,
                acc.kept(),
                started.elapsed().as_secs_f64()
            ));
        }
    }
    if g.files_read == 0 {
        return Err(CliError::input(
            format!("no CloudTrail .json or .json.gz files under {}", dir.display()),
            "download the trail's files first: aws s3 sync s3://BUCKET/AWSLogs/ACCOUNT/CloudTrail/REGION/ DIR",
        ));
    }
    progress(format!(
        "trail files: {} read, {} digest/Insight skipped, {} records scanned, {} kept",
        g.files_read,
        g.files_skipped,
        acc.scanned,
        acc.kept()
    ));
    g.seconds = started.elapsed().as_secs_f64();
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_and_insight_files_are_skipped_by_name() {
        let k = |p: &str| kind(Path::new(p));
        assert_eq!(k("AWSLogs/1/CloudTrail/eu-west-2/2026/11/21/1_CloudTrail_eu-west-2_x.json.gz"), Kind::Gzip);
        assert_eq!(k("d/1_CloudTrail_eu-west-2_x.json"), Kind::Plain);
        assert_eq!(
            k("AWSLogs/1/CloudTrail-Digest/eu-west-2/2026/11/21/1_CloudTrail-Digest_eu-west-2_x.json.gz"),
            Kind::Skipped
        );
        assert_eq!(
            k("AWSLogs/1/CloudTrail-Insight/eu-west-2/2026/11/21/1_CloudTrail-Insight_eu-west-2_x.json.gz"),
            Kind::Skipped
        );
        assert_eq!(k("d/digest.txt"), Kind::Other);
        assert_eq!(k("d/x.json.gz.sig"), Kind::Other);
    }
}
