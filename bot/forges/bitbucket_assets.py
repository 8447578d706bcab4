"""Bitbucket's assets branch: a report's images committed in one commit (POST /src), linked pinned
to that commit, and reused while the branch still holds it."""

from __future__ import annotations

import logging
import re
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote, urlsplit

from bot.forges.base import ImagesUnavailable
from bot.forges.bitbucket_api import BitbucketClient
from bot.forges.rest import Refusal

log = logging.getLogger(__name__)

_COMMIT_ATTEMPTS = 3
FULL_SHA = re.compile(r"[0-9a-f]{40}")  # Bitbucket names commits by SHA-1


class AssetsBranch:
    def __init__(self, client: BitbucketClient, repo_path: str, name: str, where: str):
        self.client = client
        self.repo_path = repo_path
        self.name = name
        self.where = where  # the pull request or commit the images are for, for the commit message
        self.branch_path = f"{repo_path}/refs/branches/{quote(name, safe='')}"

    def holds(self, commit: str) -> bool:
        """An earlier commit's links last while the assets branch holds it: a deleted or recreated
        branch leaves it to Bitbucket's garbage collection."""
        doing = f"checking that the {self.name!r} branch still holds the images"
        try:
            tip = self._tip(doing)
            if tip in ("", commit):
                return tip == commit
            base = self.client.json("GET", f"{self.repo_path}/merge-base/{commit}..{tip}", doing)
        except Refusal as exc:
            if exc.status == 404:
                return False
            log.info("could not check the images' commit (%s %s); linking it again", exc.status, exc.message)
            return True
        return isinstance(base, dict) and base.get("hash") == commit

    def commit(self, files: list[tuple[str, bytes]]) -> str:
        doing = f"committing the report's images to the {self.name!r} branch"
        for attempt in range(1, _COMMIT_ATTEMPTS + 1):
            try:
                tip = self._tip(doing)
                # [skip ci]: the commit must not start the repository's pipelines.
                form: dict[str, Any] = {"branch": self.name,
                                        "message": f"mrbot: images for {self.where} [skip ci]"}
                if tip:
                    form["parents"] = tip
                files_field = [(name, (PurePosixPath(name).name, data, "image/png")) for name, data in files]
                response = self.client.call("POST", f"{self.repo_path}/src", doing, data=form, files=files_field)
            except Refusal as exc:
                if exc.status == 409 and attempt < _COMMIT_ATTEMPTS:
                    log.info("the %s branch moved meanwhile; committing again", self.name)
                    continue
                if exc.status == 401:
                    raise self.client.refused(exc, doing) from None
                # No write access, a branch restriction, trouble: it costs the images only.
                raise ImagesUnavailable(self._refused(exc)) from None
            commit = _commit_of(response.headers.get("Location", "")) or self._tip_after_commit(doing)
            log.info("images committed to %s at %s", self.name, commit[:8])
            return commit
        raise AssertionError("unreachable")

    def _tip(self, doing: str) -> str:
        try:
            branch = self.client.json("GET", self.branch_path, doing)
        except Refusal as exc:
            if exc.status == 404:
                return ""  # the repository's first images
            raise
        tip = str(((branch or {}).get("target") or {}).get("hash") or "")
        if not FULL_SHA.fullmatch(tip):
            raise Refusal(200, f"the {self.name!r} branch answered without its commit")
        return tip

    def _tip_after_commit(self, doing: str) -> str:
        """Without a Location, the branch names the new commit; failing that, the images go unshown."""
        try:
            tip = self._tip(doing)
        except Refusal as exc:
            raise ImagesUnavailable(f"Bitbucket did not say which commit holds them ({exc.status} {exc.message})") from None
        if not tip:
            raise ImagesUnavailable(f"the {self.name!r} branch is missing right after committing to it")
        return tip

    def _refused(self, exc: Refusal) -> str:
        if exc.status in (403, 404):
            return ("the token cannot write the repository (the scope repository:write), or a branch restriction "
                    f"keeps it from the {self.name!r} branch")
        return f"Bitbucket refused committing them to the {self.name!r} branch ({exc.status} {exc.message})"


def _commit_of(location: str) -> str:
    """The new commit's sha from /src's Location header (.../commit/<sha>)."""
    last = urlsplit(location).path.rstrip("/").rsplit("/", 1)[-1]
    return last if FULL_SHA.fullmatch(last) else ""
