# shellcheck shell=bash
# Where cargo puts its builds, as cargo itself reports it.
#
#   source scripts/lib/cargo.sh
#   dir="$(cargo_target_dir)"                 # the workspace's target directory
#   dir="$(cargo_target_dir path/Cargo.toml)" # another workspace's (e.g. the fuzz crate's)
#
# `cargo metadata` honours CARGO_TARGET_DIR, `build.target-dir` in .cargo/config.toml and
# --target-dir's other sources, so no script hard-codes <repo>/target. Cargo reads its config from
# the directory it runs in: this runs it in the manifest's directory, as the scripts' builds do.

# Resolved when sourced: BASH_SOURCE may be relative to a directory the caller later leaves.
_CARGO_SH_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

cargo_target_dir() {
    local manifest="${1:-$_CARGO_SH_REPO/Cargo.toml}" json dir
    if ! command -v cargo >/dev/null 2>&1; then
        echo "cargo.sh: cargo not found on PATH (install Rust from https://rustup.rs)" >&2
        return 1
    fi
    manifest="$(cd "$(dirname "$manifest")" && pwd)/$(basename "$manifest")" || return 1
    json="$(cd "$(dirname "$manifest")" && cargo metadata --format-version 1 --no-deps --manifest-path "$manifest")" || {
        echo "cargo.sh: 'cargo metadata' failed for $manifest" >&2
        return 1
    }
    # One line of JSON; the key occurs once. A path with a quote or backslash is refused rather
    # than mis-read (no JSON parser is assumed on the machine).
    dir="$(printf '%s\n' "$json" | sed -n 's/.*"target_directory":"\([^"\\]*\)".*/\1/p')"
    if [ -z "$dir" ]; then
        echo "cargo.sh: no usable target_directory in 'cargo metadata' output for $manifest" >&2
        return 1
    fi
    printf '%s\n' "$dir"
}
