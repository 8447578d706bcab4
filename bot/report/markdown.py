"""Escaping untrusted text (metric names, paths, params, logs, titles) for GitHub/GitLab Markdown."""

from __future__ import annotations

import re

# Characters Markdown gives meaning to anywhere in a line; a backslash makes them literal.
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]|~$])")
# Characters that start a block (heading, list, quote, numbered list) only at the start of a line.
_BLOCK_START = re.compile(r"^(\s*)([#+=-]+)(?=\s|$)")
_NUMBERED_ITEM = re.compile(r"^(\s*\d+)([.)])(?=\s|$)")
# A zero-width space keeps the text readable but stops what the forges read into it: @mentions
# (pings), and references (#1, org/repo#1, GH-1; GitLab's !1, %milestone, &epic) that add "mentioned
# in" events to other issues. Inserted before any backslash, which GitLab drops before it looks.
_MENTION = re.compile(r"@(?=[\w-])")
_REFERENCE = re.compile(r"([#!&](?=\d)|%(?=[\w\"])|(?<=\bGH)(?=-\d))")
_ZERO_WIDTH_SPACE = "\u200b"
# Controls (but tab and line ends) and the bidi overrides and isolates that can make a name read
# differently than it is.
_HIDDEN_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# GitLab runs a note's lines that start with "/close", "/merge", "/approve"... as quick actions, as
# the note's author (mrbot's token), even inside fences it does not recognise as code.
_LINE_START_SLASH = re.compile(r"^/", re.MULTILINE)
# Text that needs no escaping: no markup characters, no whitespace (so no block marker can start).
_PLAIN = re.compile(r"[A-Za-z0-9.,:()+-][A-Za-z0-9.,:/()+-]*")
_BLOCK_MARKER_ONLY = re.compile(r"[#+=-]+|\d+[.)]")


def escape(text: object) -> str:
    """Render `text` literally inside Markdown prose or a table cell, on a single line."""
    value = str(text)
    if _PLAIN.fullmatch(value) and not _BLOCK_MARKER_ONLY.fullmatch(value) and "GH-" not in value:
        return value  # the common case (names, numbers): skip the regex passes below
    value = _HIDDEN_CONTROLS.sub("", value)
    value = _MENTION.sub("@" + _ZERO_WIDTH_SPACE, value)
    value = _REFERENCE.sub(r"\1" + _ZERO_WIDTH_SPACE, value)
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = _MARKDOWN_SPECIALS.sub(r"\\\1", value)
    # Newlines would end a table row or a list item.
    value = " ".join(value.splitlines())
    if value.startswith("/"):
        value = "\\" + value  # renders as "/", but is no quick action at a line's start
    value = _NUMBERED_ITEM.sub(r"\1\\\2", value)
    return _BLOCK_START.sub(r"\1\\\2", value)


def code_block(text: str, language: str = "") -> str:
    """A fenced block that no backtick run inside `text` can close early."""
    text = _HIDDEN_CONTROLS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _LINE_START_SLASH.sub(_ZERO_WIDTH_SPACE + "/", text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    # Neither forge renders HTML or pings mentions inside a fenced block.
    return f"{fence}{language}\n{text}\n{fence}"


# A code span mrbot's own messages use for a command or setting (`dvc repro`, `fetch-depth: 0`):
# no backtick, pipe, markup or mention can be inside, and a code span shows its text literally.
_SAFE_CODE_SPAN = re.compile(r"`([A-Za-z0-9._:=/-][A-Za-z0-9 _.:=/-]*)`")


def escape_prose(text: object) -> str:
    """Like escape, but short code spans of plain characters stay code: mrbot's own advice ("run
    `dvc repro`") reads as it should, and untrusted text gains nothing from it."""
    # split() puts each span's inside at the odd positions, the text around them at the even ones.
    parts = _SAFE_CODE_SPAN.split(str(text))
    return "".join(f"`{part}`" if index % 2 else escape(part) if part else "" for index, part in enumerate(parts))


# mrbot's own HTML in a report: folds and small print, outside code blocks (user text is escaped).
_FOLD_START = re.compile(r"<details(?: open)?><summary>(.*?)</summary>")
_FOLD_END = re.compile(r"</details>")
_SMALL = re.compile(r"<sub>(.*?)</sub>")
_FENCE = re.compile(r"^(`{3,})")


def without_html(markdown: str) -> str:
    """The report for a forge that shows HTML as text (Bitbucket): a fold's summary becomes a bold
    line with its content shown, small print plain text. Fenced blocks (log tails) stay as they are."""
    lines, fence = [], ""
    for line in markdown.split("\n"):
        if fence:
            if re.fullmatch(f"{fence}`*\\s*", line):
                fence = ""  # the block's closing fence
        elif opened := _FENCE.match(line):
            fence = opened.group(1)
        else:
            line = _SMALL.sub(r"\1", _FOLD_END.sub("", _FOLD_START.sub(r"**\1**", line)))
        lines.append(line)
    return "\n".join(lines)
