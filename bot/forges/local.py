"""A forge that keeps its comments as files in a folder: the default when no forge is configured,
and the reference implementation of `base.Forge` the sticky-comment logic is tested against."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Callable

from bot.errors import ForgeRefused
from bot.forges.base import MARKER, CheckRun, Comment


class LocalForge:
    name = "local"
    renders_html = True
    cannot_comment = ""
    comment_limit = 10_000_000

    def __init__(self, folder: Path, head_sha: str | None = None):
        self.folder = folder
        self.where_full = str(folder)
        self._head_sha = head_sha
        (folder / "comments").mkdir(parents=True, exist_ok=True)

    def host_images(self, bundle_dir: Path, images: list[str], report_id: str = "default") -> Callable[[str], str]:
        return lambda path: (bundle_dir / path).resolve().as_uri()

    def _comments(self) -> list[Comment]:
        comments = []
        for path in sorted((self.folder / "comments").glob("*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            comments.append(Comment(int(path.stem), data["body"], str(path), data["created_at"]))
        return comments

    def report_comments(self, report_id: str) -> list[Comment]:
        return [c for c in self._comments() if (m := MARKER.match(c.body)) and m.group(1) == report_id]

    def current_head_sha(self) -> str | None:
        return self._head_sha

    def _write(self, comment_id: int, body: str) -> Comment:
        path = self.folder / "comments" / f"{comment_id:06d}.json"
        created = f"{comment_id:06d}"
        path.write_text(json.dumps({"body": body, "created_at": created}), encoding="utf-8")
        (self.folder / "comment.md").write_text(body, encoding="utf-8")
        return Comment(comment_id, body, str(path), created)

    def create_comment(self, body: str) -> Comment:
        return self._write(max((int(c.id) for c in self._comments()), default=0) + 1, body)

    def update_comment(self, comment: Comment, body: str) -> Comment:
        return self._write(int(comment.id), body)

    def delete_comment(self, comment: Comment) -> None:
        try:
            (self.folder / "comments" / f"{int(comment.id):06d}.json").unlink()
        except FileNotFoundError:  # as a forge's API answers 404
            raise ForgeRefused(f"deleting comment {comment.id}: it is not there") from None

    def set_status(self, state: str, description: str, target_url: str) -> None:
        status = {"state": state, "description": description, "target_url": target_url}
        (self.folder / "status.json").write_text(json.dumps(status), encoding="utf-8")

    def set_check_run(self, check: CheckRun) -> str:
        path = self.folder / "check-run.json"
        path.write_text(json.dumps(dataclasses.asdict(check)), encoding="utf-8")
        return str(path)
