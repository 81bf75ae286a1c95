# shellcheck shell=bash
# Run the Lambda locally in the real runtime emulator (cargo lambda watch) and invoke it.
#
#   source scripts/lib/lambda.sh
#   lambda_watch_start PORT LOGFILE [VAR=value ...]   # sets LAMBDA_WATCH_PID; env applies to the function
#   lambda_wait EVENT_FILE [SECONDS]                  # first invoke; waits for the build (default 900 s);
#                                                     # LAMBDA_WAIT_PROGRESS=1 shows cargo's progress on stderr
#   lambda_invoke EVENT_FILE                          # prints the function's response
#   lambda_watch_stop
#
# LAMBDA_PACKAGE_DIR (default crates/lambda) and LAMBDA_BIN (default bootstrap) choose another
# function of the workspace, e.g. crates/attachment-scanner and attachment-scanner; set them before
# lambda_watch_start (lambda_invoke names the same binary).
#
# Needs cargo-lambda and zig on PATH (the pinned venv: scripts/setup-python.sh).

_lambda_repo_root() {
    cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd
}

lambda_watch_start() {
    local port="$1" log="$2"
    shift 2
    LAMBDA_PORT="$port"
    LAMBDA_WATCH_LOG="$log"
    (
        cd "$(_lambda_repo_root)/${LAMBDA_PACKAGE_DIR:-crates/lambda}" || exit 1
        for assignment in "$@"; do export "${assignment?}"; done
        # Its own process group (the function runs as a child of the watcher), so that stopping it
        # stops both. setsid is util-linux; macOS has none, and perl's POSIX::setsid does the same.
        if command -v setsid >/dev/null 2>&1; then
            exec setsid cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$port" --bin "${LAMBDA_BIN:-bootstrap}" \
                --ignore-changes
        fi
        exec perl -MPOSIX -e 'POSIX::setsid(); exec @ARGV or die "exec: $!"' -- \
            cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$port" --bin "${LAMBDA_BIN:-bootstrap}" --ignore-changes
    ) >"$log" 2>&1 &
    LAMBDA_WATCH_PID=$!
    export LAMBDA_PORT LAMBDA_WATCH_PID LAMBDA_WATCH_LOG
}

lambda_invoke() {
    cargo lambda invoke "${LAMBDA_BIN:-bootstrap}" --invoke-address 127.0.0.1 --invoke-port "$LAMBDA_PORT" --data-file "$1"
}

lambda_wait() {
    local event="$1" deadline=$(($(date +%s) + ${2:-900})) response shown=0 total
    while [ "$(date +%s)" -lt "$deadline" ]; do
        if response="$(lambda_invoke "$event" 2>/dev/null)" && [ -n "$response" ]; then
            printf '%s\n' "$response"
            return 0
        fi
        if [ "${LAMBDA_WAIT_PROGRESS:-0}" = 1 ] && [ -f "${LAMBDA_WATCH_LOG:-}" ]; then
            # cargo's lines from the watcher's log that were not shown yet.
            total="$(wc -l <"$LAMBDA_WATCH_LOG")"
            total=$((total + 0))
            if [ "$total" -gt "$shown" ]; then
                sed -n "$((shown + 1)),${total}p" "$LAMBDA_WATCH_LOG" |
                    grep -E '^ *(Compiling|Finished|Building|warning: unused|error)' >&2 || true
                shown="$total"
            fi
        fi
        kill -0 "$LAMBDA_WATCH_PID" 2>/dev/null || return 1
        sleep 2
    done
    return 1
}

lambda_watch_stop() {
    if [ -n "${LAMBDA_WATCH_PID:-}" ]; then
        kill -- "-$LAMBDA_WATCH_PID" 2>/dev/null || kill "$LAMBDA_WATCH_PID" 2>/dev/null || true
        wait "$LAMBDA_WATCH_PID" 2>/dev/null || true
        LAMBDA_WATCH_PID=""
    fi
}
