//! `secure-ivr scan` on real files made here, through the real binary: the attachment scanner's
//! verdict, its exit codes, and that the file's name and content never reach the output.
#![allow(
    clippy::expect_used,
    reason = "test helpers: a failed expect is a failed test, as clippy.toml allows in #[test] functions"
)]

mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use common::{Request, Response, assert_code, bin, bin_with_creds, err, json, out, run, serve};

/// A `width` x `height` RGB PNG, written chunk by chunk (zlib and CRC from flate2).
fn png(width: u32, height: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&u32::try_from(data.len()).expect("small").to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    }
    let mut raw = Vec::new();
    for y in 0..height {
        raw.push(0);
        for x in 0..width {
            raw.extend_from_slice(&[u8::try_from(x % 256).expect("byte"), u8::try_from(y % 256).expect("byte"), 128]);
        }
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&raw).expect("deflate");
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &z.finish().expect("deflate"));
    chunk(&mut out, b"IEND", b"");
    out
}

fn elf() -> Vec<u8> {
    let mut b = b"\x7fELF\x02\x01\x01\x00".to_vec();
    b.resize(256, 0);
    b
}

fn file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write fixture");
    p
}

fn scan(args: &[&str], stdin: Option<&[u8]>) -> std::process::Output {
    let mut c = bin();
    c.args(["--output", "json", "scan"]).args(args);
    run(c, stdin)
}

#[test]
fn approves_text_and_a_png_saying_moderation_was_not_asked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = file(dir.path(), "notes.txt", b"Order 1234 arrived damaged.\nPlease call back.\n");
    let o = scan(&[text.to_str().expect("utf-8")], None);
    assert_code(&o, 0);
    let v = json(&o);
    assert_eq!(v["status"], "APPROVED");
    assert_eq!(v["detected"], "text");
    assert_eq!(v["moderation"], "not-needed");

    let image = file(dir.path(), "photo.png", &png(16, 12));
    let o = scan(&[image.to_str().expect("utf-8")], None);
    assert_code(&o, 0);
    let v = json(&o);
    assert_eq!((v["status"].as_str(), v["detected"].as_str()), (Some("APPROVED"), Some("png")));
    assert_eq!((v["image"]["width"].as_u64(), v["image"]["height"].as_u64()), (Some(16), Some(12)));
    assert_eq!(v["moderation"], "not-asked");
}

#[test]
fn rejects_an_elf_named_png_with_exit_9_and_its_reasons() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = file(dir.path(), "holiday.png", &elf());
    let o = scan(&[p.to_str().expect("utf-8")], None);
    assert_code(&o, 9);
    let v = json(&o);
    assert_eq!(v["status"], "REJECTED");
    assert_eq!(v["reasons"], serde_json::json!(["executable", "name-content-mismatch"]));
    assert_eq!(v["detected"], "executable");
}

#[test]
fn text_output_names_each_reason_and_hides_the_name_and_content() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = file(dir.path(), "jane-doe-passport-7731.txt", b"CONTENT-MARKER-5521 \xff bad utf-8");
    let mut c = bin();
    c.args(["scan", p.to_str().expect("utf-8")]);
    let o = run(c, None);
    assert_code(&o, 9);
    let text = out(&o);
    assert!(text.contains("status:    REJECTED"), "{text}");
    assert!(
        text.contains("reason:    text-invalid (the text is not valid UTF-8 or contains control characters)"),
        "{text}"
    );
    assert!(text.contains("detail:    not valid UTF-8 at byte 20"), "{text}");
    for secret in ["jane", "7731", "CONTENT-MARKER"] {
        assert!(!text.contains(secret) && !err(&o).contains(secret), "{secret} leaked: {text}");
    }
    // The hash is the plain SHA-256 of the name (README: reproducible with sha256sum).
    // `printf %s jane-doe-passport-7731.txt | sha256sum`
    assert!(text.contains("name hash: 2b73a5efaf84626141869700e48a136306d4131a8f1bdd9dc666aa38d4c22954"), "{text}");
}

#[test]
fn stdin_needs_a_name_and_takes_it_from_name() {
    let o = scan(&["-"], Some(b"hello\n"));
    assert_code(&o, 6);
    assert!(err(&o).contains("--name NAME"), "{}", err(&o));
    let o = scan(&["-", "--name", "hello.txt"], Some(b"hello\n"));
    assert_code(&o, 0);
    let o = scan(&["-", "--name", "hello.pdf"], Some(b"hello\n"));
    assert_code(&o, 9);
    assert_eq!(json(&o)["reasons"], serde_json::json!(["name-content-mismatch"]));
}

#[test]
fn policy_flags_use_the_scanners_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = file(dir.path(), "notes.txt", b"0123456789abcdef");
    let path = p.to_str().expect("utf-8");
    let o = scan(&[path, "--max-size", "10"], None);
    assert_code(&o, 9);
    assert_eq!(json(&o)["reasons"], serde_json::json!(["too-large"]));
    let o = scan(&[path, "--allowed-types", "pdf,png"], None);
    assert_code(&o, 9);
    assert_eq!(json(&o)["reasons"], serde_json::json!(["type-not-allowed"]));
    for (flag, value, says) in [
        ("--allowed-types", "txt,exe", "unknown file extension \"exe\""),
        ("--min-confidence", "101", "not a number from 0 to 100"),
        ("--unmoderated-images", "maybe", "use reject, convert or allow"),
        ("--reject-categories", " , ", "list is empty"),
        ("--max-size", "0", "at least 1 byte"),
    ] {
        let o = scan(&[path, flag, value], None);
        assert_code(&o, 6);
        assert!(err(&o).contains(flag) && err(&o).contains(says), "{flag}: {}", err(&o));
    }
}

#[test]
fn a_missing_file_is_bad_input() {
    let o = scan(&["/nonexistent/secure-ivr-scan-test.png"], None);
    assert_code(&o, 6);
    assert!(err(&o).contains("could not open"), "{}", err(&o));
}

/// A Rekognition fake shaped like the API reference: JSON 1.1, `X-Amz-Target`, labels for an
/// image whose PNG width is 3, `InvalidImageFormatException` for anything but PNG or JPEG.
fn rekognition(req: &Request) -> Response {
    let headers = vec![("Content-Type".to_owned(), "application/x-amz-json-1.1".to_owned())];
    if req.header("x-amz-target") != Some("RekognitionService.DetectModerationLabels") {
        return (400, headers, r#"{"__type":"UnknownOperationException","Message":"unknown"}"#.into());
    }
    let body: serde_json::Value = serde_json::from_slice(&req.body).expect("JSON request");
    let b64 = body["Image"]["Bytes"].as_str().expect("image bytes");
    let image = base64_decode(b64);
    if !image.starts_with(b"\x89PNG") && !image.starts_with(b"\xff\xd8\xff") {
        return (400, headers, r#"{"__type":"InvalidImageFormatException","Message":"unsupported"}"#.into());
    }
    // The IHDR width is bytes 16..20 of a PNG.
    let explicit = image.get(16..20) == Some(&[0, 0, 0, 3][..]);
    let labels = if explicit {
        r#"[{"Confidence":99.1,"Name":"Explicit","ParentName":"","TaxonomyLevel":1},
            {"Confidence":98.7,"Name":"Explicit Nudity","ParentName":"Explicit","TaxonomyLevel":2}]"#
    } else {
        "[]"
    };
    (200, headers, format!(r#"{{"ModerationLabels":{labels},"ModerationModelVersion":"7.0"}}"#))
}

fn base64_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes().take_while(|&c| c != b'=') {
        let v = u32::try_from(ALPHABET.iter().position(|&a| a == c).expect("base64")).expect("small");
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).expect("byte"));
        }
    }
    out
}

fn scan_with_rekognition(endpoint: &str, path: &Path) -> std::process::Output {
    let mut c = bin_with_creds();
    c.args(["--output", "json", "--region", "us-east-1", "--endpoint-url", endpoint, "scan", "--rekognition"]);
    c.arg(path);
    run(c, None)
}

#[test]
fn with_rekognition_a_labelled_image_is_rejected_and_a_clean_one_approved() {
    let endpoint = serve(rekognition);
    let dir = tempfile::tempdir().expect("tempdir");
    let explicit = file(dir.path(), "photo.png", &png(3, 3));
    let o = scan_with_rekognition(&endpoint, &explicit);
    assert_code(&o, 9);
    let v = json(&o);
    assert_eq!(v["reasons"], serde_json::json!(["moderation"]));
    assert_eq!(v["moderation"], "asked");
    assert_eq!(v["moderation_model_version"], "7.0");
    assert_eq!(v["labels"][1]["label"], "Explicit Nudity");
    assert_eq!(v["labels"][1]["category"], "Explicit");

    let clean = file(dir.path(), "clean.png", &png(16, 12));
    let o = scan_with_rekognition(&endpoint, &clean);
    assert_code(&o, 0);
    assert_eq!(json(&o)["moderation"], "asked");

    // Text is never sent: no credentials or endpoint needed.
    let text = file(dir.path(), "notes.txt", b"hello\n");
    let o = scan_with_rekognition("http://127.0.0.1:9", &text);
    assert_code(&o, 0);
    assert_eq!(json(&o)["moderation"], "not-needed");
}

#[test]
fn with_rekognition_unreachable_is_an_aws_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let image = file(dir.path(), "photo.png", &png(8, 8));
    let o = scan_with_rekognition("http://127.0.0.1:9", &image);
    assert_code(&o, 4);
    assert!(err(&o).contains("moderation failed"), "{}", err(&o));
}
