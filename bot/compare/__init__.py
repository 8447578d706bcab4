"""Comparisons of the two revisions and their verdicts: pure functions of values, no I/O."""
