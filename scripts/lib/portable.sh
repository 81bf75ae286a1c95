# shellcheck shell=bash
# Small helpers that work the same with GNU tools (Linux) and BSD tools (macOS, bash 3.2).
#
#   source scripts/lib/portable.sh
#   sha256_hex FILE      # prints the SHA-256 of FILE in hex (sha256sum, else shasum -a 256, else openssl)
#   sha256_hex -         # of standard input
#   file_size FILE       # prints the size of FILE in bytes (wc -c: `stat -c %s` is GNU-only)

sha256_hex() {
    local out
    if command -v sha256sum >/dev/null 2>&1; then
        out="$(sha256sum "$1")" || return 1
    elif command -v shasum >/dev/null 2>&1; then
        out="$(shasum -a 256 "$1")" || return 1
    elif command -v openssl >/dev/null 2>&1; then
        # "SHA2-256(file)= hex" or "(stdin)= hex": the digest is the last field.
        if [ "$1" = - ]; then out="$(openssl dgst -sha256)"; else out="$(openssl dgst -sha256 "$1")"; fi || return 1
        out="${out##* }"
    else
        echo "portable.sh: no sha256sum, shasum or openssl to hash $1" >&2
        return 1
    fi
    printf '%s\n' "${out%% *}"
}

file_size() {
    local n
    n="$(wc -c <"$1")" || return 1
    # BSD wc pads the number with spaces.
    printf '%s\n' "$((n + 0))"
}
