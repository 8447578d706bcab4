#!/usr/bin/env bash
# The route table of the npm package bitbucket (lib/index.js, generated from Bitbucket Cloud's
# published swagger), pinned: the fake api.bitbucket.org of the tests (tests/servers/bitbucket.py)
# checks every /2.0 request it receives against it.
set -euo pipefail
source "$(dirname "$0")/../npm-pinned.sh"
npm_pinned .cache/bitbucket-routes "bitbucket@2.12.0"
