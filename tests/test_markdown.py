import pytest

from bot.report.markdown import code_block, escape, without_html


@pytest.mark.parametrize(
    "text, expected",
    [
        ("test.accuracy", "test.accuracy"),
        ("a|b", "a\\|b"),
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("<!-- mrbot:report id=x -->", "&lt;!-- mrbot:report id=x --&gt;"),
        ("`rm -rf`", "\\`rm -rf\\`"),
        ("**bold** _em_", "\\*\\*bold\\*\\* \\_em\\_"),
        ("[click](http://evil)", "\\[click\\](http://evil)"),
        ("![img](x.png)", "!\\[img\\](x.png)"),
        ("line1\nline2", "line1 line2"),
        ("# heading", "\\# heading"),
        ("- item", "\\- item"),
        ("1. item", "1\\. item"),
        ("-0.27", "-0.27"),
        ("0.7167", "0.7167"),
        ("a & b", "a &amp; b"),
        ("$x^2$", "\\$x^2\\$"),
    ],
)
def test_escape_renders_text_literally(text, expected):
    assert escape(text) == expected


def test_escape_stops_mentions_but_keeps_them_readable():
    escaped = escape("thanks @octocat and @org/team")
    assert "@octocat" not in escaped and "@org" not in escaped
    assert escaped.replace("\u200b", "") == "thanks @octocat and @org/team"
    assert escape("user@example.com") == "user@\u200bexample.com"


def test_code_block_fence_outlasts_backticks_inside():
    block = code_block("before ```` inside", "text")
    fence = block.split("\n", 1)[0]
    assert fence == "`````text"
    assert block.endswith("\n`````")


def test_escape_stops_mentions_that_start_with_an_escaped_character():
    # GitLab drops a backslash before "_" and then reads "@_infra-team" as a group mention.
    escaped = escape("cc @_infra-team")
    assert escaped.startswith("cc @\u200b") and escaped.replace("\u200b", "") == "cc @\\_infra-team"


@pytest.mark.parametrize(
    "text",
    ["fixes #1", "org/repo#2", "merges !3", "milestone %m1", 'milestone %"big one"', "epic &4", "GH-12"],
)
def test_escape_stops_issue_and_merge_request_references(text):
    escaped = escape(text)
    assert escaped.replace("\u200b", "").replace("&amp;", "&") == text
    assert "\u200b" in escaped  # right after the #, !, % or &, or before GH's "-"
    for reference in ("#1", "#2", "!3", "%m1", '%"', "&4", "GH-12"):
        assert reference not in escaped.replace("&amp;", "&")


@pytest.mark.parametrize("text", ["100%", "R&D", "x #a", "!important", "train/loss"])
def test_escape_leaves_what_is_no_reference_alone(text):
    assert escape(text).replace("&amp;", "&") == text


@pytest.mark.parametrize("text", ["/merge", "/approve now", "/close\n/reopen"])
def test_escape_keeps_gitlab_quick_actions_off_the_start_of_a_line(text):
    escaped = escape(text)
    assert escaped.startswith("\\/") and "\n" not in escaped


def test_escape_drops_controls_and_bidi_overrides():
    assert escape("nul\x00x") == "nulx"
    assert escape("safe\u202etxt.exe") == "safetxt.exe"
    assert escape("a\u2066b\u2069c\x1b[31m") == "abc\\[31m"


def test_code_block_keeps_gitlab_quick_actions_off_the_start_of_its_lines():
    # GitLab only skips fences of exactly three backticks; the log tail can hold "```" and "\r".
    block = code_block("Traceback\n</p>\n/close\r/approve\n```\n/merge\n  /indented is no command")
    assert not [line for line in block.splitlines() if line.startswith("/")]
    assert "\u200b/close" in block and "\u200b/approve" in block and "\u200b/merge" in block
    assert "  /indented is no command" in block and "\r" not in block


def test_without_html_unfolds_folds_and_small_print_but_leaves_code_blocks_alone():
    markdown = "\n".join([
        "<details><summary>3 unchanged metrics</summary>", "", "| a | b |", "", "</details>",
        "<details open><summary>Last lines of the output</summary>", "",
        "````", "a log that prints <details><summary>x</summary> and <sub>y</sub>", "```", "still the log", "````",
        "", "</details>", "<sub>base main `ba5e0000` · head x</sub>",
    ])
    plain = without_html(markdown).split("\n")
    assert plain[0] == "**3 unchanged metrics**" and plain[4] == ""
    assert plain[5] == "**Last lines of the output**"
    assert plain[8] == "a log that prints <details><summary>x</summary> and <sub>y</sub>"  # inside the fence
    assert plain[10] == "still the log"  # a shorter fence inside does not close it
    assert plain[-1] == "base main `ba5e0000` · head x"
    assert "<details" not in "\n".join(plain[:7] + plain[12:])
