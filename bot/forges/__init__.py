"""Where reports are published: one small driver per forge behind `base.Forge`.
Nothing outside this package imports PyGithub or python-gitlab."""

from __future__ import annotations

import contextlib
import functools
from typing import Any, Iterator

from bot.ci.context import GITHUB, GITLAB, Context
from bot.errors import BadInput, ForgeRefused, MrbotError
from bot.forges.base import Comment, Forge, ImagesUnavailable
from bot.masking import mask

# What each Forge call does, for the message when the forge answers something unusable.
_DOING = {
    "host_images": "uploading the report's images",
    "report_comments": "listing the report comments",
    "current_head_sha": "reading the head of the pull/merge request",
    "create_comment": "posting the report comment",
    "update_comment": "updating the report comment",
    "delete_comment": "deleting a duplicate report comment",
    "set_status": "setting the commit status",
}
_FORGE_NAMES = {GITHUB: ("GitHub", "GITHUB_API_URL"), GITLAB: ("GitLab", "CI_API_V4_URL")}


def open_forge(context: Context, settings: dict[str, str]) -> Forge:
    """The driver for the context's forge. `settings` holds forge options from the CLI
    (status context name, assets branch, ...)."""
    if context.forge == GITHUB:
        from bot.forges.github import open_github

        with _answers_it_cannot_use(context, "checking the token and the repository"):
            return _Guarded(open_github(context, settings), context)  # type: ignore[return-value]
    if context.forge == GITLAB:
        from bot.forges.gitlab import open_gitlab

        with _answers_it_cannot_use(context, "checking the token and the repository"):
            return _Guarded(open_gitlab(context, settings), context)  # type: ignore[return-value]
    raise BadInput(f"no forge to post to in this environment ({context.forge}); use --dry-run or --out")


@contextlib.contextmanager
def _answers_it_cannot_use(context: Context, doing: str) -> Iterator[None]:
    """The drivers turn the errors they know into ForgeRefused; anything else escaping them means the
    server answered something unexpected (HTML, a list for an object, null ids): exit 4, not a traceback."""
    try:
        yield
    except (MrbotError, ImagesUnavailable):
        raise
    except Exception as exc:
        name, variable = _FORGE_NAMES.get(context.forge, (context.forge, "the API URL"))
        said = " ".join(str(exc).split())[:200]
        detail = f"{type(exc).__name__}: {said}" if said else type(exc).__name__
        detail = mask(detail, [context.token] if context.token else [])
        raise ForgeRefused(
            f"{name} answered something mrbot cannot use while {doing} ({detail}); check {variable} / the server"
        ) from None


class _Guarded:
    """A driver whose every call goes through _answers_it_cannot_use; attributes pass through."""

    def __init__(self, driver: Any, context: Context):
        self._driver = driver
        self._context = context

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._driver, name)
        if name not in _DOING:
            return value

        @functools.wraps(value)
        def call(*args: Any, **kwargs: Any) -> Any:
            with _answers_it_cannot_use(self._context, _DOING[name]):
                result = value(*args, **kwargs)
                # PyGithub makes a comment of any 200 answer; one without a URL would break the outputs later.
                if isinstance(result, Comment) and not (isinstance(result.url, str) and result.url):
                    raise ValueError("the comment in the answer has no URL")
                return result

        return call
