//! `secure-ivr scan` on real files made here, through the real binary: the attachment scanner's
//! verdict, its exit codes, and that the file's name and content never reach the output.
#![allow(
    clippy::expect_used,
    reason = "test helpers: a failed expect is a failed test, as clippy.toml allows in #[test] functions"
)]

mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use common::{assert_code, bin, err, json, out, run};

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
