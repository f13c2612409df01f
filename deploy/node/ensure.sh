#!/usr/bin/env bash
# The reference JavaScript GraphQL client (graphql-ws) runs on Node.js; its test installs it with npm.
# Installs Node.js and npm from Debian packages when absent (needs root); says what is missing otherwise.
set -euo pipefail
need=()
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
[ ${#need[@]} -eq 0 ] && { echo "Node.js ready ($(node --version))."; exit 0; }
if [ "$(id -u)" = 0 ] || { command -v sudo >/dev/null && sudo -n true 2>/dev/null; }; then
  run() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
  echo "Installing ${need[*]} from Debian packages…"
  run env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  echo "Node.js ready ($(node --version))."
else
  echo "missing: ${need[*]} (Debian packages; install them as root)" >&2
  exit 1
fi
