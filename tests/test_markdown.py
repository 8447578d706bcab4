import pytest

from bot.markdown import code_block, escape


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
