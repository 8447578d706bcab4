#!/usr/bin/env bash
# npm_pinned PREFIX PACKAGE@VERSION...: install those exact packages into PREFIX (a test tool, not
# part of mrbot), unless each is there at that version already. Sourced by scripts/test-setup.d/.
npm_pinned() {
    local prefix=$1 spec name version missing=0
    shift
    for spec in "$@"; do
        name=${spec%@*}
        version=${spec##*@}
        grep -qs "\"version\": \"$version\"" "$prefix/node_modules/$name/package.json" || missing=1
    done
    [ "$missing" = 1 ] || return 0
    if ! command -v npm >/dev/null 2>&1; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
    fi
    # npm trusts only the CAs built into Node; trust the system's store too, as git and pip do (a CI
    # host that intercepts TLS puts its CA there).
    if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
        export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
    fi
    mkdir -p "$prefix"
    npm install --prefix "$prefix" --no-save --no-package-lock --no-audit --no-fund --no-update-notifier \
        --ignore-scripts --loglevel=error "$@"
}
