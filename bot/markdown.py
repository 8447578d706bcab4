"""Escaping untrusted text (metric names, paths, params, logs, titles) for GitHub/GitLab Markdown."""

from __future__ import annotations

import re

# Characters Markdown gives meaning to anywhere in a line; a backslash makes them literal.
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]|~$])")
# Characters that start a block (heading, list, quote, numbered list) only at the start of a line.
_BLOCK_START = re.compile(r"^(\s*)([#+=-]+)(?=\s|$)")
_NUMBERED_ITEM = re.compile(r"^(\s*\d+)([.)])(?=\s|$)")
# A zero-width space after "@" keeps the text readable but stops @mention pings on both forges.
_MENTION = re.compile(r"@(?=[\w-])")
_ZERO_WIDTH_SPACE = "\u200b"
# Text that needs no escaping: no markup characters, no whitespace (so no block marker can start).
_PLAIN = re.compile(r"[A-Za-z0-9.,:/%()+-]*")
_BLOCK_MARKER_ONLY = re.compile(r"[#+=-]+|\d+[.)]")


def escape(text: object) -> str:
    """Render `text` literally inside Markdown prose or a table cell, on a single line."""
    value = str(text)
    if _PLAIN.fullmatch(value) and not _BLOCK_MARKER_ONLY.fullmatch(value):
        return value  # the common case (names, numbers): skip the regex passes below
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = _MARKDOWN_SPECIALS.sub(r"\\\1", value)
    value = _MENTION.sub("@" + _ZERO_WIDTH_SPACE, value)
    # Newlines would end a table row or a list item.
    value = " ".join(value.splitlines())
    value = _NUMBERED_ITEM.sub(r"\1\\\2", value)
    return _BLOCK_START.sub(r"\1\\\2", value)


def code_block(text: str, language: str = "") -> str:
    """A fenced block that no backtick run inside `text` can close early."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    # Neither forge renders HTML or pings mentions inside a fenced block.
    return f"{fence}{language}\n{text}\n{fence}"
