//! `secure-ivr audit --trail-bucket s3://BUCKET/PREFIX` against moto's S3: the objects CloudTrail
//! delivers, listed and read one by one, Digest files skipped. What moto cannot show: S3's real
//! permissions (s3:ListBucket, s3:GetObject) and KMS-encrypted log objects.

// Helpers may panic: a panic is a failed test.
#![allow(clippy::expect_used)]

mod audit_support;
#[allow(unreachable_pub)]
mod common;

use std::collections::BTreeSet;
use std::io::{Read as _, Write as _};

use audit_support::{ACCOUNT, REGION, key_read};
use common::{assert_code, bin_with_creds, err, json, moto, run};

/// One path-style S3 request to moto (it does not check signatures); returns the status line.
fn s3(endpoint: &str, method: &str, path: &str, body: &[u8]) -> String {
    let addr = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut s = std::net::TcpStream::connect(addr).expect("connect moto");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDTESTTESTTEST/20260101/{REGION}/s3/aws4_request, SignedHeaders=host, Signature=0\r\n\
         x-amz-content-sha256: UNSIGNED-PAYLOAD\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).expect("write");
    s.write_all(body).expect("write");
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp);
    resp.lines().next().unwrap_or("").to_owned()
}

fn gz(records: &[serde_json::Value]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(serde_json::json!({ "Records": records }).to_string().as_bytes()).expect("gzip");
    e.finish().expect("gzip")
}

#[test]
fn reads_the_trail_from_its_bucket() {
    let Some(m) = moto("reads_the_trail_from_its_bucket") else { return };
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let bucket = format!("trail-{}-{nanos}", std::process::id());
    let create = format!(
        "<CreateBucketConfiguration><LocationConstraint>{REGION}</LocationConstraint></CreateBucketConfiguration>"
    );
    let status = s3(&m, "PUT", &format!("/{bucket}"), create.as_bytes());
    assert!(status.contains("200"), "CreateBucket: {status}");

    let data = audit_support::dataset(300, 6);
    let base = format!("AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/2026/12/01");
    let mut objects = 0;
    for (n, chunk) in data.records.chunks(40).enumerate() {
        let key = format!("{base}/{ACCOUNT}_CloudTrail_{REGION}_20261201T0000Z_{n:04}.json.gz");
        let status = s3(&m, "PUT", &format!("/{bucket}/{key}"), &gz(chunk));
        assert!(status.contains("200"), "PutObject: {status}");
        objects += 1;
    }
    let digest = key_read("arn:aws:iam::111122223333:role/not-an-api-call", "digest-1", REGION, "x");
    let key = format!(
        "AWSLogs/{ACCOUNT}/CloudTrail-Digest/{REGION}/2026/12/01/{ACCOUNT}_CloudTrail-Digest_{REGION}_x.json.gz"
    );
    assert!(s3(&m, "PUT", &format!("/{bucket}/{key}"), &gz(&[digest])).contains("200"));

    let mut c = bin_with_creds();
    c.env("AWS_ENDPOINT_URL", &m).env("AWS_REGION", REGION);
    c.env("SECURE_IVR_PREFIX", audit_support::PREFIX);
    c.args(["--output", "json", "audit", "--since", "14d", "--expect-role", "secure-ivr-fn", "--trail-bucket"])
        .arg(format!("s3://{bucket}/AWSLogs/{ACCOUNT}/"));
    let o = run(c, None);
    assert_code(&o, 9);
    let v = json(&o);
    let ids: BTreeSet<String> = v["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["event_id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(ids, data.matter.iter().cloned().collect::<BTreeSet<_>>());
    assert_eq!(v["gathered"]["files_read"], objects);
    assert_eq!(v["gathered"]["files_skipped"], 1);
    assert!(v["source"].as_str().is_some_and(|s| s.starts_with("s3://")));
    assert!(err(&o).contains("trail bucket:"), "{}", err(&o));

    // An empty prefix is bad input.
    let mut c = bin_with_creds();
    c.env("AWS_ENDPOINT_URL", &m).env("AWS_REGION", REGION);
    c.args(["audit", "--trail-bucket"]).arg(format!("s3://{bucket}/nothing-here/"));
    assert_code(&run(c, None), 6);
}
