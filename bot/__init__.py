"""mrbot: reproduce a DVC pipeline in CI and post a model report on the PR/MR."""

__version__ = "0.1.0"
