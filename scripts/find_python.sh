#!/usr/bin/env bash
# Prints the path of a Python 3.8-3.10 interpreter: Rasa Open Source 3.6 supports
# no other version. Looks on PATH first, then in pyenv's installed versions.
set -u
supported() { "$1" -c 'import sys; sys.exit(not (3, 8) <= sys.version_info[:2] <= (3, 10))' 2>/dev/null; }

for candidate in python3.10 python3.9 python3.8; do
  if command -v "$candidate" >/dev/null && supported "$candidate"; then
    command -v "$candidate"
    exit 0
  fi
done
if command -v pyenv >/dev/null; then
  root=$(pyenv root)
  for version in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.(10|9|8)\.[0-9]+$' | sort -rV); do
    if supported "$root/versions/$version/bin/python"; then
      echo "$root/versions/$version/bin/python"
      exit 0
    fi
  done
fi
echo "No Python 3.8, 3.9 or 3.10 found (on PATH or in pyenv)." >&2
echo "Rasa Open Source 3.6 supports only these versions; install one, e.g. 'pyenv install 3.10'." >&2
exit 1
