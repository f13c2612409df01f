#!/usr/bin/env bash
# The reference JavaScript GraphQL client (graphql-ws) runs on Node.js; its test installs it with npm.
# Installs Node.js and npm from Debian packages when absent (needs root); says what is missing otherwise.
set -euo pipefail
. "$(dirname "$0")/../debian-packages.sh"
ensure_debian_packages "Node.js and npm" node:nodejs npm:npm
