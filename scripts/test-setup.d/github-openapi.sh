#!/usr/bin/env bash
# GitHub's official REST API description, pinned: the fake api.github.com of the tests
# (tests/servers/github.py) checks every request it receives against it.
set -euo pipefail
VERSION=23.0.2
PREFIX=.cache/octokit-openapi
INSTALLED=$PREFIX/node_modules/@octokit/openapi/package.json
if [ -f "$INSTALLED" ] && grep -q "\"version\": \"$VERSION\"" "$INSTALLED"; then
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
# npm trusts only the CAs built into Node; trust the system's store too, as git and pip do (a CI
# host that intercepts TLS puts its CA there).
if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
fi
mkdir -p "$PREFIX"
npm install --prefix "$PREFIX" --no-save --no-package-lock --no-audit --no-fund --no-update-notifier --ignore-scripts \
    --loglevel=error "@octokit/openapi@$VERSION"
