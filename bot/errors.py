"""Errors that end a run with a one-line message and a documented exit code (see DESIGN.md)."""

import reprlib

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


# Untrusted values (YAML, JSON) may share references: a full repr of a small alias "bomb" never ends.
_BRIEF = reprlib.Repr()
_BRIEF.maxlevel = 1
_BRIEF.maxlist = _BRIEF.maxtuple = _BRIEF.maxdict = _BRIEF.maxset = 4
_BRIEF.maxstring = _BRIEF.maxother = _BRIEF.maxlong = 40


def brief(value: object) -> str:
    """A short, one-line repr of an untrusted value for an error message."""
    try:
        return _BRIEF.repr(value)
    except ValueError:  # an int too long to print (sys.get_int_max_str_digits)
        return f"<a long {type(value).__name__}>"
