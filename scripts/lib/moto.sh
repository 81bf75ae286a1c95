# shellcheck shell=bash
# Start and stop a local moto server (the SSM emulator) from the repo's pinned venv.
#
#   source scripts/lib/moto.sh
#   moto_start            # sets MOTO_PORT, MOTO_PID, MOTO_ENDPOINT (http://127.0.0.1:PORT), MOTO_LOG
#   ...                   # export SECURE_IVR_MOTO_ENDPOINT="$MOTO_ENDPOINT" for the Rust tests
#   moto_stop             # stops only the server this process started (by its pid); a reused
#                         # one is left to the script that started it
#
# MOTO_VENV (default <repo>/.venv) selects the venv; scripts/setup-python.sh creates it.

_moto_repo_root() {
    cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd
}

# Prints a free TCP port on 127.0.0.1.
moto_free_port() {
    local py="${MOTO_VENV:-$(_moto_repo_root)/.venv}/bin/python"
    [ -x "$py" ] || py=python3
    "$py" - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

# Starts moto_server on 127.0.0.1 and waits (up to MOTO_WAIT_SECONDS, default 30) until it answers.
moto_start() {
    local venv="${MOTO_VENV:-$(_moto_repo_root)/.venv}"
    local server="$venv/bin/moto_server"
    if [ ! -x "$server" ]; then
        echo "moto.sh: $server not found; run scripts/setup-python.sh first" >&2
        return 1
    fi
    # Reuse a server an enclosing script started, if it still answers (a server being stopped
    # can still pass `kill -0` for a moment).
    if [ -n "${MOTO_PID:-}" ] && kill -0 "$MOTO_PID" 2>/dev/null &&
        "$venv/bin/python" -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=2)" \
            "${MOTO_ENDPOINT:-}/moto-api/" >/dev/null 2>&1; then
        echo "moto.sh: already running (pid $MOTO_PID, $MOTO_ENDPOINT)" >&2
        return 0
    fi
    unset MOTO_PID MOTO_OWNER
    local tries=0
    while :; do
        MOTO_PORT="$(moto_free_port)"
        MOTO_LOG="${MOTO_LOG:-${TMPDIR:-/tmp}/moto-$$-$MOTO_PORT.log}"
        "$server" -H 127.0.0.1 -p "$MOTO_PORT" >"$MOTO_LOG" 2>&1 &
        MOTO_PID=$!
        MOTO_ENDPOINT="http://127.0.0.1:$MOTO_PORT"
        local waited=0 limit=$(( ${MOTO_WAIT_SECONDS:-30} * 10 ))
        while [ "$waited" -lt "$limit" ]; do
            if ! kill -0 "$MOTO_PID" 2>/dev/null; then
                break
            fi
            # moto answers its dashboard API once Flask is up.
            if "$venv/bin/python" -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" \
                "$MOTO_ENDPOINT/moto-api/" >/dev/null 2>&1; then
                MOTO_OWNER=$$
                export MOTO_PORT MOTO_PID MOTO_ENDPOINT MOTO_LOG MOTO_OWNER
                echo "moto.sh: moto_server pid $MOTO_PID on $MOTO_ENDPOINT (log $MOTO_LOG)" >&2
                return 0
            fi
            sleep 0.1
            waited=$((waited + 1))
        done
        kill "$MOTO_PID" 2>/dev/null; wait "$MOTO_PID" 2>/dev/null
        tries=$((tries + 1))
        if [ "$tries" -ge 3 ]; then
            echo "moto.sh: moto_server did not become ready; log follows" >&2
            tail -n 30 "$MOTO_LOG" >&2
            unset MOTO_PID MOTO_PORT MOTO_ENDPOINT
            return 1
        fi
        unset MOTO_LOG
    done
}

# Stops the server started by moto_start (only that pid).
moto_stop() {
    if [ -n "${MOTO_PID:-}" ] && [ "${MOTO_OWNER:-}" != "$$" ]; then
        # Reused from the script that started it (scripts/test.sh shares one with its steps):
        # that script stops it; stopping it here broke the next step that used it.
        echo "moto.sh: leaving moto_server pid $MOTO_PID to the script that started it" >&2
    elif [ -n "${MOTO_PID:-}" ]; then
        kill "$MOTO_PID" 2>/dev/null || true
        wait "$MOTO_PID" 2>/dev/null || true
        echo "moto.sh: stopped moto_server pid $MOTO_PID" >&2
    fi
    unset MOTO_PID MOTO_PORT MOTO_ENDPOINT MOTO_OWNER
}
