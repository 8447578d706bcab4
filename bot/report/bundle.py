"""The report bundle on disk: report.md, report.json, images/. Written before anything is posted."""

from __future__ import annotations

import json
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Iterable, Iterator

from bot.charts.images import KIND_OF_SUFFIX, MAX_IMAGE_BYTES, SIGNATURE_BYTES, image_kind
from bot.errors import BadInput
from bot.report.model import Report, from_json, metrics_json, to_json
from bot.report.openmetrics import write_openmetrics
from bot.report.render import Detail, Tables, preload_templates, render, template_context

REPORT_MD = "report.md"
REPORT_JSON = "report.json"
# A bundle from a fork is untrusted: refuse anything unreasonably large before parsing it.
MAX_REPORT_JSON_BYTES = 20 * 1024 * 1024
# What the forges are asked to host for one report; GitHub refuses blobs over 100 MB, GitLab's
# uploads default to 10 MB each.
MAX_IMAGES = 200
MAX_IMAGES_TOTAL_BYTES = 50 * 1024 * 1024


@dataclass
class Prepared:
    """What the bundle takes from the report's rows, made while the charts are still drawn (at
    10,000 metrics, a quarter of a second the report would otherwise wait for after them)."""
    metrics: list[dict[str, Any]] | None = None
    metrics_text: str | None = None  # `metrics` encoded, as report.json holds them
    tables: Tables = field(default_factory=Tables)


def prepare_bundle(report: Report, out_dir: Path, template: Path | None = None) -> Prepared:
    """metrics.txt written, the rows encoded as JSON, the templates compiled and the built-in
    template's tables made: everything but what the charts and the pipeline section add.
    `report`'s rows must not change after."""
    out_dir.mkdir(parents=True, exist_ok=True)
    write_openmetrics(report, out_dir)
    metrics = metrics_json(report)
    prepared = Prepared(metrics, _encoded(metrics))
    template_context(report, None, Detail(), tables=prepared.tables)
    preload_templates(template)
    return prepared


def write_bundle(report: Report, out_dir: Path, template: Path | None = None, prepared: Prepared | None = None) -> str:
    """Write the bundle (images are already in out_dir/images) and return the Markdown. When the
    user's template fails, report.md is rendered with the built-in one before the error goes on."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if prepared is None:
        prepared = Prepared()
        write_openmetrics(report, out_dir)
    (out_dir / REPORT_JSON).write_text(_report_json(report, prepared) + "\n", encoding="utf-8")
    try:
        markdown = render(report, template, tables=prepared.tables)
    except BadInput:
        if template is None:
            raise
        (out_dir / REPORT_MD).write_text(render(report, tables=prepared.tables), encoding="utf-8")
        raise
    (out_dir / REPORT_MD).write_text(markdown, encoding="utf-8")
    return markdown


def _encoded(document: Any) -> str:
    """Compact JSON (the file is for machines), by orjson: a tenth of json's time for 10,000 rows.
    json where orjson refuses: an integer past 64 bits, a lone surrogate (which json escapes)."""
    import orjson

    try:
        return orjson.dumps(document, default=_plain).decode("utf-8")
    except TypeError:
        return json.dumps(document, default=_plain, separators=(",", ":"))


def _plain(value: Any) -> Any:
    # What the encoders do not know: a float subclass (numpy's) as its number, anything else as text.
    return float(value) if isinstance(value, float) else str(value)


def _report_json(report: Report, prepared: Prepared) -> str:
    """report.json's text, the rows (encoded already, when prepared) spliced in: the same bytes as
    encoding the whole document at once, which writes a dict's items in order, joined by ","."""
    document = to_json(report, prepared.metrics)
    metrics = prepared.metrics_text if prepared.metrics_text is not None else _encoded(document["metrics"])
    keys = list(document)
    at = keys.index("metrics")
    before = _encoded({key: document[key] for key in keys[:at]})
    after = _encoded({key: document[key] for key in keys[at + 1:]})
    return before[:-1] + ',"metrics":' + metrics + "," + after[1:]


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


def images_for_upload(bundle_dir: Path, paths: Iterable[str]) -> Iterator[tuple[str, bytes]]:
    """The bundle's images as (path, content), read one at a time while the caller uploads them.
    The bundle may come from a fork: every image is checked before this returns, so a bad one
    (BadInput, naming the file and the rule) stops the upload before anything is sent."""
    paths = list(dict.fromkeys(paths))
    if len(paths) > MAX_IMAGES:
        raise BadInput(f"{bundle_dir}: the report lists {len(paths)} images, more than the {MAX_IMAGES} it may upload")
    sizes = [_checked_image(bundle_dir, path) for path in paths]
    if sum(sizes) > MAX_IMAGES_TOTAL_BYTES:
        raise BadInput(
            f"{bundle_dir}: the report's images add up to {sum(sizes) / 2**20:.1f} MB, more than the "
            f"{MAX_IMAGES_TOTAL_BYTES // 2**20} MB it may upload"
        )
    return ((path, _read_image(bundle_dir, path)) for path in paths)


def _checked_image(bundle_dir: Path, path: str) -> int:
    """The size of the image at `path`, after checking every rule but reading only its first bytes."""
    file = bundle_dir / path
    parts = PurePosixPath(path).parts
    if not parts or PurePosixPath(path).is_absolute() or ".." in parts:
        raise BadInput(f"{file}: lies outside the report bundle")
    # No link anywhere below the bundle directory: a link could point at any file on the runner.
    for depth in range(1, len(parts) + 1):
        component = bundle_dir.joinpath(*parts[:depth])
        try:
            info = component.lstat()
        except FileNotFoundError:
            raise BadInput(f"{file}: not found in the report bundle") from None
        except OSError as exc:
            raise BadInput(f"{file}: cannot be read ({exc.strerror})") from None
        if stat.S_ISLNK(info.st_mode):
            raise BadInput(f"{file}: {component} is a symbolic link; a bundle's images must be plain files")
    if not stat.S_ISREG(info.st_mode):
        raise BadInput(f"{file}: not a regular file")
    suffix = PurePosixPath(path).suffix.lower()
    if suffix not in KIND_OF_SUFFIX:
        raise BadInput(f"{file}: not a .png, .jpg, .jpeg or .gif file")
    if info.st_size > MAX_IMAGE_BYTES:
        mb = info.st_size / 2**20
        raise BadInput(f"{file}: {mb:.1f} MB, larger than the {MAX_IMAGE_BYTES // 2**20} MB an image may be")
    try:
        with file.open("rb") as opened:
            head = opened.read(SIGNATURE_BYTES)
    except OSError as exc:
        raise BadInput(f"{file}: cannot be read ({exc.strerror})") from None
    _check_kind(file, suffix, head)
    return info.st_size


def _check_kind(file: Path, suffix: str, head: bytes) -> None:
    # The forge serves the file by its name: its content must be the image type the name says.
    kind = image_kind(head)
    if kind != KIND_OF_SUFFIX[suffix]:
        found = f"a {kind} image" if kind else "not a PNG, JPEG or GIF image"
        raise BadInput(f"{file}: named {suffix} but its content is {found}")


def _read_image(bundle_dir: Path, path: str) -> bytes:
    file = bundle_dir / path
    try:
        with file.open("rb") as opened:
            data = opened.read(MAX_IMAGE_BYTES + 1)
    except OSError as exc:
        raise BadInput(f"{file}: cannot be read ({exc.strerror})") from None
    # Checked again as read, in case the file changed since it was checked.
    if len(data) > MAX_IMAGE_BYTES:
        raise BadInput(f"{file}: larger than the {MAX_IMAGE_BYTES // 2**20} MB an image may be")
    _check_kind(file, PurePosixPath(path).suffix.lower(), data)
    return data
