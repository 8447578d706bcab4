# mrbot's container image: what the GitHub Docker action and GitLab's `image:` run.
#   docker build -t mrbot .
# Build args:
#   BASE_IMAGE   a Debian-based image with python3 (>= 3.11) and its venv module. Default: the pinned
#                python slim image users get. CI builds on a local Debian base instead
#                (scripts/test-image.sh), so nothing below may rely on the python image's layout.
#   DVC_EXTRAS   the DVC remotes to support, as dvc's extras: "s3,gs,azure" (default), "s3,ssh", ...
#                or "" for local and HTTP remotes only.
# Behind a TLS-intercepting proxy, give pip its CA bundle as a build secret (kept in no layer):
#   docker build --secret id=ca-bundle,src=/etc/ssl/certs/ca-certificates.crt -t mrbot .
# At run time: MRBOT_INSTALL, a shell command run before mrbot (docker/entrypoint.sh).
ARG BASE_IMAGE=python:3.12.11-slim-bookworm

# ---- runtime: the base, git, and the environment every later stage runs in ----
FROM ${BASE_IMAGE} AS runtime
# git: DVC reads the base revision through it. The GitHub Docker action mounts the workspace owned
# by another uid, which git refuses ("dubious ownership") unless the directory is marked safe.
# DL3008 (pin apt versions): the Debian release is pinned by the base tag; pinning git's version
# too would break the build whenever Debian ships a security update of git.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* \
    && git config --system --add safe.directory '*'
# MPLCONFIGDIR: matplotlib's font list, built once in the image, is found whatever HOME a CI system
# runs the image with (GitHub's is /github/home), instead of being built again in every job (~0.2 s).
ENV PATH=/opt/mrbot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLCONFIGDIR=/opt/mrbot/matplotlib

# ---- build: a wheelhouse of every dependency, and the mrbot wheel ----
FROM ${BASE_IMAGE} AS build
# binutils: `strip`, for strip-wheels.sh. (DL3008: as above.)
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends binutils \
    && rm -rf /var/lib/apt/lists/*
ARG DVC_EXTRAS=s3,gs,azure
WORKDIR /src
# Dependencies first, read from pyproject.toml alone, so this layer (the only download) stays cached
# until they change. A venv, because Debian's python3 refuses system-wide installs (PEP 668).
COPY pyproject.toml docker/strip-wheels.sh ./
RUN --mount=type=secret,id=ca-bundle \
    if [ -f /run/secrets/ca-bundle ]; then export PIP_CERT=/run/secrets/ca-bundle; fi \
    && python3 -m venv /opt/build \
    && /opt/build/bin/python -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb")); \
print(*p["build-system"]["requires"], sep="\n", file=open("build-requirements.txt", "w")); \
print(*p["project"]["dependencies"], sep="\n", file=open("requirements.txt", "w"))' \
    && printf '%s\n' "dvc${DVC_EXTRAS:+[$DVC_EXTRAS]}" pip >> requirements.txt \
    && /opt/build/bin/pip install --no-cache-dir -r build-requirements.txt \
    && /opt/build/bin/pip wheel --no-cache-dir --wheel-dir /wheels -r requirements.txt \
    && PATH=/opt/build/bin:$PATH sh strip-wheels.sh /wheels \
    && mv requirements.txt /wheels/
COPY README.md ./
COPY bot ./bot
RUN /opt/build/bin/pip wheel --no-cache-dir --no-index --no-build-isolation --no-deps --wheel-dir /dist .

# ---- install: the venv, from the wheels alone ----
# Installed here and copied whole into the final image, so no wheel stays in any of its layers.
# (Not a RUN --mount of the build stage: buildah, which CI builds with, mounts a stale stage when
# its layers come from the cache.)
FROM runtime AS install
COPY --from=build /wheels /wheels
COPY docker/check-extensions.py /tmp/
# The venv's pip comes from the wheelhouse (run from its own wheel): current, not the base's bundled
# copy. Nothing is compiled to bytecode here, see below. What no report runs goes: the packages'
# own test suites, C/Cython sources and type stubs (~40 MB), and pyarrow's Flight RPC and S3 file
# system (~50 MB; mrbot reads CSV files with it, DVC reaches S3 through its own packages).
RUN python3 -m venv --without-pip /opt/mrbot \
    && set -- /wheels/pip-*.whl \
    && python "$1/pip" install --no-cache-dir --no-compile --no-index --find-links /wheels \
        -r /wheels/requirements.txt \
    && find /opt/mrbot/lib -depth \( -type d -name tests -o -name '*.c' -o -name '*.pyx' -o -name '*.pyi' \) \
        -exec rm -rf {} + \
    && find /opt/mrbot/lib -path '*/site-packages/pyarrow/*' \( -name 'libarrow_flight*' -o -name '_flight*' \
        -o -name 'libarrow_s3*' -o -name '_s3fs*' \) -delete \
    && PYTHONDONTWRITEBYTECODE=1 python /tmp/check-extensions.py
COPY --from=build /dist /dist
# Bytecode for all the installed code would be ~120 MB, and a report imports ~30 MB of it. A demo
# run compiles exactly that, so start-up stays ~1 s instead of ~3 s; any other module compiles
# when it is first imported.
RUN pip install --no-cache-dir --no-compile --no-index --no-deps /dist/*.whl \
    && { DVC_NO_ANALYTICS=1 mrbot demo --dir /tmp/warm-up >/dev/null 2>/tmp/warm-up.log \
        || { cat /tmp/warm-up.log; exit 1; }; } \
    && python -c 'import github, gitlab, orjson, pyarrow.csv' \
    && test -n "$(find "$MPLCONFIGDIR" -name 'fontlist-*.json')" \
    && chmod 1777 "$MPLCONFIGDIR"

# ---- final ----
FROM runtime
LABEL org.opencontainers.image.title="mrbot" \
      org.opencontainers.image.description="CI bot that reproduces a DVC pipeline and posts a model report on the pull/merge request" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=install /opt/mrbot /opt/mrbot
COPY docker/entrypoint.sh /usr/local/bin/mrbot-entrypoint
# Arguments that are mrbot's (`report ...`, a GitHub action's `args`) run mrbot; any other command
# (GitLab's job shell, `docker run IMAGE bash`) runs as given. See docker/entrypoint.sh.
ENTRYPOINT ["/usr/local/bin/mrbot-entrypoint"]
CMD ["report"]
