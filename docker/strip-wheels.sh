#!/bin/sh
# Strip the Python extension modules inside the wheels of a directory of their debug sections and
# local symbols (~40 MB of the image; Python finds an extension by its dynamic symbols, which stay).
# Never the libraries auditwheel vendored into *.libs/: stripping those breaks their patched layout
# ("ELF load command address/offset not page-aligned").
# The install stage then imports every extension module to prove none broke (check-extensions.py).
# `wheel pack` writes each wheel's RECORD anew for the changed files.
set -eu
dir=$1
work=$(mktemp -d)
for whl in "$dir"/*.whl; do
    case "$whl" in *-none-any.whl) continue ;; esac  # pure Python: nothing to strip
    wheel unpack --dest "$work" "$whl" >/dev/null
    find "$work" -type f -name '*.so' ! -path '*.libs/*' -exec strip --strip-unneeded {} +
    rm "$whl"
    wheel pack --dest-dir "$dir" "$work"/* >/dev/null
    rm -rf "${work:?}"/*
done
rmdir "$work"
