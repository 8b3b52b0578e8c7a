#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for the test suite.
#
#   scripts/pg.sh start    start a cluster under /tmp (or reuse the running one) and print
#                          `export LEADLEDGER_TEST_PG_URL=...` (also written to .pg/env)
#   scripts/pg.sh stop     stop it and delete its directory
#   scripts/pg.sh status   exit 0 if it is running
#
# Usable as `eval "$(scripts/pg.sh start)"` or `source scripts/pg.sh start`.
# State lives in <repo>/.pg/ (git-ignored): `root` = the /tmp cluster dir, `env`.
# Progress goes to stderr so that stdout is only the export line.

_leadledger_pg() (
    set -euo pipefail
    cd "$(dirname "${BASH_SOURCE[0]}")/.."
    state=.pg

    log() { echo "pg.sh: $*" >&2; }

    find_bindir() {
        # Highest installed major version; `sort -V` so that 9.6 < 15 < 16.
        local initdb
        initdb=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
        [ -n "$initdb" ] && dirname "$initdb"
    }

    ensure_installed() {
        find_bindir >/dev/null && return 0
        log "PostgreSQL not found under /usr/lib/postgresql; installing it with apt"
        local sudo=""
        if [ "$(id -u)" -ne 0 ]; then
            command -v sudo >/dev/null || { log "not root and no sudo: install postgresql yourself"; exit 1; }
            sudo="sudo -n"
        fi
        $sudo apt-get update -q >&2
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
    }

    # initdb/pg_ctl refuse to run as root, so as root they run as the `postgres` user.
    # The cd keeps them out of a cwd that `postgres` may not be allowed to read.
    as_pg() {
        if [ "$(id -u)" -eq 0 ]; then
            (cd /tmp && runuser -u postgres -- "$@")
        else
            "$@"
        fi
    }

    is_running() {
        [ -f "$state/root" ] || return 1
        local root
        root=$(cat "$state/root")
        [ -d "$root/data" ] && as_pg "$(find_bindir)/pg_ctl" -D "$root/data" status >/dev/null 2>&1
    }

    free_port() {
        # Prefer a fixed port (easy to remember); fall back to any free one.
        python3 - <<'EOF'
import socket
for port in (54329, 0):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        print(s.getsockname()[1])
        break
EOF
    }

    do_stop() {
        [ -f "$state/root" ] || { rm -rf "$state"; return 0; }
        local root
        root=$(cat "$state/root")
        if is_running; then
            as_pg "$(find_bindir)/pg_ctl" -D "$root/data" -m fast -w stop >/dev/null
            log "stopped cluster in $root"
        fi
        # Guard the rm: only ever delete a directory this script created.
        case "$root" in /tmp/pgtest.*) rm -rf "$root" ;; esac
        rm -rf "$state"
    }

    do_start() {
        if is_running; then
            cat "$state/env"
            return 0
        fi
        do_stop # clear stale state, e.g. after a reboot wiped /tmp
        ensure_installed
        local bindir root port
        bindir=$(find_bindir)
        root=$(mktemp -d /tmp/pgtest.XXXXXX)
        mkdir -p "$state"
        echo "$root" >"$state/root" # recorded first so that `stop` can clean up a failed start
        if [ "$(id -u)" -eq 0 ]; then
            id -u postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
            chown postgres: "$root"
        fi
        as_pg "$bindir/initdb" -D "$root/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
        port=$(free_port)
        # fsync=off: the data is thrown away, so trade durability for speed.
        if ! as_pg "$bindir/pg_ctl" -D "$root/data" -l "$root/server.log" -w -s \
            -o "-p $port -k $root -c listen_addresses=127.0.0.1 -c fsync=off" start; then
            log "PostgreSQL failed to start; server log:"
            cat "$root/server.log" >&2 || true
            exit 1
        fi
        echo "export LEADLEDGER_TEST_PG_URL=postgresql+psycopg://postgres@127.0.0.1:$port/postgres" \
            >"$state/env"
        log "started PostgreSQL $(basename "$(dirname "$bindir")") on 127.0.0.1:$port (dir $root)"
        cat "$state/env"
    }

    case "${1:-}" in
        start) do_start ;;
        stop) do_stop ;;
        status) is_running ;;
        *) log "usage: $0 start|stop|status"; exit 2 ;;
    esac
)

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
    # Sourced: run in a subshell (so `set -e`/`exit` cannot hit the caller's shell),
    # then export the URL into the caller's shell.
    if [ "${1:-}" = start ]; then
        eval "$(_leadledger_pg start)"
    else
        _leadledger_pg "$@"
    fi
else
    _leadledger_pg "$@"
fi
