import logging

from bot.cli import RedactSecrets
from bot.masking import mask, safe_cut, secret_values


def test_secret_values_come_from_secret_looking_names_only():
    environ = {
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG",
        "GITLAB_TOKEN": "glpat-abcdefghijklmnopqrst",
        "DB_PASSWORD": "hunter22hunter",
        "AZURE_STORAGE_CONNECTION_STRING": "DefaultEndpointsProtocol=https;AccountKey=abc",
        "SHORT_TOKEN": "true",  # too short to replace everywhere
        "HOME": "/home/runner/work",
    }
    assert sorted(secret_values(environ)) == sorted(
        [
            "wJalrXUtnFEMI/K7MDENG",
            "glpat-abcdefghijklmnopqrst",
            "hunter22hunter",
            "DefaultEndpointsProtocol=https;AccountKey=abc",
        ]
    )


def test_mask_hides_values_token_shapes_and_url_passwords():
    text = (
        "key wJalrXUtnFEMI/K7MDENG id AKIAIOSFODNN7EXAMPLE gh ghp_" + "a" * 36 + " "
        "lab glpat-" + "b" * 20 + " url https://user:pa55@example.com/repo.git"
    )
    masked = mask(text, ["wJalrXUtnFEMI/K7MDENG"])
    assert masked == "key *** id *** gh *** lab *** url https://***@example.com/repo.git"


def test_url_credentials_are_masked_up_to_the_last_at_before_the_host():
    text = (
        "a https://user:p@ss@example.com/x b https://glpat-notashape@gitlab.com/g/p.git "
        "c ssh://git@host:22/r d https://example.com/a?who=me@mail.example e mail@example.com"
    )
    assert mask(text, []) == (
        "a https://***@example.com/x b https://***@gitlab.com/g/p.git "
        "c ssh://***@host:22/r d https://example.com/a?who=me@mail.example e mail@example.com"
    )


def test_safe_cut_moves_before_a_secret_that_spans_the_cut():
    text = "x" * 10 + "my-secret-value" + " https://user:pass@host/ ghp_" + "a" * 36 + " end"
    secret_at, url_at, token_at = 10, text.index("://"), text.index("ghp_")
    assert safe_cut(text, ["my-secret-value"], 5) == 5
    assert safe_cut(text, ["my-secret-value"], secret_at + 4) == secret_at
    assert safe_cut(text, [], secret_at + 4) == secret_at + 4
    assert safe_cut(text, [], url_at + 1) == url_at and safe_cut(text, [], text.index("pass")) == url_at
    assert safe_cut(text, [], token_at + 20) == token_at
    for cut in range(len(text)):
        at = safe_cut(text, ["my-secret-value"], cut)
        assert at <= cut
        assert mask(text[:at], ["my-secret-value"]) + mask(text[at:], ["my-secret-value"]) == mask(
            text, ["my-secret-value"]
        )


def test_mrbot_log_lines_are_masked_like_the_pipeline_output():
    token = "ghp_" + "c" * 36
    record = logging.LogRecord(
        "bot", logging.INFO, __file__, 1, "remote %s, password %s, token %s",
        ("https://user:p@ss@example.com/x", "hunter22hunter", token), None,
    )
    RedactSecrets(secret_values({"DB_PASSWORD": "hunter22hunter"})).filter(record)
    assert record.getMessage() == "remote https://***@example.com/x, password ***, token ***"
