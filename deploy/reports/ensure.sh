#!/usr/bin/env bash
# The PDF report is printed by headless Chromium; its tests read PDFs with poppler-utils. Installs both
# from Debian packages when absent (needs root); says what is missing otherwise.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
[ ${#need[@]} -eq 0 ] && { echo "Report tools ready (chromium, poppler-utils)."; exit 0; }
if [ "$(id -u)" = 0 ] || { command -v sudo >/dev/null && sudo -n true 2>/dev/null; }; then
  run() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
  echo "Installing ${need[*]} from Debian packages…"
  run env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  echo "Report tools ready (chromium, poppler-utils)."
else
  echo "missing: ${need[*]} (Debian packages; install them as root)" >&2
  exit 1
fi
