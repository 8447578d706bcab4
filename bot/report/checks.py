"""Checks of a bundle's untrusted fields (report.json may come from a fork's code): each check
returns the value if it has the documented shape and raises ValueError naming the field if not."""

from __future__ import annotations

import re
from typing import Any


def is_type(*types: type, name: str) -> Any:
    def check(value: Any, where: str) -> Any:
        # bool is an int to isinstance; true is not a number of files
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            raise ValueError(f"{where} is not {name}")
        return value
    return check


STR = is_type(str, name="a string")
BOOL = is_type(bool, name="true or false")
NUMBER = is_type(int, float, name="a number")
OPTIONAL_INT = is_type(int, type(None), name="an integer or null")


def list_of(item: Any) -> Any:
    def check(value: Any, where: str) -> list[Any]:
        if not isinstance(value, list):
            raise ValueError(f"{where} is not a list")
        return [item(element, f"{where}[{index}]") for index, element in enumerate(value)]
    return check


def object_of(spec: dict[str, tuple[Any, Any]], optional: bool = False) -> Any:
    def check(value: Any, where: str) -> dict[str, Any] | None:
        if value is None and optional:
            return None
        if not isinstance(value, dict):
            raise ValueError(f"{where} is not an object{' or null' if optional else ''}")
        return {key: test(value.get(key, default), f"{where}.{key}") for key, (test, default) in spec.items()}
    return check

def matching(regex: str, name: str, limit: int) -> Any:
    compiled = re.compile(regex)

    def check(value: Any, where: str) -> str:
        if not isinstance(value, str) or len(value) > limit or not compiled.fullmatch(value):
            raise ValueError(f"{where} is not {name}")
        return value
    return check


def positive_int_or_null(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{where} is not a positive integer or null")
    return value

def scalar(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def choice(value: Any, allowed: tuple[str, ...], where: str) -> str:
    if value not in allowed:
        raise ValueError(f"{where} has unknown value {value!r}")
    return value
