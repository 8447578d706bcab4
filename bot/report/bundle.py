"""The report bundle on disk: report.md, report.json, images/. Written before anything is posted."""

from __future__ import annotations

import json
from pathlib import Path

from bot.errors import BadInput
from bot.report.model import Report, from_json, to_json
from bot.report.openmetrics import write_openmetrics
from bot.report.render import render

REPORT_MD = "report.md"
REPORT_JSON = "report.json"
# A bundle from a fork is untrusted: refuse anything unreasonably large before parsing it.
MAX_REPORT_JSON_BYTES = 20 * 1024 * 1024


def write_bundle(report: Report, out_dir: Path, template: Path | None = None) -> str:
    """Write the bundle (images are already in out_dir/images) and return the Markdown."""
    out_dir.mkdir(parents=True, exist_ok=True)
    markdown = render(report, template)
    (out_dir / REPORT_MD).write_text(markdown, encoding="utf-8")
    # Compact: json's C encoder only serves dumps without indent, and the file is for machines.
    (out_dir / REPORT_JSON).write_text(json.dumps(to_json(report), default=str) + "\n", encoding="utf-8")
    write_openmetrics(report, out_dir)
    return markdown


def read_bundle(out_dir: Path) -> Report:
    path = out_dir / REPORT_JSON
    if not path.is_file():
        raise BadInput(f"{path}: not found; pass the directory `mrbot report --out` wrote")
    if path.stat().st_size > MAX_REPORT_JSON_BYTES:
        raise BadInput(f"{path}: larger than {MAX_REPORT_JSON_BYTES} bytes; refusing to read it")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise BadInput(f"{path}: not valid JSON ({exc}); regenerate it with `mrbot report --out`") from None
    return from_json(data, str(path))
