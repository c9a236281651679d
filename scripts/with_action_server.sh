#!/usr/bin/env bash
# Runs a command with the action server in the background, and stops the server
# when the command ends (normally, on error or on Ctrl-C).
# Usage: scripts/with_action_server.sh COMMAND [ARGS...]
set -euo pipefail
venv=${VENV:-.venv}
port=${ACTIONS_PORT:-5055}
log=${ACTIONS_LOG:-build/logs/actions.log}
mkdir -p "$(dirname "$log")"

"$venv/bin/rasa" run actions --port "$port" >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true' EXIT

for _ in $(seq 120); do
  if ! kill -0 "$server" 2>/dev/null; then
    echo "The action server stopped while starting; its log ($log) ends with:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  if "$venv/bin/python" -c "import urllib.request as u; u.urlopen('http://localhost:$port/health', timeout=1)" 2>/dev/null; then
    "$@"
    exit $?
  fi
  sleep 0.5
done
echo "The action server did not answer on port $port within 60 s; see $log." >&2
exit 1
