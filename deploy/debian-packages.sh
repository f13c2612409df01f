#!/usr/bin/env bash
# Sourced by the deploy/*/ensure.sh scripts: installs Debian packages when the commands they provide are absent.
# Usage: ensure_debian_packages LABEL COMMAND:PACKAGE...  (needs root or password-less sudo to install).

ensure_debian_packages() {
  local label=$1 pair need=()
  shift
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
  done
  [ ${#need[@]} -eq 0 ] && { echo "$label ready."; return 0; }
  if [ "$(id -u)" = 0 ] || { command -v sudo >/dev/null && sudo -n true 2>/dev/null; }; then
    local as_root=()
    [ "$(id -u)" = 0 ] || as_root=(sudo)
    echo "Installing ${need[*]} from Debian packages…"
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    echo "$label ready."
  else
    echo "missing: ${need[*]} (Debian packages; install them as root)" >&2
    return 1
  fi
}
