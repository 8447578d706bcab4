"""metrics.txt for GitLab's metrics widget: valid OpenMetrics (checked by prometheus-client's strict
parser) and readable the way GitLab reads it (`name value` per line, `#` comments dropped)."""

import math
import shlex

from prometheus_client.openmetrics.parser import text_string_to_metric_families

from bot.compare.diff import IMPROVED, NEW, REMOVED, UNCHANGED, MetricRow
from bot.report.bundle import write_bundle
from bot.report.model import Report, RevisionInfo
from bot.report.openmetrics import METRICS_TXT, metric_name, openmetrics_text


def row(path, name, new, verdict=UNCHANGED, direction="higher"):
    return MetricRow(path, name, 1.0, new, None, None, direction, verdict)


def report_with(rows):
    return Report(
        base=RevisionInfo("main", "a" * 40),
        head=RevisionInfo("feature", "b" * 40),
        metrics=rows,
        params=[],
        charts=[],
        verdict=UNCHANGED,
        summary="",
        counts={},
    )


def parse_strictly(text):
    return {family.name: family for family in text_string_to_metric_families(text)}


def parse_like_gitlab(text):
    """GitLab's metrics report parser: drop `#...`, split shell-style, name and first value."""
    metrics = {}
    for line in text.splitlines():
        words = shlex.split(line.split("#", 1)[0])
        if len(words) >= 2:
            metrics[words[0]] = words[1]
    return metrics


def test_one_metrics_file_gives_plain_names_and_head_values():
    text = openmetrics_text(
        report_with(
            [
                row("metrics.json", "test.accuracy", 0.9123, IMPROVED),
                row("metrics.json", "test.loss", 0.25, direction="lower"),
                row("metrics.json", "epochs", 12, NEW),
            ]
        )
    )
    families = parse_strictly(text)
    assert {name: family.type for name, family in families.items()} == {
        "test_accuracy": "gauge",
        "test_loss": "gauge",
        "epochs": "gauge",
    }
    assert families["test_accuracy"].samples[0].value == 0.9123
    assert families["test_loss"].documentation == "metrics.json: test.loss (lower is better)"
    assert parse_like_gitlab(text) == {"test_accuracy": "0.9123", "test_loss": "0.25", "epochs": "12"}
    assert text.endswith("# EOF\n")


def test_several_files_put_the_file_in_the_name_and_never_repeat_a_name():
    text = openmetrics_text(
        report_with(
            [
                row("eval/metrics.json", "acc", 0.5),
                row("train/metrics.json", "acc", 0.6),
                row("train/metrics.json", "a.b", 1),
                row("train/metrics.json", "a_b", 2),
            ]
        )
    )
    assert parse_like_gitlab(text) == {
        "eval_metrics_json_acc": "0.5",
        "train_metrics_json_acc": "0.6",
        "train_metrics_json_a_b": "1",
        "train_metrics_json_a_b_2": "2",
    }
    assert len(parse_strictly(text)) == 4


def test_only_numeric_head_values_are_written_and_special_floats_are_spelled_out():
    text = openmetrics_text(
        report_with(
            [
                row("m.json", "gone", None, REMOVED),
                row("m.json", "label", "cat"),
                row("m.json", "flag", True),
                row("m.json", "diverged", float("nan")),
                row("m.json", "bound", float("-inf")),
            ]
        )
    )
    families = parse_strictly(text)
    assert set(families) == {"diverged", "bound"}
    assert math.isnan(families["diverged"].samples[0].value)
    assert families["bound"].samples[0].value == float("-inf")
    assert parse_like_gitlab(text) == {"diverged": "NaN", "bound": "-Inf"}


def test_untrusted_names_cannot_add_lines_or_break_the_format():
    hostile = 'x\n# EOF\nfake_metric 1 "quoted" \\ back'
    text = openmetrics_text(report_with([row("m.json", hostile, 3), row("m.json", "1st-place accuracy %", 0.7)]))
    families = parse_strictly(text)
    assert set(families) == {"x_EOF_fake_metric_1_quoted_back", "_1st_place_accuracy"}
    assert families["x_EOF_fake_metric_1_quoted_back"].documentation == f"m.json: {hostile} (higher is better)"
    assert parse_like_gitlab(text) == {"x_EOF_fake_metric_1_quoted_back": "3", "_1st_place_accuracy": "0.7"}


def test_no_metrics_is_still_a_valid_file():
    assert openmetrics_text(report_with([])) == "# EOF\n"
    assert parse_strictly("# EOF\n") == {}


def test_metric_name_sanitizing():
    assert metric_name("test.accuracy") == "test_accuracy"
    assert metric_name("..") == "metric"
    assert metric_name("9lives") == "_9lives"
    assert metric_name("ns:sub") == "ns_sub"  # colons are reserved in OpenMetrics names


def test_the_bundle_carries_metrics_txt(tmp_path):
    write_bundle(report_with([row("metrics.json", "test.accuracy", 0.75)]), tmp_path)
    assert parse_like_gitlab((tmp_path / METRICS_TXT).read_text()) == {"test_accuracy": "0.75"}
