"""Errors that end a run with a one-line message and a documented exit code (see DESIGN.md)."""

EXIT_OK = 0
EXIT_GATE_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_PIPELINE_FAILED = 3
EXIT_FORGE_REFUSED = 4
EXIT_INTERNAL_ERROR = 5  # a bug in mrbot


class MrbotError(Exception):
    """A failure the user can act on; the message says what and how to fix it."""

    exit_code = EXIT_BAD_INPUT


class BadInput(MrbotError):
    exit_code = EXIT_BAD_INPUT


class ForgeRefused(MrbotError):
    exit_code = EXIT_FORGE_REFUSED
