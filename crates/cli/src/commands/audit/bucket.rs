//! The audit straight from the trail's bucket (`--trail-bucket s3://BUCKET/PREFIX`): the same
//! log files as `--trail-files`, listed with `ListObjectsV2` and read one object at a time.

use std::path::Path;
use std::time::Instant;

use super::files::{Kind, kind, offer_log};
use super::report::{Collector, Gathered};
use crate::aws::Aws;
use crate::error::{self, CliError, Exit, Result};
use crate::output::progress;

/// `s3://BUCKET/PREFIX` as (bucket, prefix).
pub(crate) fn parse_url(url: &str) -> std::result::Result<(String, String), String> {
    let rest = url.strip_prefix("s3://").ok_or_else(|| format!("{url:?} is not an s3://BUCKET/PREFIX URL"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let ok = (3..=63).contains(&bucket.len())
        && bucket.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
    if !ok {
        return Err(format!("{bucket:?} is not an S3 bucket name"));
    }
    Ok((bucket.to_owned(), prefix.to_owned()))
}

/// Reads every log object under the prefix.
pub(crate) async fn read_bucket(aws: &Aws, bucket: &str, prefix: &str, acc: &mut Collector) -> Result<Gathered> {
    let started = Instant::now();
    // A local endpoint (tests, VPC endpoints by URL) cannot resolve BUCKET.host names.
    let path_style = aws.config.endpoint_url().is_some();
    let conf = aws_sdk_s3::config::Builder::from(&aws.config).force_path_style(path_style).build();
    let s3 = aws_sdk_s3::Client::from_conf(conf);
    let mut g = Gathered::default();
    let mut last_progress = Instant::now();
    let mut pages = s3.list_objects_v2().bucket(bucket).prefix(prefix).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| error::aws(&format!("listing s3://{bucket}/{prefix} (s3:ListBucket)"), e))?;
        for object in page.contents() {
            let Some(key) = object.key() else { continue };
            let gzip = match kind(Path::new(key)) {
                Kind::Plain => false,
                Kind::Gzip => true,
                Kind::Skipped => {
                    g.files_skipped += 1;
                    continue;
                }
                Kind::Other => continue,
            };
            let got = s3
                .get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| error::aws(&format!("reading s3://{bucket}/{key} (s3:GetObject)"), e))?;
            let bytes = got.body.collect().await.map_err(|e| {
                CliError::new(
                    Exit::Aws,
                    format!("reading s3://{bucket}/{key} failed: {e}"),
                    "check the network and retry",
                )
            })?;
            offer_log(&format!("s3://{bucket}/{key}"), gzip, &bytes.into_bytes()[..], acc)?;
            g.files_read += 1;
            if last_progress.elapsed().as_secs_f64() >= 1.0 {
                last_progress = Instant::now();
                progress(format!(
                    "trail bucket: {} objects read, {} records scanned, {} kept, {:.0}s elapsed",
                    g.files_read,
                    acc.scanned,
                    acc.kept(),
                    started.elapsed().as_secs_f64()
                ));
            }
        }
    }
    if g.files_read == 0 {
        return Err(CliError::input(
            format!("no CloudTrail .json or .json.gz objects under s3://{bucket}/{prefix}"),
            "give the trail's prefix, e.g. s3://BUCKET/AWSLogs/ACCOUNT/CloudTrail/REGION/",
        ));
    }
    progress(format!(
        "trail bucket: {} objects read, {} digest/Insight skipped, {} records scanned, {} kept",
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
    fn parses_bucket_urls() {
        assert_eq!(parse_url("s3://trail-logs/AWSLogs/1/"), Ok(("trail-logs".into(), "AWSLogs/1/".into())));
        assert_eq!(parse_url("s3://trail-logs"), Ok(("trail-logs".into(), String::new())));
        assert!(parse_url("https://trail-logs/x").is_err());
        assert!(parse_url("s3://Trail_Logs/x").is_err());
        assert!(parse_url("s3://ab/x").is_err());
    }
}
