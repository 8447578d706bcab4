"""The CI job's own outputs: the job summary page and step outputs (GitHub Actions files)."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from bot.ci.context import Context

log = logging.getLogger(__name__)

# GitHub refuses a step summary over 1 MiB.
SUMMARY_LIMIT_BYTES = 1024 * 1024


def write_step_summary(context: Context, markdown: str) -> None:
    if context.summary_path is None:
        return
    data = markdown.encode("utf-8")
    if len(data) > SUMMARY_LIMIT_BYTES:
        notice = "\n\n… cut to fit the job summary; the full report is in the report artifact.\n"
        data = data[: SUMMARY_LIMIT_BYTES - len(notice.encode())].decode("utf-8", "ignore").encode() + notice.encode()
    try:
        with open(context.summary_path, "ab") as summary:
            summary.write(data + b"\n")
    except OSError as exc:
        # The report is on disk and may still be posted: a runner file mrbot cannot write costs only itself.
        log.warning("could not write the job summary %s (%s); continuing", context.summary_path, exc.strerror or exc)


def write_outputs(context: Context, outputs: dict[str, str]) -> None:
    if context.output_path is None:
        return
    try:
        with open(context.output_path, "a", encoding="utf-8") as out:
            for name, value in outputs.items():
                if "\n" in value:
                    delimiter = f"mrbot_{uuid.uuid4().hex}"
                    out.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
                else:
                    out.write(f"{name}={value}\n")
    except OSError as exc:
        # Called in _post's finally: raising here would replace the run's exit code (and skip posting).
        log.warning("could not write the step outputs %s (%s); continuing", context.output_path, exc.strerror or exc)


def report_outputs(verdict: str, comment_url: str, report_dir: Path,
                   proposal: dict[str, str] | None = None) -> dict[str, str]:
    outputs = {"verdict": verdict, "comment-url": comment_url, "report-dir": str(report_dir)}
    if proposal:  # mrbot propose's
        outputs.update({"pr-url": proposal.get("pr_url", ""), "proposal": proposal.get("action", "")})
    return outputs
