"""A plot data file's bytes as columns, read the way DVC reads them (CSV/TSV rows under a header, or
the lists of records in JSON and YAML), without a dict per row."""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
from dataclasses import dataclass, field
from typing import Any

CSV_DELIMITERS = {".csv": ",", ".tsv": "\t"}


@dataclass
class Table:
    # The fields of the first record, in order: DVC checks the plot's x and y against these.
    fields: list[str] = field(default_factory=list)
    columns: dict[str, list[Any]] = field(default_factory=dict)
    length: int = 0
    # The last field of the first list of records: the y DVC infers when a plot names none.
    inferred_y: str | None = None

    def column(self, name: str) -> list[Any]:
        """The field's value in every record; None where a record lacks it."""
        values = self.columns.get(name)
        return values if values is not None else [None] * self.length


def parse_table(path: str, content: bytes, header: bool = True) -> Table:
    """Raises ValueError with DVC's words for a file it cannot read either."""
    extension = os.path.splitext(path)[1].lower()
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"'{path}' is not valid UTF-8") from None
    if extension in CSV_DELIMITERS:
        return _delimited(text, CSV_DELIMITERS[extension], header)
    if extension == ".json":
        try:
            blob = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"unable to read: '{path}', JSON file structure is corrupted: {exc}") from None
    else:
        from dvc.utils.serialize import PARSERS

        blob = PARSERS[extension](text, path)
    return _records(blob)


def _delimited(text: str, delimiter: str, header: bool) -> Table:
    rows = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if row]
    if header:
        if not rows:
            return Table()
        names, rows = rows[0], rows[1:]
    else:
        names = [str(index) for index in range(len(rows[0]))] if rows else []
    if not rows:
        return Table(fields=list(names), inferred_y=names[-1] if names else None)
    # A short row lacks the last fields (None, as csv.DictReader gives); a long one's extras have no name.
    transposed = list(itertools.zip_longest(*rows))
    columns = {name: list(transposed[index]) if index < len(transposed) else [None] * len(rows)
               for index, name in enumerate(names)}
    return Table(list(names), columns, len(rows), names[-1] if names else None)


def _lists(blob: Any):
    """Every list in the blob, depth first, as DVC's converter finds the records of a file."""
    if isinstance(blob, list):
        yield blob
    elif isinstance(blob, dict):
        for value in blob.values():
            if isinstance(value, dict):
                yield from _lists(value)
            elif isinstance(value, list):
                yield value


def _records(blob: Any) -> Table:
    """The lists of records (dicts with the same keys) merged by position, later lists winning."""
    table = Table()
    for records in _lists(blob):
        if not records or not all(isinstance(record, dict) for record in records):
            continue
        if table.inferred_y is None and records[0]:
            table.inferred_y = list(records[0])[-1]
        keys = list(dict.fromkeys(key for record in records for key in record))
        if set(records[0]) != set(keys):
            continue  # a later record has a field the first lacks: DVC leaves the list out too
        for key in keys:
            values = [record.get(key) for record in records]
            known = table.columns.get(key, [])
            table.columns[key] = values + known[len(values):] if len(known) > len(values) else values
        for key in keys:
            if key not in table.fields:
                table.fields.append(key)
        table.length = max(table.length, len(records))
    for key, values in table.columns.items():
        if len(values) < table.length:
            values.extend([None] * (table.length - len(values)))
    return table
