#!/usr/bin/env bash
# Makes the pinned kustomize available to tests/packaging/test_deploy_files.py, which renders deploy/k8s/ with
# it: built from its Go module (sigs.k8s.io/kustomize/kustomize/v5 at a fixed version, fetched through the Go
# module proxy and checked against the Go checksum database) by the Go toolchain, into a cache; built once per
# machine (about a minute of CPU). Prints the binary's path on stdout.
# Needs `go` (1.22 or newer) on PATH or in /usr/local/go/bin; says what is missing otherwise.
set -euo pipefail
VERSION=v5.5.0
CACHE=${KUSTOMIZE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/progres/kustomize-$VERSION}
BIN=$CACHE/kustomize
if [ ! -x "$BIN" ]; then
  GO=$(command -v go || true)
  [ -z "$GO" ] && [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go
  if [ -z "$GO" ]; then
    echo "missing: the Go toolchain (go), to build kustomize $VERSION" >&2
    exit 1
  fi
  echo "Building kustomize $VERSION with $("$GO" version | cut -d' ' -f3)…" >&2
  mkdir -p "$CACHE"
  GOBIN="$CACHE" GOFLAGS=-buildvcs=false "$GO" install -trimpath \
    -ldflags "-s -w -X sigs.k8s.io/kustomize/api/provenance.version=kustomize/$VERSION" \
    "sigs.k8s.io/kustomize/kustomize/v5@$VERSION" >&2
fi
echo "$BIN"
