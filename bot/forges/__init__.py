"""Where reports are published: one small driver per forge behind `base.Forge`.
Nothing outside this package imports PyGithub or python-gitlab."""

from __future__ import annotations

from bot.context import GITHUB, GITLAB, Context
from bot.errors import BadInput
from bot.forges.base import Forge


def open_forge(context: Context, settings: dict[str, str]) -> Forge:
    """The driver for the context's forge. `settings` holds forge options from the CLI
    (status context name, assets branch, ...)."""
    if context.forge == GITHUB:
        from bot.forges.github import open_github

        return open_github(context, settings)
    if context.forge == GITLAB:
        from bot.forges.gitlab import open_gitlab

        return open_gitlab(context, settings)
    raise BadInput(f"no forge to post to in this environment ({context.forge}); use --dry-run or --out")
