#!/usr/bin/env bash
# The CSV report's test opens the archive's files with LibreOffice Calc, headless (no X server), as a French
# reader's spreadsheet would: installs Debian's libreoffice-calc-nogui when `libreoffice` is absent (needs root).
set -euo pipefail
. "$(dirname "$0")/../debian-packages.sh"
ensure_debian_packages "LibreOffice Calc (headless)" libreoffice:libreoffice-calc-nogui
