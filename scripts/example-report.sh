#!/usr/bin/env bash
# Regenerate docs/example-report.md and its images (docs/images/example-report/) from a real run of
# `mrbot demo`, so the README shows what mrbot posts today, not a mock-up.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

DVC_NO_ANALYTICS=1 "$PYTHON" -m bot demo --dir "$work/project" >"$work/report.md"
images=docs/images/example-report
rm -rf "$images" && mkdir -p "$images"
cp "$work"/project/mrbot-report/images/*.png "$images/"
{
    cat <<'HEADER'
# What the report looks like

Below is the report exactly as `mrbot demo` renders it: a real run on the demo project (a three-stage
DVC pipeline training a small numpy classifier), where branch `experiment` raises the learning rate
and trains longer than `main`. Produced by `bash scripts/example-report.sh`, which runs the demo and
copies its report and charts here.

On a pull or merge request the same Markdown is the comment. It starts with a hidden marker
(`<!-- mrbot:report id=default head=<sha> -->`) by which re-runs find and update it, and its charts
are hosted by the forge: on GitHub, committed to the `mrbot-assets` branch; on GitLab, project
uploads. Here they are files next to this page.

---

HEADER
    sed 's|](images/|](images/example-report/|' "$work/report.md"
} >docs/example-report.md
echo "wrote docs/example-report.md and $images/"
