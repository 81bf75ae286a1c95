//! `secure-ivr audit --html`: one self-contained file, every value escaped, rendered by a real
//! browser (headless Chromium, installed by scripts/setup-chromium.sh) to a PNG that is not blank.

// Helpers may panic: a panic is a failed test.
#![allow(clippy::expect_used)]

mod audit_support;
#[allow(unreachable_pub)]
mod common;

use std::io::Read as _;
use std::path::Path;
use std::process::Command;

use audit_support::{REGION, key_read, write_trail};
use common::{assert_code, bin, run};

const SCRIPT_ROLE: &str = "arn:aws:iam::111122223333:role/<script>alert(1)</script>";
const IMG_AGENT: &str = "\"><img src=x onerror=alert(2)>";

/// Writes the report for a data set with hostile names; returns the HTML path and its text.
fn report(dir: &Path) -> (std::path::PathBuf, String) {
    let data = audit_support::dataset(200, 12);
    let mut records = data.records;
    records.push(key_read(SCRIPT_ROLE, "hostile-1", REGION, IMG_AGENT));
    write_trail(&dir.join("trail"), REGION, &records, 25);
    let html = dir.join("report.html");
    let mut c = bin();
    c.args(["--region", REGION, "audit", "--since", "14d", "--expect-role", "secure-ivr-fn", "--html"])
        .arg(&html)
        .arg("--trail-files")
        .arg(dir.join("trail"));
    assert_code(&run(c, None), 9);
    let text = std::fs::read_to_string(&html).expect("report");
    (html, text)
}

#[test]
fn html_is_self_contained_and_escapes_every_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (html, text) = report(dir.path());
    assert!(text.starts_with("<!DOCTYPE html>"));
    // (Escaped text may hold "src=x"; an attribute needs a raw quote, which escaping removes.)
    for banned in ["<script", "<img", "onerror=alert(2)>", "<link", "src=\"", "href=\"", "url(", "@import"] {
        assert!(!text.contains(banned), "{banned} in the report");
    }
    // The only URL is the SVG namespace, which is a name, not a fetch.
    assert_eq!(text.matches("http").count(), text.matches("xmlns=\"http://www.w3.org/2000/svg\"").count());
    assert!(text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(text.contains("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"));
    for needle in [
        "Parameter prefix",
        "/connect/secure-ivr/keys/",
        REGION,
        "Unexpected reads",
        "<svg",
        "secure-ivr-fn",
        "ci-deployer",
    ] {
        assert!(text.contains(needle), "{needle} missing");
    }
    // Refuses to overwrite a report.
    let mut c = bin();
    c.args(["audit", "--html"]).arg(&html).arg("--trail-files").arg(dir.path().join("trail"));
    assert_code(&run(c, None), 8);
}

#[test]
fn chromium_renders_the_report_and_the_chart() {
    let Some(chromium) = find_chromium() else {
        if std::env::var("SECURE_IVR_REQUIRE_SERVICES").as_deref() == Ok("1") {
            panic!("SECURE_IVR_REQUIRE_SERVICES=1 but chromium is not installed (scripts/setup-chromium.sh)");
        }
        eprintln!("SKIP chromium_renders_the_report_and_the_chart: no chromium (scripts/setup-chromium.sh)");
        if let Ok(log) = std::env::var("SECURE_IVR_SKIP_LOG")
            && let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(log)
        {
            use std::io::Write as _;
            let _ = writeln!(f, "SKIP secure-ivr-cli chromium_renders_the_report_and_the_chart: no chromium");
        }
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (html, _) = report(dir.path());
    let png = dir.path().join("report.png");
    let profile = dir.path().join("profile");
    let out = Command::new("timeout")
        .arg("120")
        .arg(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1200,1400",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("run chromium");
    assert!(png.exists(), "no screenshot: {}", String::from_utf8_lossy(&out.stderr));
    let (w, h, pixels) = decode_png(&std::fs::read(&png).expect("png"));
    assert_eq!((w, h), (1200, 1400));
    let dark = pixels.iter().filter(|p| p.iter().take(3).all(|c| *c < 100)).count();
    // The chart's bars and legend: saturated colours; the page itself is black on white and pale rows.
    let coloured = pixels
        .iter()
        .filter(|p| {
            let (hi, lo) = (p.iter().take(3).max().copied().unwrap_or(0), p.iter().take(3).min().copied().unwrap_or(0));
            hi - lo > 80
        })
        .count();
    assert!(dark > 2_000, "only {dark} dark pixels: the render looks blank");
    assert!(coloured > 500, "only {coloured} coloured pixels: the SVG timeline did not render");
}

fn find_chromium() -> Option<String> {
    ["chromium", "chromium-browser"].into_iter().find_map(|name| {
        let ok = Command::new(name).arg("--version").output().is_ok_and(|o| o.status.success());
        ok.then(|| name.to_owned())
    })
}

/// Decodes an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes) into pixels.
fn decode_png(data: &[u8]) -> (usize, usize, Vec<Vec<u8>>) {
    assert_eq!(data.get(..8), Some(&b"\x89PNG\r\n\x1a\n"[..]), "not a PNG");
    let mut pos = 8;
    let (mut w, mut h, mut channels) = (0usize, 0usize, 0usize);
    let mut idat = Vec::new();
    while pos + 8 <= data.len() {
        let len = u32::from_be_bytes(data[pos..pos + 4].try_into().expect("len")) as usize;
        let kind = &data[pos + 4..pos + 8];
        let body = &data[pos + 8..pos + 8 + len];
        match kind {
            b"IHDR" => {
                w = u32::from_be_bytes(body[0..4].try_into().expect("w")) as usize;
                h = u32::from_be_bytes(body[4..8].try_into().expect("h")) as usize;
                assert_eq!(body[8], 8, "bit depth");
                channels = match body[9] {
                    2 => 3,
                    6 => 4,
                    other => panic!("colour type {other}"),
                };
                assert_eq!(body[12], 0, "interlaced");
            }
            b"IDAT" => idat.extend_from_slice(body),
            b"IEND" => break,
            _ => {}
        }
        pos += 12 + len;
    }
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..]).read_to_end(&mut raw).expect("inflate");
    let stride = w * channels;
    assert_eq!(raw.len(), h * (stride + 1), "image data length");
    let mut prev = vec![0u8; stride];
    let mut pixels = Vec::with_capacity(w * h);
    for row in raw.chunks(stride + 1) {
        let filter = row[0];
        let mut cur = row[1..].to_vec();
        for i in 0..stride {
            let a = if i >= channels { cur[i - channels] } else { 0 };
            let b = prev[i];
            let c = if i >= channels { prev[i - channels] } else { 0 };
            let add = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => u8::try_from((u16::from(a) + u16::from(b)) / 2).unwrap_or(u8::MAX),
                4 => {
                    let p = i16::from(a) + i16::from(b) - i16::from(c);
                    let (pa, pb, pc) = ((p - i16::from(a)).abs(), (p - i16::from(b)).abs(), (p - i16::from(c)).abs());
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                other => panic!("filter {other}"),
            };
            cur[i] = cur[i].wrapping_add(add);
        }
        pixels.extend(cur.chunks(channels).map(<[u8]>::to_vec));
        prev = cur;
    }
    (w, h, pixels)
}
