#!/usr/bin/env bash
# Install what the test suite needs into .venv (and test tools into .cache/), then run it all.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
for setup in scripts/test-setup.d/*.sh; do
    [ -e "$setup" ] && bash "$setup"
done
exec .venv/bin/python -m pytest "$@"
