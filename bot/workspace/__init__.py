"""The checkout: git (revisions, worktrees), the dvc Repo, dvc pull/push, dvc repro and its captured output."""
