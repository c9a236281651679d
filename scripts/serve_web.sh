#!/usr/bin/env bash
# Starts the Rasa server (REST channel, CORS for the demo page only) and the demo
# page, prints the URL, and stops both on Ctrl-C. Run it under
# with_action_server.sh so the action server runs too.
set -euo pipefail
venv=${VENV:-.venv}
rasa_port=${RASA_PORT:-5005}
web_port=${WEB_PORT:-8080}
log=build/logs/rasa.log
mkdir -p "$(dirname "$log")"

"$venv/bin/rasa" run --interface 127.0.0.1 --port "$rasa_port" \
  --cors "http://localhost:$web_port" "http://127.0.0.1:$web_port" >"$log" 2>&1 &
rasa=$!
RASA_URL="http://localhost:$rasa_port" "$venv/bin/python" scripts/serve_web.py "$web_port" &
page=$!
trap 'kill "$rasa" "$page" 2>/dev/null; wait 2>/dev/null || true' EXIT

echo "Starting the assistant (about 20 s)…"
until "$venv/bin/python" -c "import urllib.request as u; u.urlopen('http://localhost:$rasa_port/', timeout=1)" 2>/dev/null; do
  if ! kill -0 "$rasa" 2>/dev/null; then
    echo "The Rasa server stopped while starting; its log ($log) ends with:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  sleep 0.5
done
echo
echo "  Chat with the assistant: http://localhost:$web_port"
echo "  (Ctrl-C stops the page, the Rasa server and the action server.)"
wait "$rasa" "$page"
