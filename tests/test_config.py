""".mrbot.yml: wrong types, encodings and hostile YAML end in a one-line BadInput naming the file."""

import resource
import subprocess
import sys

import pytest

from bot.config import load_config
from bot.errors import BadInput


def _alias_bomb(levels: int = 9, width: int = 9) -> str:
    """A flow list of `levels` nested levels, each `width` aliases of the one before: a few hundred
    bytes of YAML, width**levels items once printed."""
    node = "&a0 [x]"
    for level in range(1, levels + 1):
        node = f"&a{level} [{node}" + f", *a{level - 1}" * (width - 1) + "]"
    return node


def load(tmp_path, text: str | bytes):
    path = tmp_path / ".mrbot.yml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return load_config(tmp_path)


@pytest.mark.parametrize(
    "text, message",
    [
        ("template: 5", "template must be the path of a Jinja2 template, relative to the file, not 5"),
        ("template: [a]", "template must be the path of a Jinja2 template, relative to the file, not ['a']"),
        ("id: [a, b]", "id must be 1-64 letters, digits, '.', '_' or '-', not ['a', 'b']"),
        ("id: {a: 1}", "id must be 1-64 letters"),
        ("1: a\nfoo: b", "unknown key 1; allowed:"),
        ("metrics: {acc: {threshold: [1]}}", "metrics.acc.threshold must be a non-negative number, a percentage like '1%', or auto"),
        ('metrics: {"a\\nb": {direction: up}}', r"metrics.'a\nb'.direction must be 'higher' or 'lower', not 'up'"),
        (b"\xff\xfe", "is not UTF-8 text (bad byte at offset 0); save it as UTF-8"),
        ("[" * 100_000, "nests too deeply or holds too long a number"),
        ("id: " + "1" * 5000, "nests too deeply or holds too long a number"),
        ("metrics: {acc: {threshold: 1" + "0" * 400 + "}}", "metrics.acc.threshold must be a non-negative number"),
        ("history: -1", "history must be a whole number of commits from 0 (off) to 1000, not -1"),
        ("history: many", "history must be a whole number of commits from 0 (off) to 1000, not 'many'"),
        ("history: true", "history must be a whole number of commits from 0 (off) to 1000, not True"),
        ("metrics: {acc: {threshold: {auto: 0}}}", "metrics.acc.threshold: auto takes a factor above 0 (default 2), not 0"),
        ("metrics: {acc: {threshold: {auto: -1}}}", "metrics.acc.threshold: auto takes a factor above 0 (default 2), not -1"),
        ("metrics: {acc: {threshold: automatic}}", "metrics.acc.threshold must be a non-negative number, a percentage like '1%', or auto"),
        ("baselines: {'prod env': main}", "baselines: the name 'prod env' must be 1-40 letters, digits, '.', '_' or '-'"),
        ("baselines: {prod: ''}", "baselines.prod must be a branch, tag or sha, not ''"),
        ("baselines: [main]", "baselines must map a name to a revision"),
        ("splits: {train: [train], holdout: [test]}", "splits takes 'train' and 'test'"),
        ("base: latest", "base must be 'merge-base' (where the branch forked) or 'tip' (the base branch now), not 'latest'"),
    ],
    ids=["template-int", "template-list", "id-list", "id-map", "int-key", "threshold-list", "newline-key",
         "utf16", "deep", "long-int", "threshold-beyond-float", "history-negative", "history-word", "history-bool", "auto-zero",
         "auto-negative", "auto-misspelt", "baseline-name", "baseline-empty", "baselines-list", "splits-key", "base-unknown"],
)
def test_wrong_types_and_encodings_name_the_file_and_field(tmp_path, text, message):
    with pytest.raises(BadInput) as raised:
        load(tmp_path, text)
    assert str(raised.value).startswith(f"{tmp_path / '.mrbot.yml'}: ")
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_numbers_and_blanks_keep_working(tmp_path):
    assert load(tmp_path, "id: 2").report_id == "2"
    assert load(tmp_path, "id:\ntemplate:").report_id == "default"
    assert load(tmp_path, "template: t.md.j2").template == tmp_path / "t.md.j2"
    rules = load(tmp_path, "metrics: {acc: {threshold: '1%'}, loss: {threshold: 0.5}}").metric_rules
    assert [(rule.pattern, rule.threshold.relative_pct, rule.threshold.absolute) for rule in rules] == [
        ("acc", 1.0, None), ("loss", None, 0.5)
    ]


@pytest.mark.parametrize(
    "field, message",
    [
        ("id", "id must be"),
        ("template", "template must be"),
        ("metrics: {acc: {threshold", "metrics.acc.threshold must be"),
        ("metrics: {acc: {direction", "metrics.acc.direction must be"),
    ],
)
def test_an_alias_bomb_is_refused_quickly(tmp_path, field, message):
    # str() or repr() of the bomb would print 9**9 items; a memory cap turns that into a failure, not a hang.
    closing = "}" * field.count("{")
    (tmp_path / ".mrbot.yml").write_text(f"{field}: {_alias_bomb()}{closing}\n", encoding="utf-8")
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")  # the config is read once the repository is found
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)

    def cap_memory():
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    done = subprocess.run([sys.executable, "-m", "bot", "report", str(tmp_path), "--dry-run"],
                          capture_output=True, text=True, timeout=60, preexec_fn=cap_memory)
    assert done.returncode == 2, done.stderr[-500:]
    error = [line for line in done.stderr.splitlines() if line.startswith("mrbot: error: ")]
    assert len(error) == 1 and message in error[0] and "Traceback" not in done.stderr
    assert len(error[0]) < 300
