#!/bin/sh
# The image's ENTRYPOINT, for two kinds of caller:
# - a GitHub Docker action passes mrbot's arguments (its `args:`, e.g. `report --base main`), and
#   `docker run IMAGE demo` does the same: those run mrbot;
# - a Bitbucket pipe (`pipe: docker://IMAGE`) passes no arguments, only variables: `report`;
# - GitLab CI starts a job's image with a command of its own (a shell that then reads the job's
#   script), as does `docker run IMAGE bash`: that command must run as given, or the job never starts.
# So arguments that mrbot understands (a subcommand or an option, or `mrbot ...`) go to mrbot, and
# anything else is exec'd. The subcommand list must match bot/cli.py (tests/test_entrypoint.py checks).
#
# MRBOT_INSTALL: a shell command run before mrbot, for the packages the user's own pipeline needs
# (e.g. `pip install -r requirements.txt`; pip is the one of mrbot's venv, whose python the DVC
# stages run with). The action's `install` input and the GitLab template set it. A GitLab script
# that calls mrbot itself gets the same by calling `mrbot-entrypoint report` instead of `mrbot report`.
set -eu

run_mrbot() {
    if [ -n "${MRBOT_INSTALL:-}" ]; then
        echo "mrbot-entrypoint: running MRBOT_INSTALL: $MRBOT_INSTALL" >&2
        sh -c "$MRBOT_INSTALL"
    fi
    exec mrbot "$@"
}

case "${1:-}" in
    mrbot) shift; run_mrbot "$@" ;;
    # A Bitbucket pipe gets variables only, never arguments: in Pipelines, none means `report`.
    "") if [ $# -eq 0 ] && [ -n "${BITBUCKET_BUILD_NUMBER:-}" ]; then run_mrbot report; else run_mrbot "$@"; fi ;;
    report | propose | publish | demo | -*) run_mrbot "$@" ;;
    *) exec "$@" ;;
esac
