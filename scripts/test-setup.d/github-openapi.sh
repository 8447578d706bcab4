#!/usr/bin/env bash
# GitHub's official REST API description, pinned: the fake api.github.com of the tests
# (tests/servers/github.py) checks every request it receives against it.
set -euo pipefail
source "$(dirname "$0")/../npm-pinned.sh"
npm_pinned .cache/octokit-openapi "@octokit/openapi@23.0.2"
