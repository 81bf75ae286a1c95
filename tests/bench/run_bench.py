#!/usr/bin/env python3
"""Measure us and the peers in one run, on one Connect-shaped message, and report.

Called by scripts/bench.sh (which installs the peers and builds our harness). Writes
bench/bench.{md,json,svg} in cargo's target directory (target/ unless CARGO_TARGET_DIR or
.cargo/config.toml say otherwise) and prints the Markdown table. --smoke runs every step with tiny
counts (a check that the harness works, not a measurement).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KEY = ROOT / "crates/test-support/fixtures/rsa-4096-test-key.pem"
PUBLIC = ROOT / "crates/test-support/fixtures/rsa-4096-test-key.pub.pem"
KEY_ID = "bench-0000-4bd8-4a94-bfde-27eefe4f12b1"


def cargo_target_dir():
    """cargo's own answer (honours CARGO_TARGET_DIR and .cargo/config.toml), as the builds use it."""
    out = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps",
                          "--manifest-path", str(ROOT / "Cargo.toml")],
                         cwd=ROOT, check=True, capture_output=True, text=True)
    return Path(json.loads(out.stdout)["target_directory"])


TARGET = cargo_target_dir()
# bench.sh builds a smoke run with the dev profile (output in debug/), a measurement with release.
_profile = os.environ.get("SECURE_IVR_BENCH_PROFILE", "release")
PROFILE_DIR = "debug" if _profile == "dev" else _profile
OURS = TARGET / PROFILE_DIR / "examples/bench"
PROVIDERS = ["aws-lc", "rustcrypto"]
# The steps of one decrypt, as the harness's `steps` mode names them, in order.
STEPS = {
    "base64": "base64 text to bytes (Connect's form)",
    "parse": "parse and check the whole message",
    "rsa": "RSA-4096 OAEP-SHA512 unwrap",
    "hkdf": "HKDF-SHA384 content key",
    "gcm_key": "AES-256-GCM key schedule",
    "gcm_header": "GCM header tag",
    "gcm_frame": "GCM frame (16 bytes)",
    "ecdsa": "ECDSA P-384 verify (with SHA-384 of the message)",
}


def pinned(cmd, core):
    return ["taskset", "-c", str(core), *cmd] if core is not None else cmd


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def timed_process(cmd):
    """Runs cmd once; returns (wall ms, peak RSS MB) of that one process.

    Peak RSS comes from /usr/bin/time: the kernel's high-water mark includes what the process
    held before exec, and /usr/bin/time (a few hundred KB) forks far less than this interpreter.
    """
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "maxrss_kb=%M", *cmd], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    wall = (time.perf_counter() - t) * 1000
    if p.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {p.stderr[-300:]}")
    rss_kb = int(p.stderr.strip().splitlines()[-1].split("=")[1])
    return wall, rss_kb / 1024


def peers():
    py = [str(ROOT / ".venv/bin/python"), str(ROOT / "tests/bench/py_bench.py")]
    node = ["node", str(ROOT / "tests/interop/node/bench.mjs")]
    ours = {p: [str(OURS)] for p in PROVIDERS}
    return py, node, ours


def key_args(message):
    return ["--key", str(KEY), "--key-id", KEY_ID, "--message", str(message)]


def make_message(path, nbytes):
    subprocess.run(
        [str(OURS), "make", "--public", str(PUBLIC), "--key-id", KEY_ID, "--bytes", str(nbytes), "--out", str(path)],
        check=True,
    )


def short(name):
    """'esdk-message (aws-lc)' -> 'aws-lc', 'Lambda code path (aws-lc)' -> 'Lambda code path'."""
    return name.replace("esdk-message (", "").replace(" (aws-lc)", "").rstrip(")")


def fmt_ms(us):
    return f"{us / 1000:.3f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--iterations", type=int, default=300)
    ap.add_argument("--cold-runs", type=int, default=20)
    ap.add_argument("--core", type=int, default=1)
    ap.add_argument("--zip", default=str(TARGET / "lambda/bootstrap/bootstrap.zip"))
    ap.add_argument("--zip-state", choices=["built", "existing", "failed"], default="existing",
                    help="built: by this run; existing: reported as found; failed: the build failed")
    a = ap.parse_args()
    if a.smoke:
        a.iterations, a.cold_runs = 5, 2
    out = TARGET / "bench"
    out.mkdir(parents=True, exist_ok=True)
    card = out / "card.bin"
    make_message(card, 16)
    frames = {1: card}
    for n in (10, 100):
        frames[n] = out / f"frames-{n}.bin"
        make_message(frames[n], 4096 * (n - 1) + 16)

    py, node, ours = peers()
    r = {"machine": os.uname().machine, "cores": os.cpu_count(), "iterations": a.iterations,
         "cold_runs": a.cold_runs, "smoke": a.smoke, "warm": {}, "floor": {}, "steps": {}, "cold": {}, "frames": {}}

    log = lambda msg: print(f"bench: {msg}", file=sys.stderr, flush=True)
    for p in PROVIDERS:
        log(f"floor {p}")
        r["floor"][p] = run_json(pinned(ours[p] + ["floor", "--provider", p, "--key", str(KEY), "--message", str(card),
                                                   "--iterations", str(a.iterations)], a.core))
    for p in PROVIDERS:
        log(f"steps {p}")
        r["steps"][p] = run_json(pinned(ours[p] + ["steps", "--provider", p] + key_args(card)
                                        + ["--iterations", str(a.iterations)], a.core))
    warm_cmds = {f"esdk-message ({p})": ours[p] + ["warm", "--provider", p] for p in PROVIDERS}
    warm_cmds["python aws-encryption-sdk"] = py + ["warm"]
    warm_cmds["node @aws-crypto/client-node"] = node + ["warm"]
    for name, cmd in warm_cmds.items():
        log(f"warm {name}")
        r["warm"][name] = run_json(pinned(cmd + key_args(card) + ["--iterations", str(a.iterations)], a.core))
    for p in PROVIDERS:
        for n, path in frames.items():
            log(f"frames {p} x{n}")
            r["frames"].setdefault(p, {})[n] = run_json(
                pinned(ours[p] + ["warm", "--provider", p] + key_args(path) + ["--iterations", str(max(5, a.iterations // 3))], a.core))
    cold_cmds = {f"esdk-message ({p})": ours[p] + ["cold", "--provider", p] for p in PROVIDERS}
    cold_cmds["python aws-encryption-sdk"] = py + ["cold"]
    cold_cmds["node @aws-crypto/client-node"] = node + ["cold"]
    for name, cmd in cold_cmds.items():
        log(f"cold {name}")
        runs = [timed_process(pinned(cmd + key_args(card), a.core)) for _ in range(a.cold_runs)]
        r["cold"][name] = {"median_ms": statistics.median(w for w, _ in runs), "peak_rss_mb": max(m for _, m in runs)}
    lam = TARGET / PROFILE_DIR / "examples/cold-path"
    if lam.exists():
        log("cold Lambda code path")
        runs = [timed_process(pinned([str(lam)] + key_args(card), a.core)) for _ in range(a.cold_runs)]
        r["cold"]["Lambda code path (aws-lc)"] = {"median_ms": statistics.median(w for w, _ in runs),
                                                  "peak_rss_mb": max(m for _, m in runs)}
    z = Path(a.zip)
    r["zip_bytes"] = z.stat().st_size if z.exists() and a.zip_state != "failed" else None
    r["zip_note"] = {"built": "built by this run", "failed": "the build failed in this run",
                     "existing": "not rebuilt by this run: " + (time.strftime("%Y-%m-%d %H:%M", time.localtime(z.stat().st_mtime))
                                                                if z.exists() else "no zip found")}[a.zip_state]

    report = render(r)
    (out / "bench.json").write_text(json.dumps(r, indent=1))
    (out / "bench.md").write_text(report)
    (out / "bench.svg").write_text(svg(r))
    print(report)
    log(f"wrote {out}/bench.md, bench.json, bench.svg")
    if a.smoke:
        # The smoke run asserts the harness produced every row, not any timing.
        rows = len(r["warm"]) + len(r["floor"]) + len(r["cold"]) + sum(len(v) for v in r["frames"].values())
        steps = sum(len(v) for v in r["steps"].values())
        ok = rows >= 4 + 2 + 4 + 6 and steps == 2 * len(STEPS) + 2 and all(v["median_us"] > 0 for v in r["warm"].values())
        print(f"bench-smoke: {1 if ok else 0} passed, {0 if ok else 1} failed")
        return 0 if ok else 1
    return 0


def render(r):
    floor = {p: r["floor"][p]["floor"]["median_us"] for p in PROVIDERS}
    py = r["warm"]["python aws-encryption-sdk"]["median_us"]
    node = r["warm"]["node @aws-crypto/client-node"]["median_us"]
    lines = [
        f"# Decrypt benchmark ({'SMOKE RUN: not a measurement' if r['smoke'] else 'one run, this machine'})",
        "",
        f"Connect-shaped message: RSA-4096, suite 0x0378, frame length 4096, 16-digit card. {r['machine']}, "
        f"{r['cores']} cores, pinned to one core; {r['iterations']} warm decrypts after warm-up; "
        f"{r['cold_runs']} cold processes.",
        "",
        "## Warm decrypt (key loaded, in process)",
        "",
        "| implementation | median ms | p99 ms | × own floor | × Python | × Node |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, s in r["warm"].items():
        own = next((p for p in PROVIDERS if f"({p})" in name), None)
        ratio_floor = f"{s['median_us'] / floor[own]:.2f}" if own else "–"
        lines.append(f"| {name} | {fmt_ms(s['median_us'])} | {fmt_ms(s['p99_us'])} | {ratio_floor} | "
                     f"{s['median_us'] / py:.2f} | {s['median_us'] / node:.2f} |")
    lines += ["", "## Primitive floor (one RSA-4096 OAEP-SHA512 decrypt + one ECDSA P-384 verify)", "",
              "| provider | floor median ms | RSA ms | ECDSA ms |", "|---|---:|---:|---:|"]
    for p in PROVIDERS:
        f = r["floor"][p]
        lines.append(f"| {p} | {fmt_ms(f['floor']['median_us'])} | {fmt_ms(f['rsa']['median_us'])} | {fmt_ms(f['ecdsa']['median_us'])} |")
    lines += ["", "## Per-step breakdown (median µs; each step timed on its own, in one loop with a whole decrypt)", "",
              "| step | " + " | ".join(PROVIDERS) + " |", "|---|" + "---:|" * len(PROVIDERS)]
    for step, label in STEPS.items():
        cells = []
        for p in PROVIDERS:
            s = r["steps"][p]
            cells.append(f"{s[step]['median_us']:.2f} ({100 * s[step]['median_us'] / s['whole']['median_us']:.2f}%)")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    sums = [sum(r["steps"][p][k]["median_us"] for k in STEPS) for p in PROVIDERS]
    lines.append("| sum of the steps | " + " | ".join(f"{v:.2f}" for v in sums) + " |")
    lines.append("| whole decrypt, same loop | " + " | ".join(f"{r['steps'][p]['whole']['median_us']:.2f}" for p in PROVIDERS) + " |")
    lines += ["", "## Cold process (start, load PEM, decrypt one message, exit)", "",
              "| implementation | median ms | peak RSS MB |", "|---|---:|---:|"]
    for name, c in r["cold"].items():
        lines.append(f"| {name} | {c['median_ms']:.1f} | {c['peak_rss_mb']:.1f} |")
    lines += ["", "## Frames (warm, fastest of the run: the RSA time varies with blinding far more than a frame costs)", "",
              "| provider | 1 frame ms | 10 frames ms | 100 frames ms | per-frame cost 1→10 | per-frame cost 10→100 |",
              "|---|---:|---:|---:|---:|---:|"]
    linear = {}
    for p in PROVIDERS:
        f = r["frames"][p]
        t1, t10, t100 = (f[n]["min_us"] for n in (1, 10, 100))
        a, b = (t10 - t1) / 9, (t100 - t10) / 90
        linear[p] = b > 0 and 0.5 <= a / b <= 2.0
        lines.append(f"| {p} | {fmt_ms(t1)} | {fmt_ms(t10)} | {fmt_ms(t100)} | {a:.1f} µs | {b:.1f} µs |")
    z = r["zip_bytes"]
    lines += ["", f"arm64 Lambda zip: {f'{z / 1e6:.2f} MB' if z else 'no size'} ({r['zip_note']})", "", "## Targets", "",
              "| target | figure | met |", "|---|---|---|"]
    aws = r["warm"]["esdk-message (aws-lc)"]["median_us"]
    rc = r["warm"]["esdk-message (rustcrypto)"]["median_us"]
    ours_cold = {n: c for n, c in r["cold"].items() if n.startswith("esdk") or n.startswith("Lambda")}
    cold_fig = ", ".join(f"{short(n)} {c['median_ms']:.1f}" for n, c in ours_cold.items())
    rss_fig = ", ".join(f"{short(n)} {c['peak_rss_mb']:.1f}" for n, c in ours_cold.items())
    targets = [
        ("aws-lc warm ≤ 1.2× its floor", f"{aws / floor['aws-lc']:.2f}×", aws <= 1.2 * floor["aws-lc"]),
        ("aws-lc warm faster than Python", f"{aws / 1000:.3f} vs {py / 1000:.3f} ms", aws < py),
        ("rustcrypto warm ≤ 1.1× its floor", f"{rc / floor['rustcrypto']:.2f}×", rc <= 1.1 * floor["rustcrypto"]),
        ("cold process ≤ 20 ms (each of ours)", f"{cold_fig} ms", all(c["median_ms"] <= 20 for c in ours_cold.values())),
        ("peak RSS ≤ 16 MB (each of ours)", f"{rss_fig} MB", all(c["peak_rss_mb"] <= 16 for c in ours_cold.values())),
        ("arm64 zip ≤ 3 MB", f"{z / 1e6:.2f} MB" if z else "not built", bool(z) and z <= 3e6),
        ("linear in frames", ", ".join(f"{p}: {'yes' if v else 'no'}" for p, v in linear.items()), all(linear.values())),
    ]
    for name, fig, ok in targets:
        lines.append(f"| {name} | {fig} | {'met' if ok else 'NOT met'} |")
    return "\n".join(lines) + "\n"


def svg(r):
    """Two bar panels, warm decrypt and cold process, each scaled to its own slowest bar."""
    smoke = " — SMOKE RUN, not a measurement" if r["smoke"] else ""
    panels = [
        ("Warm decrypt, median ms (key loaded; lower is better)", [(n, s["median_us"] / 1000) for n, s in r["warm"].items()]),
        ("Cold process, median ms (start, load key, decrypt once, exit)", [(n, c["median_ms"]) for n, c in r["cold"].items()]),
    ]
    width, bar_h, gap, left = 760, 24, 10, 250
    parts, y = [], 10
    for title, rows in panels:
        top = max((v for _, v in rows), default=1) or 1
        parts.append(f'<text x="10" y="{y + 16}" font-weight="bold">{title}{smoke}</text>')
        y += 30
        for name, v in rows:
            w = (width - left - 90) * v / top
            parts.append(f'<text x="10" y="{y + 16}">{name}</text>')
            parts.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="#4a7ab5"/>')
            parts.append(f'<text x="{left + w + 6:.1f}" y="{y + 16}">{v:.2f}</text>')
            y += bar_h + gap
        y += 16
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{y}" font-family="sans-serif" '
            f'font-size="13"><rect width="100%" height="100%" fill="white"/>')
    return "\n".join([head, *parts, "</svg>"]) + "\n"


if __name__ == "__main__":
    sys.exit(main())
