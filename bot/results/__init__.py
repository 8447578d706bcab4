"""What DVC knows per revision: metrics, params and plots of the two revisions compared."""

from __future__ import annotations

import math
import sys
from typing import Any

BASE = "base"
HEAD = "head"
WORKSPACE = "workspace"  # DVC's name for the working tree, where the job reproduced the head

# Integers beyond this are no float (JSON and YAML allow them): they are compared as text.
_LARGEST_FLOAT_INT = int(sys.float_info.max)


def is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return isinstance(value, float) or -_LARGEST_FLOAT_INT <= value <= _LARGEST_FLOAT_INT


def is_finite_number(value: Any) -> bool:
    return is_number(value) and math.isfinite(value)


def single(value: Any) -> Any:
    # `dvc metrics diff` compares one-element lists by their element; so do we.
    if isinstance(value, list) and len(value) == 1:
        return value[0]
    return value
