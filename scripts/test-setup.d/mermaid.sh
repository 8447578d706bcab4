#!/usr/bin/env bash
# Mermaid itself, pinned, with a DOM for it to run in: tests/test_mermaid_parses.py parses every
# Mermaid chart mrbot writes with the parser GitHub and GitLab render them with.
set -euo pipefail
source "$(dirname "$0")/../npm-pinned.sh"
npm_pinned .cache/mermaid "mermaid@11.17.2" "jsdom@29.1.1"
