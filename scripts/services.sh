#!/usr/bin/env bash
# Makes Postgres and Redis reachable for local runs and CI. Does nothing when both answer;
# otherwise starts the local servers when their binaries exist, else `docker compose`, else
# says what to install. Ports follow DATABASE_URL / REDIS_URL when they point at this machine.
set -eu

pg_host=127.0.0.1
pg_port=5432
redis_port=6379
case "${REDIS_URL:-}" in redis://127.0.0.1:*|redis://localhost:*) redis_port=$(echo "$REDIS_URL" | sed -E 's#.*:([0-9]+).*#\1#') ;; esac

answers() { # host port
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
  node -e "require('net').connect($2,'$1').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))" 2>/dev/null
}

wait_for() { # name host port
  i=0
  while ! answers "$2" "$3"; do
    i=$((i + 1))
    if [ "$i" -gt 60 ]; then echo "services: $1 did not come up on $2:$3" >&2; exit 1; fi
    sleep 0.5
  done
  echo "services: $1 is up on $2:$3"
}

compose() {
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    docker compose up -d "$@"
    return 0
  fi
  return 1
}

if answers "$pg_host" "$pg_port"; then
  echo "services: postgres answers on $pg_host:$pg_port"
elif command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  echo "services: starting the local Postgres cluster"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
  wait_for postgres "$pg_host" "$pg_port"
elif compose postgres; then
  wait_for postgres "$pg_host" "$pg_port"
else
  echo "services: Postgres is not running on $pg_host:$pg_port and neither a local cluster nor Docker is available." >&2
  echo "services: install PostgreSQL 15+ (e.g. apt-get install postgresql) or Docker, then run this again." >&2
  exit 1
fi

if answers 127.0.0.1 "$redis_port"; then
  echo "services: redis answers on 127.0.0.1:$redis_port"
elif command -v redis-server >/dev/null 2>&1; then
  echo "services: starting a local redis-server"
  # noeviction: an evicted BullMQ key is a lost job. No persistence here: Postgres is the record.
  redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no \
    --maxmemory-policy noeviction
  wait_for redis 127.0.0.1 "$redis_port"
elif compose redis; then
  wait_for redis 127.0.0.1 "$redis_port"
else
  echo "services: Redis is not running on 127.0.0.1:$redis_port and neither redis-server nor Docker is available." >&2
  echo "services: install Redis 7 (e.g. apt-get install redis-server) or Docker, then run this again." >&2
  exit 1
fi

# Not a service, but what the simulator speaks with (espeak-ng) and encodes MP3 with (lame):
# without them the results are tones and the simulator's speech tests fail saying so.
if ! command -v espeak-ng >/dev/null 2>&1 || ! command -v lame >/dev/null 2>&1; then
  if [ -x "$(command -v apt-get)" ] && [ "$(id -u)" = "0" ]; then
    echo "services: installing Debian's espeak-ng and lame (the simulator's speech)"
    if ! { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng lame >/dev/null; }; then
      echo "services: could not install espeak-ng and lame; the simulator falls back to tones" >&2
    fi
  else
    echo "services: espeak-ng or lame is missing: install them to hear the text (e.g. sudo apt-get install espeak-ng lame); until then results are tones" >&2
  fi
fi
