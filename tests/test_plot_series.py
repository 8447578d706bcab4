"""mrbot reads plot files into columns and applies DVC's x/y rules itself: each case here is run
through DVC's own converter too (the one `dvc plots` uses), and both must give the same points,
axis names, labels and errors."""

from __future__ import annotations

import json

import pytest
from dvc.render.converter.vega import VegaConverter
from dvc.repo.plots import _load_sv

from bot.results.plot_series import convert
from bot.results.plot_tables import parse_table

ROC = [{"fpr": i / 10, "tpr": (i / 10) ** 0.5, "threshold": 1 - i / 10} for i in range(11)]
LOSS_CSV = "step,loss,acc\n0,1.0,0.1\n1,0.5,0.4\n2,0.25,0.7\n"
NESTED = {"train": [{"epoch": 0, "loss": 2.0}, {"epoch": 1, "loss": 1.0}],
          "extra": {"val": [{"val_loss": 3.0}, {"val_loss": 2.5}, {"val_loss": 2.0}]}}

CASES = {
    # plot id, props, files (name -> text)
    "id is the file, y inferred from the last field": ("loss.csv", {}, {"loss.csv": LOSS_CSV}),
    "x and y named": ("loss.csv", {"x": "step", "y": "acc"}, {"loss.csv": LOSS_CSV}),
    "y only: x is the row's position": ("loss.csv", {"y": "loss"}, {"loss.csv": LOSS_CSV}),
    "y of two files, x by name": ("ROC", {"x": "fpr", "y": {"dir/train.json": "tpr", "dir/test.json": "tpr"}},
                                  {"dir/train.json": json.dumps(ROC), "dir/test.json": json.dumps(ROC[:5])}),
    "two y fields of one file": ("Curves", {"x": "step", "y": {"loss.csv": ["loss", "acc"]}}, {"loss.csv": LOSS_CSV}),
    "x from another file": ("Joined", {"x": {"steps.csv": "step"}, "y": {"loss.csv": "loss"}},
                            {"steps.csv": "step\n10\n20\n30\n", "loss.csv": LOSS_CSV}),
    "different x fields": ("Mixed", {"x": {"a.csv": "step", "b.csv": "epoch"}, "y": {"a.csv": "loss", "b.csv": "loss"}},
                           {"a.csv": LOSS_CSV, "b.csv": "epoch,loss\n0,3\n1,2\n"}),
    "nested lists merged by position": ("n.json", {"y": "val_loss"}, {"n.json": json.dumps(NESTED)}),
    "a short CSV row": ("short.csv", {"x": "step", "y": "loss"}, {"short.csv": "step,loss\n0,1\n1\n2,3\n"}),
    "a field that is not there": ("loss.csv", {"x": "step", "y": "nope"}, {"loss.csv": LOSS_CSV}),
    "x and y files of different lengths": ("Joined", {"x": {"steps.csv": "step"}, "y": {"loss.csv": "loss"}},
                                           {"steps.csv": "step\n1\n", "loss.csv": LOSS_CSV}),
    "more x files than y": ("Bad", {"x": {"a.csv": "step", "b.csv": "step"}, "y": {"a.csv": ["loss", "acc", "step"]}},
                            {"a.csv": LOSS_CSV, "b.csv": LOSS_CSV}),
    "a y file absent in this revision": ("ROC", {"x": "fpr", "y": {"train.json": "tpr", "test.json": "tpr"}},
                                         {"train.json": json.dumps(ROC)}),
    "a record without the y field": ("r.json", {"x": "a", "y": "b"}, {"r.json": json.dumps([{"a": 1, "b": 2}, {"a": 3}])}),
    "labels given": ("loss.csv", {"x": "step", "y": "loss", "x_label": "Step", "y_label": "Loss"}, {"loss.csv": LOSS_CSV}),
}


def dvc_parse(name: str, text: str):
    return _load_sv(text) if name.endswith(".csv") else json.loads(text)


def dvc_result(plot_id, props, files):
    """DVC's points grouped as mrbot's series, its axis names and labels, or its error."""
    data = {name: dvc_parse(name, text) for name, text in files.items()}
    data = {name: content for name, content in data.items() if content}
    try:
        points, properties = VegaConverter(plot_id, data, props).flat_datapoints("head")
    except Exception as exc:  # noqa: BLE001 - DVC's error is part of what is compared
        return "error", str(exc)
    grouped = {}
    for point in points:
        key = (point["filename"], point["field"])
        xs, ys = grouped.setdefault(key, ([], []))
        xs.append(point.get(properties["x"]))
        ys.append(point.get(point["field"]))
    axes = (properties["x"], properties["y"], properties["x_label"], properties["y_label"]) if points else None
    return grouped, axes


def mrbot_result(plot_id, props, files):
    tables = {name: parse_table(name, text.encode()) for name, text in files.items()}
    try:
        converted = convert("head", plot_id, props, tables)
    except ValueError as exc:
        return "error", str(exc)
    grouped = {(series.filename, series.field): (list(series.xs), list(series.ys)) for series in converted.series}
    axes = converted.axes
    return grouped, (axes.x, axes.y, axes.x_label, axes.y_label) if axes else None


@pytest.mark.parametrize("case", CASES)
def test_the_series_are_dvcs(case):
    plot_id, props, files = CASES[case]
    assert mrbot_result(plot_id, props, files) == dvc_result(plot_id, props, files)


def test_the_error_cases_do_fail_in_dvc_too():
    # The comparison above would pass if neither converted anything: these cases are errors in both.
    for case in ("a field that is not there", "x and y files of different lengths", "more x files than y"):
        assert dvc_result(*CASES[case])[0] == "error", case


def test_tables_read_as_dvc_reads_them():
    tsv = parse_table("m.tsv", b"epoch\tacc\n1\t0.5\n\n2\t0.75\n")
    assert tsv.fields == ["epoch", "acc"] and tsv.columns == {"epoch": ["1", "2"], "acc": ["0.5", "0.75"]}
    headless = parse_table("raw.csv", b"1,2\n3,4\n", header=False)
    assert headless.fields == ["0", "1"] and headless.column("1") == ["2", "4"]
    ragged = parse_table("r.json", json.dumps([{"a": 1}, {"a": 3, "b": 2}]).encode())
    assert ragged.length == 0 and ragged.inferred_y == "a"  # a field the first record lacks: DVC skips the list
    yaml = parse_table("p.yaml", b"points:\n- {x: 1, y: 2}\n- {x: 2, y: 4}\n")
    assert yaml.column("y") == [2, 4]
    assert parse_table("empty.csv", b"").length == 0


@pytest.mark.parametrize("name, content, words", [
    ("bad.json", b"[{", "JSON file structure is corrupted"),
    ("latin.csv", "x\n\u00e9\n".encode("latin-1"), "not valid UTF-8"),
])
def test_a_file_that_cannot_be_read_says_which_and_why(name, content, words):
    with pytest.raises(ValueError, match=words) as raised:
        parse_table(name, content)
    assert name in str(raised.value)


@pytest.mark.parametrize("text", [
    "step,loss\n0,1.5\n1,0.5\n",
    "step,loss\n0,1.5\n1,0.5",  # no final line break
    "step,loss,\n0,1.5,\n1,,x\n",  # empty cells, a trailing delimiter
    "only\n1\n2\n",
    "step,loss\n",
    "step,loss\n0,1\n1\n2,3\n",  # a short row: the csv module's reading
    "step,loss\n0,1\n\n2,3\n",  # a blank line
    'name,value\n"a, b",1\n',  # quoted
    "step,loss\r\n0,1\r\n",
])
@pytest.mark.parametrize("header", [True, False])
def test_the_quick_split_reads_what_the_csv_module_reads(monkeypatch, text, header):
    import bot.results.plot_tables as tables

    quick = tables.parse_table("f.csv", text.encode(), header)
    monkeypatch.setattr(tables, "_split_cells", lambda text, delimiter: None)
    assert quick == tables.parse_table("f.csv", text.encode(), header)


@pytest.mark.parametrize("text, numeric", [
    ("step,loss\n0,1.5\n1,-2e-3\n2,nan\n", True),
    ("step,loss\n0,1.5\n1,-2e-3\n2,inf", True),
    ("step\tloss\n0\t1.5\n", True),
    ("step,loss\n", True),
    ("step,loss\n0,\n1,2\n", False),  # an empty cell
    ("step,loss\n0,1\n\n2,3\n", False),  # a blank line
    ("step,loss\n0,1 2\n", False),  # a space inside a cell
    ("step,loss\n0,1\n1,oops\n", False),
    ("step,loss\n0,1\n1\n", False),  # a short row
    ('step,loss\n0,"1"\n', False),
    ("step,loss\n" + "".join(f"{i},{i * 3}\n" for i in range(50)), True),  # integers
    ("step,loss\n1,Infinity\n2,-inf\n3,NaN\n4,+2\n5,.5\n6,5.\n7,1e300\n", True),
    ("step,loss\n1,123456789012345678901234\n", True),  # past int64
    ("step,loss\n1,true\n2,false\n", False),
    ("step,loss\n1,0x10\n", False),
    ("step,loss\n2024-01-01,1\n2024-01-02,2\n", False),  # dates: names, not numbers
    ("step,step\n1,2\n3,4\n", True),  # a repeated name: the last column, as the csv module's
])
@pytest.mark.parametrize("arrow_from", [10**9, 0], ids=["numpy", "pyarrow"])
def test_numbers_parsed_in_c_are_the_numbers_the_cells_say(monkeypatch, text, numeric, arrow_from):
    import numpy as np

    import bot.results.plot_tables as tables

    monkeypatch.setattr(tables, "ARROW_FROM_CHARS", arrow_from)
    name = "f.tsv" if "\t" in text else "f.csv"
    fast = parse_table(name, text.encode(), numbers=True)
    cells = parse_table(name, text.encode())
    assert isinstance(fast.column(cells.fields[-1] if cells.fields else "loss"), np.ndarray) == numeric
    assert (fast.fields, fast.length, fast.inferred_y) == (cells.fields, cells.length, cells.inferred_y)
    if numeric:
        for field in cells.fields:
            np.testing.assert_array_equal(fast.column(field), np.asarray(cells.column(field), dtype=float))
    else:
        assert fast == cells


@pytest.mark.parametrize("content", [
    b'{"roc": [{"fpr": 0.0, "tpr": 0.1, "threshold": 1}, {"fpr": 0.5, "tpr": 0.9, "threshold": 0.5}]}',
    b'[{"step": 0, "loss": 1.5}, {"step": 1, "loss": -0.0}, {"step": 2, "loss": 1e-320}]',
    b'{"a": [{"x": 1, "y": 2}], "b": {"c": [{"x": 3, "y": 4, "z": 5}]}}',  # nested lists, merged by position
    b'[{"x": 1, "y": 2}, {"x": 2}]',  # a record that lacks a field
    b'[{"x": 1, "y": 2}, {"x": 2, "y": 3, "z": 4}]',  # a later field the first lacks: left out
    b'[{"x": 1, "y": 2, "y": 3}]',  # a repeated key: the last, as json's
    b'[{"x": 1, "y": 123456789012345678901234567890}, {"x": -9223372036854775809, "y": 18446744073709551615}]',
    b'[{"x": 1, "y": NaN}, {"x": 2, "y": Infinity}, {"x": 3, "y": -Infinity}]',
    b'[{"x": 1, "y": 1e400}]',
    b'[{"x": "\\ud800", "y": 1}]',  # a lone surrogate: json reads it
    b'[{"x": "caf\xc3\xa9", "y": null}, {"x": true, "y": "2"}]',
    b'\xef\xbb\xbf[{"x": 1, "y": 2}]',  # a byte order mark: json refuses it, so does DVC
    b'[{"x": "\xff", "y": 1}]',  # not UTF-8
    b'[{"x": 1, "y": 2},]',  # a trailing comma
    b'{"x": 1, "y": 2}',  # no list of records
])
def test_json_read_by_orjson_is_what_json_reads(monkeypatch, content):
    import bot.results.plot_tables as tables

    def read(orjson_from):
        monkeypatch.setattr(tables, "ORJSON_FROM_BYTES", orjson_from)
        try:
            return parse_table("f.json", content, numbers=True)
        except ValueError as exc:
            return str(exc)

    fast, plain = read(0), read(10**9)
    if isinstance(plain, str):
        assert fast == plain
        return
    assert (fast.fields, fast.length, fast.inferred_y) == (plain.fields, plain.length, plain.inferred_y)
    for field in plain.fields:
        # As drawn: numbers as floats (an integer past 64 bits is one float either way), the rest as read.
        drawn = [[float(value) if type(value) in (int, float) else value for value in table.column(field)]
                 for table in (fast, plain)]
        assert repr(drawn[0]) == repr(drawn[1]), field


def test_a_large_json_file_of_numbers_is_parsed_by_orjson_and_names_by_json(monkeypatch):
    import orjson

    import bot.results.plot_tables as tables

    used = []
    monkeypatch.setattr(tables, "_orjson", lambda content: used.append(len(content)) or orjson.loads(content))
    large = json.dumps({"roc": [{"fpr": step / 5000, "tpr": (step / 5000) ** 0.5} for step in range(5000)]}).encode()
    assert len(large) > tables.ORJSON_FROM_BYTES

    curve = parse_table("roc.json", large, numbers=True)
    parse_table("classes.json", large, numbers=False)
    parse_table("small.json", b'[{"x": 1, "y": 2}]', numbers=True)

    assert used == [len(large)]  # the large file of numbers only
    assert curve.length == 5000 and curve.column("tpr")[-1] == (4999 / 5000) ** 0.5


def test_names_keep_their_text_for_confusion_matrices_and_bars(tmp_path):
    from bot.results.plot_series import load_series
    from bot.results.plots import PlotData, Revision

    source = "classes.csv"
    revision = Revision(source, {source: b"actual,predicted\n1,1\n0,1\n"})
    for template in ("confusion", "bar_horizontal"):
        plot = load_series(PlotData(source, source, template, props={"x": "actual", "y": "predicted"},
                                    revisions={"head": revision}))
        assert list(plot.series[0].xs) == ["1", "0"], template  # "1" as DVC shows it, not 1.0


def test_a_large_csv_of_numbers_is_parsed_by_pyarrow_and_a_small_one_by_numpy(monkeypatch):
    import bot.results.plot_tables as tables

    used = []
    arrow = tables._arrow_columns
    monkeypatch.setattr(tables, "_arrow_columns", lambda *args: used.append(len(args[0])) or arrow(*args))
    large = "step,loss\n" + "".join(f"{step},{step / 7:.6f}\n" for step in range(40_000))
    assert len(large) > tables.ARROW_FROM_CHARS

    big, small = parse_table("f.csv", large.encode(), numbers=True), parse_table("f.csv", b"step,loss\n0,1\n", numbers=True)

    assert used == [len(large) - len("step,loss\n") - 1]  # once, for the large file's rows
    assert big.length == 40_000 and big.column("loss")[-1] == float(f"{39_999 / 7:.6f}")
    assert list(small.column("loss")) == [1.0]
