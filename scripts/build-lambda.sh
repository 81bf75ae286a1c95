#!/usr/bin/env bash
# Build the Lambdas for provided.al2023 on arm64 and check each artifact. One cargo invocation
# builds both packages, so their shared dependencies (the AWS SDK, tokio, aws-lc) compile once:
#   cargo lambda build --release --arm64 --output-format zip \
#       -p secure-ivr-lambda -p secure-ivr-attachment-scanner
# then, for each zip: it exists and holds `bootstrap` at its root, bootstrap is an aarch64 ELF
# executable, it needs no shared library beyond glibc's own (which provided.al2023 ships, glibc
# 2.34), and no glibc symbol version newer than 2.34. Prints each zip's path and size, then
# "N passed, N failed".
#
#   scripts/build-lambda.sh              # build, then check
#   scripts/build-lambda.sh --no-build   # check the existing zips only
#
# cargo-lambda and zig come from <repo>/.venv (scripts/setup-python.sh), put first on PATH.
# cargo lambda puts each binary's zip in <cargo's target directory>/lambda/BINARY/bootstrap.zip
# (CARGO_TARGET_DIR and .cargo/config.toml are honoured):
#   lambda/bootstrap/bootstrap.zip            the decrypting function (binary `bootstrap`)
#   lambda/attachment-scanner/bootstrap.zip   the attachment scanner (binary `attachment-scanner`)
# The checks read the ELF with binutils (readelf, objdump).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export PATH="$repo/.venv/bin:$PATH"
# shellcheck source=lib/cargo.sh
source "$repo/scripts/lib/cargo.sh"
# shellcheck source=lib/portable.sh
source "$repo/scripts/lib/portable.sh"

# package:binary, in the order the zips are checked.
lambdas="secure-ivr-lambda:bootstrap secure-ivr-attachment-scanner:attachment-scanner"
# What provided.al2023 provides: glibc 2.34 and its companion libraries, nothing else.
al2023_glibc=2.34
allowed_needed='^(libc\.so\.6|libm\.so\.6|libgcc_s\.so\.1|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|ld-linux-aarch64\.so\.1)$'

log() { printf 'build-lambda: %s\n' "$*" >&2; }
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

build=1
for arg in "$@"; do
    case "$arg" in
        --no-build) build=0 ;;
        -h | --help) usage; exit 0 ;;
        *) log "unknown argument: $arg"; usage >&2; exit 2 ;;
    esac
done

passed=0 failed=0 skipped=0
ok() { passed=$((passed + 1)); printf 'ok   %s\n' "$*"; }
fail() { failed=$((failed + 1)); printf 'FAIL %s\n' "$*"; }
finish() {
    echo "$passed passed, $failed failed, $skipped skipped"
    if [[ $failed -eq 0 ]]; then exit 0; fi
    exit 1
}

if ! target_dir="$(cargo_target_dir)"; then
    fail "target directory: cargo metadata failed (is cargo installed?)"
    finish
fi
# A function whose package is not (yet) in the workspace is a counted skip, said by name.
present=""
metadata="$(cargo metadata --format-version 1 --no-deps 2>/dev/null || true)"
for l in $lambdas; do
    if grep -q "{\"name\":\"${l%%:*}\",\"version\"" <<<"$metadata"; then
        present="$present $l"
    else
        skipped=$((skipped + 1))
        printf 'SKIP %s zip: package %s is not in the workspace\n' "${l#*:}" "${l%%:*}"
    fi
done
lambdas="${present# }"
for tool in readelf objdump unzip file; do
    if ! command -v "$tool" >/dev/null; then
        fail "tools: $tool not found (install binutils, unzip and file; on macOS: brew install binutils)"
        finish
    fi
done

if [[ $build -eq 1 ]]; then
    if ! command -v cargo-lambda >/dev/null; then
        log "cargo-lambda not found in $repo/.venv/bin; run scripts/setup-python.sh first"
        fail "build: cargo-lambda missing"
        finish
    fi
    log "$(cargo lambda --version 2>&1 | head -1); zig $(python-zig version 2>/dev/null || zig version 2>/dev/null || echo '?')"
    start=$SECONDS
    set --
    for l in $lambdas; do set -- "$@" --package "${l%%:*}"; done
    if cargo lambda build --release --arm64 --output-format zip --locked "$@" >&2; then
        ok "build: cargo lambda build --release --arm64 in $((SECONDS - start))s"
    else
        fail "build: cargo lambda build failed after $((SECONDS - start))s"
        finish
    fi
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/build-lambda.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# check_zip PACKAGE BINARY: the checks of one zip, each line prefixed with the binary's name.
check_zip() {
    local package="$1" name="$2" zip bin zip_bytes mode machine kind needed extra newest
    zip="$target_dir/lambda/$name/bootstrap.zip"
    if [[ ! -s "$zip" ]]; then
        fail "$name zip: $zip is missing (build $package with scripts/build-lambda.sh)"
        return
    fi
    zip_bytes=$(file_size "$zip")
    ok "$name zip: ${zip#"$repo"/} ($zip_bytes bytes, $(awk -v b="$zip_bytes" 'BEGIN { printf "%.1f MiB", b / 1048576 }'))"

    # The runtime executes /var/task/bootstrap: it must be at the zip's root and executable.
    mkdir -p "$work/$name"
    if unzip -Z1 "$zip" | grep -qx bootstrap && unzip -q -o "$zip" bootstrap -d "$work/$name"; then
        bin="$work/$name/bootstrap"
        mode=$(unzip -Zl "$zip" bootstrap | awk 'NR==1 {print $1}' || true)
        ok "$name layout: bootstrap at the zip root ($(file_size "$bin") bytes unpacked${mode:+, $mode})"
    else
        fail "$name layout: no bootstrap at the root of the zip"
        return
    fi

    machine=$(readelf -h "$bin" 2>/dev/null | awk -F: '/Machine:/ {gsub(/^ +/, "", $2); print $2}')
    kind=$(file -b "$bin" 2>/dev/null || echo "?")
    if [[ "$machine" == "AArch64" ]] && [[ "$kind" == ELF\ 64-bit* ]]; then
        ok "$name arch: $kind"
    else
        fail "$name arch: expected a 64-bit aarch64 ELF, got machine '$machine' ($kind)"
    fi

    needed=$(readelf -d "$bin" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort -u)
    if [[ -z "$needed" ]]; then
        ok "$name linking: statically linked (no NEEDED entries)"
    else
        extra=$(grep -Ev "$allowed_needed" <<<"$needed" || true)
        if [[ -z "$extra" ]]; then
            ok "$name linking: dynamic, glibc only: $(tr '\n' ' ' <<<"$needed")"
        else
            fail "$name linking: needs libraries provided.al2023 lacks: $(tr '\n' ' ' <<<"$extra")(all: $(tr '\n' ' ' <<<"$needed"))"
        fi
    fi

    newest=$(objdump -T "$bin" 2>/dev/null | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1 || true)
    if [[ -z "$newest" ]]; then
        ok "$name glibc: no versioned glibc symbols"
    elif [[ "$(printf '%s\n%s\n' "$newest" "$al2023_glibc" | sort -V | tail -1)" == "$al2023_glibc" ]]; then
        ok "$name glibc: newest symbol version GLIBC_$newest <= $al2023_glibc (provided.al2023)"
    else
        fail "$name glibc: needs GLIBC_$newest, provided.al2023 has $al2023_glibc"
    fi

    echo "zip ($name): $zip"
    echo "size ($name): $zip_bytes bytes"
}

for l in $lambdas; do check_zip "${l%%:*}" "${l#*:}"; done
finish
