"""The report's "Experiments" section: its report.json form (read back from a bundle as untrusted
input) and its Markdown table, the best one against the base, and how to apply it."""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup

from bot.compare.diff import HIGHER
from bot.compare.experiments import Ranking
from bot.report.markdown import code_block, escape

SHOWN_ROWS = 10
FOLDED_ROWS = 90  # past these, report.json lists the rest: the comment keeps its size budget
MAX_EXPERIMENTS = 1000
MAX_COLUMNS = 12
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_REV = re.compile(r"[0-9a-f]{7,64}")
STATUSES = ("success", "failed")


def experiments_json(ranking: Ranking) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(experiments, view): the list report.json documents, and how the section shows it."""
    runs = [{"name": experiment.name, "rev": experiment.rev, "params": experiment.params, "metrics": experiment.metrics,
             "status": experiment.status, "best": experiment.name == ranking.best, "error": experiment.error,
             "tail": experiment.tail} for experiment in ranking.experiments]
    compared = [{"name": row.name, "base": row.old, "best": row.new, "change": row.change, "verdict": row.verdict}
                for row in ranking.compared]
    view = {"params": ranking.params, "metrics": ranking.metrics, "sort": ranking.sort, "direction": ranking.direction,
            "compared": compared, "notes": ranking.notes}
    return runs, view


def experiments_from_json(raw_runs: Any, raw_view: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A bundle's experiments, kept only where every field has the documented shape (a fork's bundle
    is the fork's code's output): anything else is dropped, never rendered."""
    if not isinstance(raw_runs, list) or not isinstance(raw_view, dict):
        return [], {}
    runs = [run for run in raw_runs[:MAX_EXPERIMENTS] if _valid_run(run)]
    view = {
        "params": _names(raw_view.get("params")),
        "metrics": _names(raw_view.get("metrics")),
        "sort": raw_view.get("sort") if isinstance(raw_view.get("sort"), str) else "",
        "direction": HIGHER if raw_view.get("direction") == HIGHER else "lower",
        "compared": [row for row in raw_view.get("compared") or [] if isinstance(row, dict)
                     and isinstance(row.get("name"), str) and isinstance(row.get("verdict"), str)
                     and all(_scalar(row.get(key)) for key in ("base", "best", "change"))][:MAX_COLUMNS],
        "notes": [note for note in raw_view.get("notes") or [] if isinstance(note, str)][:10],
    }
    return runs, view


def _valid_run(run: Any) -> bool:
    return (isinstance(run, dict) and isinstance(run.get("name"), str) and bool(_NAME.fullmatch(run["name"]))
            and isinstance(run.get("rev"), str) and (run["rev"] == "" or bool(_REV.fullmatch(run["rev"])))
            and run.get("status") in STATUSES and isinstance(run.get("best"), bool)
            and all(isinstance(run.get(key), dict) and all(isinstance(name, str) and _scalar(value)
                                                           for name, value in run[key].items())
                    for key in ("params", "metrics"))
            and isinstance(run.get("error", ""), str) and isinstance(run.get("tail", []), list)
            and all(isinstance(line, str) for line in run.get("tail", [])))


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _names(raw: Any) -> list[str]:
    return [name for name in raw if isinstance(name, str)][:MAX_COLUMNS] if isinstance(raw, list) else []


def experiments_section(runs: list[dict[str, Any]], view: dict[str, Any], base_metrics: dict[str, Any],
                        format_value, format_change) -> Markup:
    """The Markdown of the section; empty without experiments."""
    if not runs:
        return Markup("")
    params, metrics = view.get("params", []), view.get("metrics", [])
    headers = ["", "Experiment", *params, *metrics]
    base_row = ["", "base", *("" for _ in params), *(format_value(base_metrics.get(name)) for name in metrics)]

    def row(run: dict[str, Any]) -> list[str]:
        mark = "🏆" if run["best"] else ("❌" if run["status"] == "failed" else "")
        name = f"{run['name']} (failed)" if run["status"] == "failed" else run["name"]
        return [mark, name, *(format_value(run["params"].get(name_)) for name_ in params),
                *(format_value(run["metrics"].get(name_)) for name_ in metrics)]

    def table(rows: list[list[str]]) -> str:
        cells = [[escape(cell) for cell in cells] for cells in rows]
        return _github_table(cells, [escape(header) for header in headers])

    sort = view.get("sort", "")
    ranked_by = f"Ranked by {escape(sort)} ({'higher' if view.get('direction') == HIGHER else 'lower'} is better)." if sort else ""
    parts = [f"### Experiments ({len(runs)})", "", " ".join(filter(None, [ranked_by, "The base is the first row."])), "",
             table([base_row, *map(row, runs[:SHOWN_ROWS])])]
    if len(runs) > SHOWN_ROWS:
        folded = runs[SHOWN_ROWS:SHOWN_ROWS + FOLDED_ROWS]
        more = len(runs) - SHOWN_ROWS - len(folded)
        parts += ["", f"<details><summary>{len(runs) - SHOWN_ROWS} more experiments</summary>", "",
                  table([base_row, *map(row, folded)]), *(["", f"…and {more} more, listed in report.json."] if more else []),
                  "", "</details>"]
    best = next((run for run in runs if run["best"]), None)
    if best:
        parts += ["", f"**Best: {escape(best['name'])}** against the base:", "", _compared(view, format_value, format_change),
                  "", "Try it locally:", "", code_block(f"dvc exp apply {best['name']}", "shell").strip()]
    failed = [run for run in runs if run["status"] == "failed"]
    for run in failed[:5]:
        parts += ["", f"<details><summary>{escape(run['name'])} failed: {escape(run.get('error', ''))}</summary>", "",
                  code_block("\n".join(run.get("tail", [])[-20:]) or "(no output)").strip(), "", "</details>"]
    parts += ["", *(f"- {escape(note)}" for note in view.get("notes", []))]
    return Markup("\n".join(parts).rstrip() + "\n")


def _compared(view: dict[str, Any], format_value, format_change) -> str:
    from bot.compare.diff import MetricRow

    rows = []
    for entry in view.get("compared", []):
        change = entry.get("change")
        shown = MetricRow("", entry["name"], entry.get("base"), entry.get("best"), change,
                          None, "", entry["verdict"]) if change is not None else None
        rows.append([escape(entry["name"]), escape(format_value(entry.get("base"))), escape(format_value(entry.get("best"))),
                     escape(format_change(shown) if shown else ""), escape(entry["verdict"])])
    return _github_table(rows, ["Metric", "Base", "Best", "Change", "Verdict"])


def _github_table(rows: list[list[str]], headers: list[str]) -> str:
    # Imported here: the job loads this module long before any table is made, while DVC starts.
    from tabulate import tabulate

    return tabulate(rows, headers, tablefmt="github", disable_numparse=True)
