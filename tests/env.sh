# Sourced by tests/run.sh and bench/floor.sh: the pinned Python venv and a
# PostgreSQL server on 127.0.0.1 (stopped again when the sourcing script
# exits), each set up idempotently on a fresh machine.
# Needs: the repository root as the working directory, `step`, and $venv.

setup_venv() {
  step "Python venv ($venv) with tests/python/requirements.txt"
  # uv (from PyPI) installs the pinned set in seconds; run as a module so that a
  # fresh install needs no PATH or shim refresh.
  if ! python3 -m uv --version >/dev/null 2>&1; then
    python3 -m pip install --quiet --disable-pip-version-check uv==0.13.9
  fi
  [ -x "$venv/bin/python" ] || python3 -m uv venv --quiet --python python3 "$venv"
  python3 -m uv pip install --quiet --python "$venv/bin/python" -r tests/python/requirements.txt
}

start_postgres() {
  step "PostgreSQL server on 127.0.0.1"
  if [ -z "${PREP_PG_DSN:-}" ]; then
    pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$pgbin" ]; then
      if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
      else
        echo "PostgreSQL is not installed: install the 'postgresql' package, or set PREP_PG_DSN" >&2
        exit 1
      fi
    fi
    pgdata=$(mktemp -d /tmp/prep-pg.XXXXXX)
    as_pg=()
    if [ "$(id -u)" = 0 ]; then
      chown postgres "$pgdata"
      as_pg=(runuser -u postgres --)
    fi
    port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "${as_pg[@]}" "$pgbin/initdb" -D "$pgdata" -U postgres --auth=trust --locale=C.UTF-8 >"$pgdata.initdb.log"
    stop_pg() { "${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdata" -m fast stop >/dev/null 2>&1 || true; rm -rf "$pgdata" "$pgdata.initdb.log"; }
    trap stop_pg EXIT
    "${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdata" -w -l "$pgdata/server.log" \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $pgdata -c fsync=off" start >/dev/null
    export PREP_PG_DSN="host=127.0.0.1 port=$port user=postgres dbname=postgres"
    echo "started PostgreSQL ($("$pgbin/postgres" --version)) on port $port"
  fi
}
