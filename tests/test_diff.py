import math

import pytest

from bot.compare.diff import (
    CHANGED,
    HIGHER,
    IMPROVED,
    LOWER,
    NEW,
    REGRESSED,
    REMOVED,
    UNCHANGED,
    UNKNOWN,
    MetricRule,
    Threshold,
    compare_metric,
    compare_metrics,
    compare_params,
    default_direction,
    overall_verdict,
    summarize,
)
from bot.compare.noise import position, spread
from bot.report.trend import sparkline


@pytest.mark.parametrize(
    "name, direction",
    [
        ("loss", LOWER),
        ("test.loss", LOWER),
        ("val_loss", LOWER),
        ("train.error", LOWER),
        ("rmse", LOWER),
        ("eval.mae", LOWER),
        ("mse", LOWER),
        ("inference_time", LOWER),
        ("p95.latency", LOWER),
        ("accuracy", HIGHER),
        ("test.f1", HIGHER),
        ("loss_weight.auc", HIGHER),  # only the leaf name counts
    ],
)
def test_default_direction_by_name(name, direction):
    assert default_direction(name) == direction


def test_higher_is_better_improves_and_regresses():
    up = compare_metric("m.json", "acc", 0.80, 0.85)
    assert (up.verdict, up.direction) == (IMPROVED, HIGHER)
    assert up.change == pytest.approx(0.05)
    assert up.change_pct == pytest.approx(6.25)
    assert compare_metric("m.json", "acc", 0.85, 0.80).verdict == REGRESSED


def test_lower_is_better_for_loss():
    assert compare_metric("m.json", "loss", 0.5, 0.4).verdict == IMPROVED
    assert compare_metric("m.json", "loss", 0.4, 0.5).verdict == REGRESSED


def test_config_direction_overrides_the_name():
    rule = MetricRule("loss", direction=HIGHER)
    assert compare_metric("m.json", "loss", 0.4, 0.5, rule).verdict == IMPROVED


def test_absolute_threshold_makes_small_moves_unchanged():
    rule = MetricRule("acc", threshold=Threshold(absolute=0.01))
    assert compare_metric("m.json", "acc", 0.800, 0.805, rule).verdict == UNCHANGED
    assert compare_metric("m.json", "acc", 0.800, 0.790, rule).verdict == UNCHANGED
    assert compare_metric("m.json", "acc", 0.800, 0.780, rule).verdict == REGRESSED


def test_relative_threshold_in_percent_of_the_base():
    rule = MetricRule("loss", threshold=Threshold(relative_pct=2.0))
    assert compare_metric("m.json", "loss", 10.0, 10.15, rule).verdict == UNCHANGED
    assert compare_metric("m.json", "loss", 10.0, 10.3, rule).verdict == REGRESSED


def test_relative_threshold_does_not_apply_when_base_is_zero():
    rule = MetricRule("errors", threshold=Threshold(relative_pct=50.0))
    row = compare_metric("m.json", "errors", 0, 1, rule)
    assert row.change_pct is None
    assert row.verdict == REGRESSED


def test_new_removed_and_unknown():
    assert compare_metric("m.json", "acc", None, 0.9).verdict == NEW
    assert compare_metric("m.json", "acc", 0.9, None).verdict == REMOVED
    unknown = compare_metric("m.json", "acc", None, 0.9, old_missing_reason="not in cache")
    assert unknown.verdict == UNKNOWN
    assert unknown.note == "not in cache"


def test_non_numeric_values_are_compared_as_text():
    assert compare_metric("m.json", "model", "resnet", "resnet").verdict == UNCHANGED
    changed = compare_metric("m.json", "model", "resnet", "vit")
    assert changed.verdict == CHANGED
    assert changed.change is None
    assert compare_metric("m.json", "flags", [1, 2], [1, 3]).verdict == CHANGED
    assert compare_metric("m.json", "ok", True, False).verdict == CHANGED


def test_one_element_lists_compare_like_dvc():
    row = compare_metric("m.json", "acc", [0.8], [0.9])
    assert row.verdict == IMPROVED
    assert row.change == pytest.approx(0.1)


def test_nan_and_inf_head_values_regress_with_a_note():
    row = compare_metric("m.json", "loss", 0.5, math.nan)
    assert row.verdict == REGRESSED
    assert "nan" in row.note
    assert compare_metric("m.json", "acc", 0.5, math.inf).verdict == REGRESSED
    assert compare_metric("m.json", "loss", math.nan, 0.5).verdict == IMPROVED


def test_compare_metrics_orders_regressions_first_and_counts():
    base = {"m.json": {"acc": 0.9, "loss": 0.3, "f1": 0.5, "gone": 1}}
    head = {"m.json": {"acc": 0.8, "loss": 0.2, "f1": 0.5, "fresh": 2}}
    diff = compare_metrics(base, head)
    assert [row.verdict for row in diff.rows] == [REGRESSED, IMPROVED, NEW, REMOVED, UNCHANGED]
    assert diff.counts == {REGRESSED: 1, IMPROVED: 1, NEW: 1, REMOVED: 1, UNCHANGED: 1}
    assert [row.name for row in diff.rows if row.verdict == UNCHANGED] == ["f1"]


def test_rules_match_by_glob_on_name_or_path():
    rules = [MetricRule("eval/*.json:acc", direction=LOWER), MetricRule("*acc", direction=HIGHER)]
    diff = compare_metrics({"eval/a.json": {"acc": 1}, "b.json": {"acc": 1}},
                           {"eval/a.json": {"acc": 2}, "b.json": {"acc": 2}}, rules)
    verdicts = {row.path: row.verdict for row in diff.rows}
    assert verdicts == {"eval/a.json": REGRESSED, "b.json": IMPROVED}


def test_base_unreadable_marks_rows_unknown_not_new():
    diff = compare_metrics({}, {"m.json": {"acc": 0.9}}, base_unreadable={"m.json": "missing from cache"})
    assert diff.rows[0].verdict == UNKNOWN
    assert diff.rows[0].note == "missing from cache"


def test_params_only_changed_ones():
    rows = compare_params(
        {"params.yaml": {"lr": 0.1, "epochs": 10, "old": 1}},
        {"params.yaml": {"lr": 0.2, "epochs": 10, "new": 2}},
    )
    assert [(r.name, r.old, r.new) for r in rows] == [("lr", 0.1, 0.2), ("new", None, 2), ("old", 1, None)]


def test_overall_verdict_and_summary():
    assert overall_verdict({IMPROVED: 2, REGRESSED: 1}) == REGRESSED
    assert overall_verdict({IMPROVED: 2, UNCHANGED: 3}) == IMPROVED
    assert overall_verdict({NEW: 1}) == CHANGED
    assert overall_verdict({UNCHANGED: 4}) == UNCHANGED
    assert summarize({REGRESSED: 1, UNCHANGED: 3, IMPROVED: 2}) == "2 improved, 1 regressed, 3 unchanged"
    assert summarize({}) == "no metrics"


def test_an_integer_beyond_the_float_range_is_compared_as_text():
    huge = 10**400
    row = compare_metric("m.json", "acc", 0.5, huge)
    assert (row.verdict, row.note, row.change) == ("changed", "too large for a float: compared as text", None)
    assert compare_metric("m.json", "acc", huge, huge).verdict == "unchanged"


@pytest.mark.parametrize(
    "name, direction",
    [("loss.test", LOWER), ("rmse.eval", LOWER), ("roc_auc.train", HIGHER), ("test.loss", LOWER), ("test", HIGHER)],
)
def test_a_last_name_part_that_names_the_split_does_not_decide_the_direction(name, direction):
    assert default_direction(name) == direction


def test_the_spread_is_the_median_successive_move_and_ignores_a_slow_trend_and_one_odd_run():
    assert spread([1.0, 1.1, 1.0, 1.1]) == pytest.approx(0.1)
    assert spread([1.0, 2.0, 3.0, 4.0]) == pytest.approx(1.0)  # a trend of 1 per commit, not its range
    assert spread([1.0, 1.1, 9.0, 1.0, 1.1, 1.0]) == pytest.approx(0.1)  # the outlier's two jumps are outvoted
    assert spread([1.0, None, 1.1]) is None  # 2 readable points say nothing
    assert spread([1.0, float("nan"), 1.1, 1.0]) == pytest.approx(0.1)


def test_where_head_lands_in_the_history():
    assert position([0.8, 0.81, 0.79], 0.9) == "above all 3"
    assert position([0.8, None, 0.79], 0.7) == "below all 2"
    assert position([0.8, 0.81], 0.805) == "within range"
    assert position([None], 0.8) == "" and position([0.8], "text") == ""


def test_sparkline_marks_head_on_the_history_s_scale():
    assert sparkline([0.0, 0.5, 1.0], 2.0) == "▁▃▅ → █ above all 3"
    assert sparkline([1.0, None, 1.0], 1.0) == "▅·▅ → ▅ within range"
    assert sparkline([0.5], 1.0) == "" and sparkline(None, 1.0) == ""


def test_an_auto_threshold_absorbs_a_move_within_k_spreads_only():
    rule = MetricRule("acc", threshold=Threshold(auto=2.0))
    history = (0.80, 0.81, 0.80, 0.81)
    quiet = compare_metric("m.json", "acc", 0.81, 0.795, rule, history=history)
    assert (quiet.verdict, quiet.within_noise, quiet.noise) == (UNCHANGED, True, pytest.approx(0.01))
    assert compare_metric("m.json", "acc", 0.81, 0.78, rule, history=history).verdict == REGRESSED
    # Too little history: no threshold at all.
    assert compare_metric("m.json", "acc", 0.81, 0.805, rule, history=(0.81,)).verdict == REGRESSED


def test_readable_history_values_are_finite_numbers_of_any_kind():
    import numpy as np

    from bot.compare.noise import readable

    history = [1, True, 2.5, float("nan"), float("-inf"), None, "3", np.float64(0.5), np.float64("nan"), -0.0]
    assert readable(history) == [1, 2.5, 0.5, -0.0]
    # An integer past the float range is no readable number (it used to raise OverflowError).
    assert readable([10**400, 2.0]) == [2.0]
