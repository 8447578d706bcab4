import json
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest

from bot.charts.confusion import confusion_matrices
from bot.charts.draw import file_stem
from bot.charts.pool import render_charts
from bot.results import BASE, HEAD
from bot.results.plots import PlotData, Revision
from bot.results.values import read_results
from bot.workspace.git import resolve
from tests.plot_points import points_plot
from tests.projects import make_project

LABELS = {BASE: "base main", HEAD: "head pr"}

TEMPLATES_DVC_YAML = """\
plots:
  - curve.csv:
      template: linear
      x: step
      y: loss
  - simple.csv:
      template: simple
      x: step
      y: loss
  - smooth.csv:
      template: smooth
      x: step
      y: loss
  - scatter.json:
      template: scatter
      x: x
      y: y
  - confusion.json:
      template: confusion
      x: predicted
      y: actual
  - confusion_normalized.json:
      template: confusion_normalized
      x: predicted
      y: actual
  - importance.json:
      template: bar_horizontal
      x: weight
      y: feature
  - sorted.json:
      template: bar_horizontal_sorted
      x: weight
      y: feature
  - picture.png
"""


def csv(values):
    return "step,loss\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values))


def confusion(pairs):
    return [{"actual": a, "predicted": p} for a, p in pairs]


def bars(weights):
    return [{"feature": name, "weight": weight} for name, weight in weights.items()]


def png(path_factory, color):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(1, 1), dpi=20)
    figure.patch.set_facecolor(color)
    path = path_factory / f"{color}.png"
    figure.savefig(path)
    return path.read_bytes()


@pytest.fixture
def all_templates_project(tmp_path):
    files_base = {
        "dvc.yaml": TEMPLATES_DVC_YAML,
        "curve.csv": csv([1.0, 0.8, 0.7]),
        "simple.csv": csv([1.0, 0.9]),
        "smooth.csv": csv([1.0, 0.9, 0.95, 0.8, 0.82, 0.7, 0.72]),
        "scatter.json": [{"x": 1, "y": 2}, {"x": 2, "y": 3}],
        "confusion.json": confusion([(0, 0), (0, 1), (1, 1)]),
        "confusion_normalized.json": confusion([("cat", "cat"), ("dog", "cat")]),
        "importance.json": bars({"age": 0.5, "income": 0.2}),
        "sorted.json": bars({"a": 3, "b": 1}),
    }
    files_head = {
        "curve.csv": csv([1.0, 0.6, 0.4, 0.3]),
        "simple.csv": csv([1.0, 0.7]),
        "smooth.csv": csv([1.0, 0.8, 0.85, 0.6, 0.62, 0.5, 0.52]),
        "scatter.json": [{"x": 1, "y": 2.5}],
        "confusion.json": confusion([(0, 0), (0, 0), (1, 1)]),
        "confusion_normalized.json": confusion([("cat", "cat"), ("dog", "dog")]),
        "importance.json": bars({"age": 0.4, "income": 0.3, "zip": 0.1}),
        "sorted.json": bars({"a": 2, "b": 4}),
    }
    root = make_project(tmp_path / "p", files_base | {"picture.png": ""}, files_head)
    (root / "picture.png").write_bytes(png(tmp_path, "red"))
    return root


def test_every_template_renders_a_chart(all_templates_project, tmp_path):
    root = all_templates_project
    plots = read_results(root, resolve(root, "main").sha).plots
    charts = {chart.plot_id: chart for chart in render_charts(plots, tmp_path / "bundle", LABELS)}
    assert set(charts) == {
        "curve.csv", "simple.csv", "smooth.csv", "scatter.json", "confusion.json",
        "confusion_normalized.json", "importance.json", "sorted.json", "picture.png",
    }
    for plot_id, chart in charts.items():
        if plot_id == "picture.png":
            continue
        assert len(chart.images) == 1, plot_id
        content = (tmp_path / "bundle" / chart.images[0]).read_bytes()
        assert content.startswith(b"\x89PNG") and len(content) > 2000, plot_id
        assert chart.notes == [], (plot_id, chart.notes)
    # The PNG only exists in the head revision (base committed an empty placeholder).
    picture = charts["picture.png"]
    assert picture.images == [f"images/{file_stem('picture.png')}-head.png"]
    assert picture.notes == ["no image in base (base main)"]
    assert "\nxychart-beta\n" in charts["curve.csv"].mermaid
    assert charts["importance.json"].mermaid.startswith("xychart-beta horizontal")
    assert charts["confusion.json"].mermaid == ""


def test_images_other_than_png_jpeg_gif_are_left_out(tmp_path):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    plot = PlotData("p.svg", "p.svg", "image", images={BASE: svg, HEAD: b"\xff\xd8\xff\xe0jpeg"})
    (chart,) = render_charts([plot], tmp_path, LABELS)
    assert chart.images == [f"images/{file_stem('p.svg')}-head.jpg"]
    assert chart.notes == ["base image is not PNG, JPEG or GIF; left out"]
    assert not list((tmp_path / "images").glob("*.svg"))


def test_an_image_plot_over_the_upload_limit_is_left_out_with_a_note(tmp_path):
    from bot.charts.images import MAX_IMAGE_BYTES

    huge = b"\x89PNG\r\n\x1a\n" + b"\0" * MAX_IMAGE_BYTES
    plot = PlotData("big.png", "big.png", "image", images={BASE: huge, HEAD: huge[:1000]})
    (chart,) = render_charts([plot], tmp_path, LABELS)
    assert chart.images == [f"images/{file_stem('big.png')}-head.png"]
    assert chart.notes == ["base image is 10.0 MB, over the 10 MB limit; left out"]


def test_charts_are_deterministic(all_templates_project, tmp_path):
    root = all_templates_project
    plots = read_results(root, resolve(root, "main").sha).plots
    first = render_charts(plots, tmp_path / "one", LABELS)
    second = render_charts(plots, tmp_path / "two", LABELS)
    assert len(first) == len(second) == len(plots)
    for chart_one, chart_two in zip(first, second):
        assert chart_one == chart_two
        for image_one, image_two in zip(chart_one.images, chart_two.images):
            assert (tmp_path / "one" / image_one).read_bytes() == (tmp_path / "two" / image_two).read_bytes()


def test_drawing_a_chart_once_gives_the_pixels_of_matplotlibs_own_savefig(
    all_templates_project, tmp_path, monkeypatch
):
    # savefig lays a figure out in two passes; _save lays it out once (or keeps fixed margins), and
    # writes the opaque picture without its alpha channel. Both draw with the charts' settings
    # (unhinted text), which draw() and save() apply while they work only.
    import matplotlib
    import numpy as np
    from matplotlib.image import imread

    import bot.charts.draw
    from bot.charts.figure import CHART_SETTINGS

    root = all_templates_project
    plots = [plot for plot in read_results(root, resolve(root, "main").sha).plots if plot.template != "image"]
    callers_settings = {name: matplotlib.rcParams[name] for name in CHART_SETTINGS}
    assert callers_settings != CHART_SETTINGS  # matplotlib's defaults: a leak would show
    once = render_charts(plots, tmp_path / "once", LABELS)
    assert {plot.template for plot in plots} >= {"linear", "confusion", "bar_horizontal"}
    assert {name: matplotlib.rcParams[name] for name in CHART_SETTINGS} == callers_settings

    def plain_savefig(figure, path):
        with matplotlib.rc_context(CHART_SETTINGS):
            figure.savefig(path, dpi=100, metadata={"Software": None})

    monkeypatch.setattr(bot.charts.draw, "save", plain_savefig)
    twice = render_charts(plots, tmp_path / "twice", LABELS)
    for chart_once, chart_twice in zip(once, twice):
        (image,) = chart_once.images
        assert chart_twice.images == [image]
        ours, matplotlibs = imread(tmp_path / "once" / image), imread(tmp_path / "twice" / image)
        assert ours.shape[2] == 3 and (matplotlibs[..., 3] == 1).all(), image
        np.testing.assert_array_equal(ours, matplotlibs[..., :3], err_msg=image)


def _line_chart_of(values: list[float]):
    from bot.charts.lines import line_figure as _line_figure
    from bot.charts.lines import plot_lines

    points = [{"rev": HEAD, "step": step, "value": value} for step, value in enumerate(values)]
    plot = points_plot("curve.csv", "curve", "linear", x="step", y="value", datapoints=points)
    figure, _ = _line_figure(plot, plot_lines(plot), LABELS)
    return figure


def _inside_the_figure(figure) -> bool:
    drawn = figure.get_tightbbox(figure.canvas.get_renderer())
    width, height = figure.get_size_inches()
    return drawn.x0 >= 0 and drawn.y0 >= 0 and drawn.x1 <= width and drawn.y1 <= height


def test_a_line_chart_with_short_tick_labels_keeps_its_fixed_margins(tmp_path):
    from bot.charts.figure import LINE_MARGINS as _LINE_MARGINS
    from bot.charts.figure import save as _save

    figure = _line_chart_of([0.9, 0.5, 0.3, 0.2])
    _save(figure, tmp_path / "short.png")

    position = figure.axes[0].get_position()
    assert (position.x0, position.x1) == pytest.approx((_LINE_MARGINS["left"], _LINE_MARGINS["right"]))
    assert _inside_the_figure(figure)


def test_long_tick_labels_get_room_from_constrained_layout(tmp_path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from bot.charts.figure import LINE_MARGINS as _LINE_MARGINS
    from bot.charts.figure import save as _save

    values = [-812345.0, -512345.0, -112345.0]  # tick labels like "−800000": wider than the fixed margin
    fixed = _line_chart_of(values)
    FigureCanvasAgg(fixed).draw()
    assert not _inside_the_figure(fixed)  # so the fallback below is what makes room

    figure = _line_chart_of(values)
    _save(figure, tmp_path / "long.png")

    assert figure.axes[0].get_position().x0 > _LINE_MARGINS["left"]
    assert _inside_the_figure(figure)
    assert (tmp_path / "long.png").read_bytes().startswith(b"\x89PNG")


def _confusion_chart_of(classes: list[str]):
    from bot.charts.confusion import confusion_figures

    points = [{"rev": rev, "actual": actual, "predicted": predicted}
              for rev in (BASE, HEAD) for actual in classes for predicted in classes]
    plot = points_plot("c.json", "c", "confusion", x="predicted", y="actual", datapoints=points)
    ((_, figure),) = confusion_figures(plot, LABELS)
    return figure


@pytest.mark.parametrize(
    "classes, fixed",
    [(["0", "1", "2"], True), (["a very long class name", "another very long class name"], False)],
)
def test_confusion_panels_keep_fixed_margins_only_when_their_labels_fit(tmp_path, classes, fixed):
    from bot.charts.figure import save as _save

    figure = _confusion_chart_of(classes)
    before = [axes.get_position().bounds for axes in figure.axes]
    _save(figure, tmp_path / "c.png")

    assert len(figure.axes) == 3  # base, head, difference
    assert ([axes.get_position().bounds for axes in figure.axes] == before) is fixed
    assert _inside_the_figure(figure)


@pytest.mark.parametrize("title, fits", [("Confusion", True), ("a title much wider than the panels " * 4, False)])
def test_the_fit_check_measures_the_figures_own_title(title, fits):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from bot.charts.figure import _draw_noting_texts, _fits

    figure = _confusion_chart_of(["0", "1"])
    figure.suptitle(title)
    canvas = FigureCanvasAgg(figure)
    drawn = _draw_noting_texts(canvas)
    assert figure.texts[0] in drawn and figure.axes[0].title in drawn
    assert bool(_fits(figure, drawn, canvas.get_renderer())) is fits
    assert "draw_text" not in vars(canvas.get_renderer())  # the renderer draws as before


@pytest.mark.parametrize("where", ["title", "ylabel"])
def test_the_fit_check_catches_each_text_that_sticks_out(where):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from bot.charts.figure import _draw_noting_texts, _fits

    figure = _line_chart_of([1.0, 2.0, 3.0])
    canvas = FigureCanvasAgg(figure)
    assert _fits(figure, _draw_noting_texts(canvas), canvas.get_renderer())
    axes = figure.axes[0]
    if where == "title":
        axes.set_title("a title\nof\nseveral\nlines\nthat rise above the figure")
    else:
        axes.set_ylabel("a label much longer than the axes are high, so that it runs past both ends")
    assert not _fits(figure, _draw_noting_texts(canvas), canvas.get_renderer())
    assert not _inside_the_figure(figure)  # matplotlib's own measure agrees


def _title_settings(matplotlibs_placement: bool) -> dict:
    """The chart settings, or those with matplotlib's own placement of titles."""
    from bot.charts.figure import CHART_SETTINGS

    return {**CHART_SETTINGS, "axes.titley": None} if matplotlibs_placement else CHART_SETTINGS


def _saved_line_chart(path: Path, title: str, values: list[float], matplotlibs_placement: bool):
    """A line chart as the job draws it (titles at the top of their axes, bot.charts.figure), or
    with matplotlib's own placement of titles."""
    from bot.charts import draw as drawing
    from bot.charts.figure import save

    points = [{"rev": HEAD, "step": step, "value": value} for step, value in enumerate(values)]
    plot = points_plot("curve.csv", title, "linear", x="step", y="value", datapoints=points)
    with mock.patch.object(drawing, "CHART_SETTINGS", _title_settings(matplotlibs_placement)):
        ((_, figure),) = drawing.draw(plot, LABELS).figures
    save(figure, path)
    return figure


def _title_and_offset_text(figure):
    renderer = figure.canvas.get_renderer()
    axes = figure.axes[0]
    return axes.title.get_window_extent(renderer), axes.yaxis.offsetText.get_window_extent(renderer)


def test_a_title_that_meets_the_axis_offset_text_is_lifted_above_it_as_matplotlib_would(tmp_path):
    from matplotlib.transforms import Bbox

    long_title = "a title as wide as the chart, which runs into the offset text of the axis, on its left side"
    tiny = [1.0e-7, 3.0e-7, 2.0e-7, 4.0e-7]  # ticks of 1e-7: the offset text "1e-7" above the axis
    ours = _saved_line_chart(tmp_path / "ours.png", long_title, tiny, matplotlibs_placement=False)
    title, offset = _title_and_offset_text(ours)
    assert ours.axes[0].yaxis.offsetText.get_text() and ours.axes[0].title.get_position()[1] > 1.0
    assert Bbox.intersection(title, offset) is None
    assert _inside_the_figure(ours)
    theirs = _saved_line_chart(tmp_path / "theirs.png", long_title, tiny, matplotlibs_placement=True)
    their_title, their_offset = _title_and_offset_text(theirs)
    assert Bbox.intersection(their_title, their_offset) is None
    assert (title.y0 - offset.y1) == pytest.approx(their_title.y0 - their_offset.y1, abs=2)


@pytest.mark.parametrize("matplotlibs_placement", [False, True])
def test_panels_laid_out_by_constrained_layout_lift_their_titles_too(tmp_path, matplotlibs_placement):
    import matplotlib
    from matplotlib.transforms import Bbox

    from bot.charts.figure import new_figure, save

    with matplotlib.rc_context(_title_settings(matplotlibs_placement)):
        figure = new_figure()  # constrained layout, as the charts of several panels are
        for number in (1, 2):
            axes = figure.add_subplot(1, 2, number)
            axes.plot([0, 1, 2], [1.0e-6, 3.0e-6, 2.0e-6])
            axes.set_title("a panel's title that is about as wide as the panel is", fontsize="small")
    save(figure, tmp_path / "panels.png")
    renderer = figure.canvas.get_renderer()
    gaps = []
    for axes in figure.axes:
        title, offset = axes.title.get_window_extent(renderer), axes.yaxis.offsetText.get_window_extent(renderer)
        assert axes.yaxis.offsetText.get_text() and Bbox.intersection(title, offset) is None
        gaps.append(title.y0 - offset.y1)
    assert _inside_the_figure(figure)
    assert gaps == pytest.approx([4.1, 4.1], abs=1.5)  # the pad above the offset text, less the descent


def test_a_title_clear_of_the_axis_offset_text_stays_where_matplotlib_puts_it(tmp_path):
    ours = _saved_line_chart(tmp_path / "ours.png", "loss", [1.0e-7, 3.0e-7], matplotlibs_placement=False)
    theirs = _saved_line_chart(tmp_path / "theirs.png", "loss", [1.0e-7, 3.0e-7], matplotlibs_placement=True)
    assert ours.axes[0].yaxis.offsetText.get_text() and ours.axes[0].title.get_position()[1] == 1.0
    assert _title_and_offset_text(ours)[0].y0 == pytest.approx(_title_and_offset_text(theirs)[0].y0)


def test_confusion_matrix_counts_and_normalization():
    points = [
        {"rev": BASE, "actual": "a", "predicted": "a"},
        {"rev": BASE, "actual": "a", "predicted": "b"},
        {"rev": BASE, "actual": "b", "predicted": "b"},
        {"rev": HEAD, "actual": "a", "predicted": "a"},
        {"rev": HEAD, "actual": "a", "predicted": "a"},
    ]
    plot = points_plot("c", "c", "confusion", x="predicted", y="actual", datapoints=points)
    classes, matrices = confusion_matrices(plot)
    source = ("", "actual")
    assert classes == ["a", "b"]
    assert matrices[(source, BASE)].tolist() == [[1, 1], [0, 1]]
    assert matrices[(source, HEAD)].tolist() == [[2, 0], [0, 0]]
    normalized = points_plot("c", "c", "confusion_normalized", x="predicted", y="actual", datapoints=points)
    assert confusion_matrices(normalized)[1][(source, BASE)].tolist() == [[0.5, 0.5], [0.0, 1.0]]


def test_non_numeric_points_are_left_out_with_a_note(tmp_path):
    points = [{"rev": HEAD, "step": i, "loss": v, "field": "loss"} for i, v in enumerate(["1", "oops", "0.5"])]
    plot = points_plot("l", "l", "linear", x="step", y="loss", datapoints=points)
    (chart,) = render_charts([plot], tmp_path, LABELS)
    assert "1 points without numeric x/y values were left out" in chart.notes
    assert "no data in base (base main)" in chart.notes


def test_unknown_template_falls_back_to_lines_and_says_so(tmp_path):
    points = [{"rev": HEAD, "step": i, "y": i * 2, "field": "y"} for i in range(3)]
    (chart,) = render_charts([points_plot("w", "w", "weird", x="step", y="y", datapoints=points)], tmp_path, LABELS)
    assert chart.images and "template 'weird' drawn as a line chart" in chart.notes


@pytest.mark.parametrize("plot_id", ["../../etc/passwd", "a b/c?d", "<script>", "x" * 300])
def test_file_stems_are_safe_and_unique(plot_id):
    stem = file_stem(plot_id)
    assert "/" not in stem and ".." not in stem.split("-")[0][:2] and len(stem) <= 69
    assert stem != file_stem(plot_id + "1")


def test_mermaid_text_escapes_titles(tmp_path):
    points = [{"rev": HEAD, "step": i, "y": i, "field": "y"} for i in range(3)]
    plot = points_plot("m", 'evil" title\n```', "linear", x="step", y="y", datapoints=points)
    (chart,) = render_charts([plot], tmp_path, LABELS)
    assert '"' not in chart.mermaid.split("title ", 1)[1].split("\n")[0].strip('"')
    assert "```" not in chart.mermaid


def curve_plots(count: int, points: int, files_dir: Path) -> list[PlotData]:
    """Plots as read_revisions gives them: base's CSV as bytes, head's as a file on disk."""
    plots = []
    for i in range(count):
        def csv(rev):
            return "step,v\n" + "".join(f"{step},{step * (i + 1) + (rev == HEAD)}\n" for step in range(points))
        head_file = files_dir / f"c{i}.csv"
        head_file.write_text(csv(HEAD))
        source = f"c{i}.csv"
        plots.append(PlotData(source, source, "linear", props={"x": "step", "y": "v"}, revisions={
            BASE: Revision(source, {source: csv(BASE).encode()}),
            HEAD: Revision(source, {source: head_file}),
        }))
    return plots


WORKERS_CHECK = """
import json, os, sys
from pathlib import Path
import bot.charts.draw as drawing
from bot.charts.pool import ChartRenderer, render_charts
from tests.test_charts import LABELS, curve_plots

count, points, out, foreign = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
plots = curve_plots(count, points, out)
inline = render_charts(plots, out / "inline", LABELS)
if foreign == "thread":  # e.g. fsspec's IO thread after an S3 pull: forking now would be unsafe
    import threading, time
    threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
main_pid, drawn_by = os.getpid(), {}
if foreign == "killed":  # the first chart's worker is killed as it draws: this process draws it
    draw = drawing.render_chart

    def killed_once(plot, *args):
        if os.getpid() != main_pid and plot.id == plots[0].id:
            os._exit(9)
        return draw(plot, *args)

    drawing.render_chart = killed_once
with ChartRenderer(workers=2) as renderer:
    parallel = renderer.render(plots, out / "parallel", LABELS)
print(json.dumps({"mode": renderer.mode, "same": parallel == inline,
                  "images": [chart.images[0] for chart in inline],
                  "points": [len(chart.mermaid) > 0 for chart in inline]}))
"""


@pytest.mark.parametrize(
    "count, points, foreign, mode",
    [(3, 50, "", "workers"), (8, 3_000, "", "workers"), (3, 50, "thread", "inline"), (3, 50, "killed", "workers")],
)
def test_workers_render_the_same_bytes_as_this_process(tmp_path, count, points, foreign, mode):
    # A fresh process: forking needs a process without other threads, which pytest's may have by now.
    done = subprocess.run([sys.executable, "-c", WORKERS_CHECK, str(count), str(points), str(tmp_path), foreign],
                          capture_output=True, text=True, cwd=Path(__file__).parents[1], timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["mode"] == mode
    assert result["same"] and all(result["points"])
    for image in result["images"]:
        assert (tmp_path / "inline" / image).read_bytes() == (tmp_path / "parallel" / image).read_bytes()


NESTED_CHECK = """
import json, os, sys, time
from pathlib import Path
from bot.charts.pool import ChartRenderer
from tests.test_charts import LABELS, curve_plots

def ended(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True

out = Path(sys.argv[1])
plots = curve_plots(2, 50, out)
with ChartRenderer(workers=2) as outer:  # the CLI's block
    first = outer._pool._first.pid
    with outer as job:  # the job's
        job.render(plots, out / "job", LABELS)
        modes = [job.mode]
    unreaped = os.path.exists(f"/proc/{first}")  # the job's block did not wait for it
    deadline = time.monotonic() + 20
    while not ended(first) and time.monotonic() < deadline:
        time.sleep(0.02)
    ended_unwaited = ended(first)
    outer.render(plots, out / "after", LABELS)  # after the job: drawn here, nothing is lost
    modes.append(outer.mode)
print(json.dumps({"modes": modes, "unreaped": unreaped, "ended_unwaited": ended_unwaited, "left": os.path.exists(f"/proc/{first}")}))
"""


def test_the_jobs_block_ends_the_workers_and_the_outer_block_waits_for_them(tmp_path):
    done = subprocess.run([sys.executable, "-c", NESTED_CHECK, str(tmp_path)],
                          capture_output=True, text=True, cwd=Path(__file__).parents[1], timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {"modes": ["workers", "inline"], "unreaped": True,
                                                        "ended_unwaited": True, "left": False}


def test_the_costliest_chart_is_drawn_first(tmp_path):
    from bot.charts.pool import drawing_cost

    small, large = curve_plots(1, 10, tmp_path)[0], curve_plots(1, 1_000, tmp_path)[0]
    matrix = points_plot("cm", "cm", "confusion", x="a", y="p", datapoints=[{"rev": HEAD, "a": 1, "p": 1}])
    assert sorted([small, matrix, large], key=drawing_cost, reverse=True) == [matrix, large, small]


def test_a_plot_matplotlib_cannot_draw_is_a_note_and_the_other_charts_stand(tmp_path):
    extreme = points_plot("extreme.csv", "extreme.csv", "linear", x="step", y="loss", datapoints=[
        {"rev": rev, "step": step, "loss": step, "field": "loss"} for rev in (BASE, HEAD) for step in ("-1.7e308", "1.7e308")
    ])
    fine = curve_plots(1, 20, tmp_path)[0]

    broken, drawn = render_charts([extreme, fine], tmp_path, LABELS)

    assert broken.images == [] and len(broken.notes) == 1
    assert broken.notes[0].startswith("could not be drawn (") and "\n" not in broken.notes[0]
    assert drawn.images and (tmp_path / drawn.images[0]).read_bytes().startswith(b"\x89PNG")


def test_dollar_signs_in_titles_are_text_not_math(tmp_path):
    points = [{"rev": HEAD, "step": i, "y": i, "field": "y"} for i in range(3)]
    plot = points_plot("cost", r"cost in $\frac{$", "linear", x="step", y="y", y_label="$ per run $x^2$",
                    datapoints=points)
    (chart,) = render_charts([plot], tmp_path, LABELS)
    assert chart.images and not [note for note in chart.notes if note.startswith("could not be drawn")]


def test_the_warm_workers_start_up_runs_without_error():
    # It runs in the worker where nobody reads its result: an error there would go unseen.
    from bot.charts.pool import warm_up_matplotlib as _warm_up_matplotlib

    _warm_up_matplotlib()


def test_names_with_dollar_signs_are_text_not_math(tmp_path):
    # matplotlib would read "$\frac$" as math and fail to draw it; a field name is only text.
    name = r"cost $\frac$ (usd)"
    points = [{"rev": HEAD, "step": step, name: value} for step, value in enumerate([3.0, 2.0, 1.5])]
    plot = points_plot("costs.csv", f"{name} per step", "linear", x="step", y=name, datapoints=points)
    (chart,) = render_charts([plot], tmp_path, LABELS)
    assert not any("could not be drawn" in note for note in chart.notes), chart.notes
    (image,) = chart.images
    assert (tmp_path / image).read_bytes().startswith(b"\x89PNG")
