#!/usr/bin/env bash
# Mermaid itself, pinned, with a DOM for it to run in: tests/test_mermaid_parses.py parses every
# Mermaid chart mrbot writes with the parser GitHub and GitLab render them with.
set -euo pipefail
MERMAID=11.17.2
JSDOM=29.1.1
PREFIX=.cache/mermaid
INSTALLED=$PREFIX/node_modules/mermaid/package.json
if [ -f "$INSTALLED" ] && grep -q "\"version\": \"$MERMAID\"" "$INSTALLED" \
    && [ -f "$PREFIX/node_modules/jsdom/package.json" ]; then
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
    --loglevel=error "mermaid@$MERMAID" "jsdom@$JSDOM"
