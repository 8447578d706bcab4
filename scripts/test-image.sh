#!/usr/bin/env bash
# Build the mrbot image from the Dockerfile and run it for real: `mrbot --version`, `mrbot demo`, the
# GitLab-style shell path, MRBOT_INSTALL, git's safe.directory; then print the image's size.
# With a working Docker engine (GitHub's runners) it builds on the Dockerfile's default base image.
# Without one (this project's CI machine: no engine, no registry image to pull) it builds with
# buildah --isolation chroot on a local Debian base image that debootstrap makes from the machine's
# own apt mirror. Exits non-zero if the build or any check fails.
set -euo pipefail
shopt -s inherit_errexit  # a failure inside $(...) fails the script too
cd "$(dirname "$0")/.."

IMAGE=localhost/mrbot:test
# The machine's CA bundle, for pip in the build behind a TLS-intercepting proxy (see the Dockerfile).
CA_BUNDLE=${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}
BUILD_ARGS=()
[ -f "$CA_BUNDLE" ] && BUILD_ARGS+=(--secret "id=ca-bundle,src=$CA_BUNDLE")
# Sessions on one machine share the image store and cores: one build at a time.
exec 9>"${TMPDIR:-/tmp}/mrbot-test-image.lock"
flock 9

apt_install() {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# The Debian archive (not -security, not -updates) the machine's apt uses: "URI CODENAME".
debian_archive() {
    # apt knows an archive's label and codename only from its downloaded lists.
    [ -n "$(known_debian_archive)" ] || apt-get update -qq
    known_debian_archive
}

known_debian_archive() {
    # shellcheck disable=SC2016 # $(...) here is apt's field syntax, not the shell's
    apt-get indextargets --format '$(REPO_URI) $(CODENAME) $(LABEL)' \
        | awk '$3 == "Debian" && $2 !~ /-/ { print $1, $2; exit }'
}

# A Debian base with python3 and its venv module: a stand-in for the python slim image, made
# locally (no git: the Dockerfile installs it, as it must on slim, so its size is measured too).
# Cached in the image store; made again only when missing.
local_base() {
    local mirror codename base rootfs ctr
    read -r mirror codename < <(debian_archive) || true
    [ -n "$codename" ] || { echo "no Debian archive in the apt sources" >&2; return 1; }
    base=localhost/mrbot-base:$codename
    if buildah inspect --type image "$base" >/dev/null 2>&1; then
        echo "$base"
        return
    fi
    rootfs=$(mktemp -d)
    echo "making $base with debootstrap from $mirror" >&2
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
        "$codename" "$rootfs" "$mirror" >&2
    # The downloaded packages and indexes are no part of an image. Like Debian's slim images (which
    # python slim is built on), keep no docs, man pages or translations, now or from later installs,
    # so the sizes measured here are close to what users get.
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/*
    printf 'path-exclude /usr/share/%s/*\n' doc man info locale >"$rootfs/etc/dpkg/dpkg.cfg.d/slim"
    rm -rf "$rootfs"/usr/share/{doc,man,info,locale}/*
    tar -C "$rootfs" -cf "$rootfs.tar" .
    rm -rf "$rootfs"
    ctr=$(buildah from scratch)
    buildah add "$ctr" "$rootfs.tar" / >/dev/null  # a local tar is unpacked
    buildah commit --rm -q "$ctr" "$base" >/dev/null
    rm -f "$rootfs.tar"
    echo "$base"
}

if docker info >/dev/null 2>&1; then
    ENGINE=docker
    docker build "${BUILD_ARGS[@]}" -t "$IMAGE" .
    echo "image built in ${SECONDS}s"
    in_image() { docker run --rm -i -e DVC_NO_ANALYTICS=1 "$IMAGE" "$@"; }
    image_config() { docker image inspect --format '{{.Config.Entrypoint}} {{.Config.Cmd}}' "$IMAGE"; }
    SIZE=$(docker image inspect --format '{{.Size}}' "$IMAGE")
else
    ENGINE=buildah
    for tool in buildah podman debootstrap; do
        command -v "$tool" >/dev/null || { apt_install buildah podman debootstrap; break; }
    done
    base=$(local_base)
    echo "base image $base: ready after ${SECONDS}s"
    # --layers keeps the dependency layers between runs, so a code change rebuilds in seconds.
    started=$SECONDS
    buildah build --isolation chroot --layers -q "${BUILD_ARGS[@]}" --build-arg "BASE_IMAGE=$base" -t "$IMAGE" . >/dev/null
    echo "image built in $((SECONDS - started))s"
    # Layers of earlier builds that no tag uses any more pile up with every code change: drop the
    # old ones (the recent ones are the cache of the next run).
    podman image prune -f --filter until=72h >/dev/null
    CTR=$(buildah from -q "$IMAGE")
    trap 'buildah rm "$CTR" >/dev/null' EXIT
    # buildah run skips the ENTRYPOINT: call it, as an engine would.
    in_image() { buildah run --isolation chroot "$CTR" -- env DVC_NO_ANALYTICS=1 /usr/local/bin/mrbot-entrypoint "$@"; }
    image_config() { buildah inspect --type image --format '{{.OCIv1.Config.Entrypoint}} {{.OCIv1.Config.Cmd}}' "$IMAGE"; }
    # The size of the image's layers as stored, uncompressed (what `docker images` shows).
    SIZE=$(podman image inspect --format '{{.Size}}' "$IMAGE")
fi

passed=0
failed=0
# check NAME EXPECTED COMMAND...: the command must succeed and its output contain EXPECTED.
check() {
    local name=$1 expected=$2 out
    shift 2
    if out=$("$@" 2>&1) && grep -qF -- "$expected" <<<"$out"; then
        passed=$((passed + 1))
        echo "ok: $name"
    else
        failed=$((failed + 1))
        printf 'FAILED: %s (expected %q in the output)\n%s\n' "$name" "$expected" "$out" | tail -n 40
    fi
}

version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' bot/__init__.py)
check "entrypoint and default command" '[/usr/local/bin/mrbot-entrypoint] [report]' image_config
check "mrbot --version" "mrbot $version" in_image --version
check "mrbot demo" "## ✅ Model improved" in_image demo
check "a command runs as given (GitLab's job shell)" "/opt/mrbot/bin/mrbot" in_image sh -c 'command -v mrbot'
check "the job script arrives on the shell's stdin" "mrbot $version" \
    in_image sh -c 'echo "mrbot --version" | sh'
check "MRBOT_INSTALL runs before mrbot" "install ran" \
    in_image env 'MRBOT_INSTALL=echo install ran' mrbot-entrypoint --version
# shellcheck disable=SC2016 # expanded by the shell inside the image
check "pip and python are mrbot's venv (MRBOT_INSTALL installs where stages run)" "/opt/mrbot /opt/mrbot/bin/pip" \
    in_image sh -c 'echo "$(python -c "import sys; print(sys.prefix)") $(command -v pip)"'
check "DVC remotes s3, gs, azure" "remotes ok" \
    in_image python -c 'import dvc_s3, dvc_gs, dvc_azure; print("remotes ok")'
check "git accepts a workspace owned by another uid" "safe" \
    in_image sh -c 'mkdir /tmp/ws && cd /tmp/ws && git init -q && chown -R 1234:1234 . && git status -s && echo safe'
# shellcheck disable=SC2016 # expanded by python inside the image
check "matplotlib's font list is the image's, for any user and HOME" "/opt/mrbot/matplotlib 1 kept" \
    in_image env HOME=/nonexistent setpriv --reuid=1234 --regid=1234 --clear-groups python -c '
import glob, os
lists = glob.glob("/opt/mrbot/matplotlib/fontlist-*.json")
before = [os.path.getmtime(path) for path in lists]
import matplotlib, matplotlib.font_manager
kept = before == [os.path.getmtime(path) for path in lists]
print(matplotlib.get_cachedir(), len(lists), "kept" if kept else "rebuilt")'
check "no compiler, pip cache or wheels left" "clean" \
    in_image sh -c '! command -v cc && ! command -v gcc && ! [ -e /root/.cache/pip ] && ! [ -e /wheels ] && echo clean'

echo "image $IMAGE ($ENGINE): $SIZE bytes = $((SIZE / 1000000)) MB uncompressed"
echo "image test: ${SECONDS}s in all"
echo "image: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
