# shellcheck shell=bash
# Run the Lambda locally in the real runtime emulator (cargo lambda watch) and invoke it.
#
#   source scripts/lib/lambda.sh
#   lambda_watch_start PORT LOGFILE [VAR=value ...]   # sets LAMBDA_WATCH_PID; env applies to the function
#   lambda_wait EVENT_FILE [SECONDS]                  # first invoke; waits for the build (default 900 s)
#   lambda_invoke EVENT_FILE                          # prints the function's response
#   lambda_watch_stop
#
# Needs cargo-lambda and zig on PATH (the pinned venv: scripts/setup-python.sh).

_lambda_repo_root() {
    cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd
}

lambda_watch_start() {
    local port="$1" log="$2"
    shift 2
    LAMBDA_PORT="$port"
    (
        cd "$(_lambda_repo_root)/crates/lambda" || exit 1
        for assignment in "$@"; do export "${assignment?}"; done
        # Its own process group: the function runs as a child of the watcher.
        exec setsid cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$port" --bin bootstrap \
            --ignore-changes
    ) >"$log" 2>&1 &
    LAMBDA_WATCH_PID=$!
    export LAMBDA_PORT LAMBDA_WATCH_PID
}

lambda_invoke() {
    cargo lambda invoke bootstrap --invoke-address 127.0.0.1 --invoke-port "$LAMBDA_PORT" --data-file "$1"
}

lambda_wait() {
    local event="$1" deadline=$(($(date +%s) + ${2:-900})) response
    while [ "$(date +%s)" -lt "$deadline" ]; do
        if response="$(lambda_invoke "$event" 2>/dev/null)" && [ -n "$response" ]; then
            printf '%s\n' "$response"
            return 0
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
