#!/usr/bin/env bash
# The PDF report is printed by headless Chromium; its tests read PDFs with poppler-utils. Installs both
# from Debian packages when absent (needs root); says what is missing otherwise.
set -euo pipefail
. "$(dirname "$0")/../debian-packages.sh"
ensure_debian_packages "Report tools (chromium, poppler-utils)" chromium:chromium pdftotext:poppler-utils
