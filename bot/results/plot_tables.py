"""A plot data file's bytes as columns, read the way DVC reads them (CSV/TSV rows under a header, or
the lists of records in JSON and YAML), without a dict per row."""

from __future__ import annotations

import csv
import io
import itertools
import json
import operator
import os
from dataclasses import dataclass, field
from typing import Any

CSV_DELIMITERS = {".csv": ",", ".tsv": "\t"}
# From this size on, pyarrow parses a CSV of numbers: 7 times numpy's speed on 100,000 rows (5 ms,
# not 37). Below it, pyarrow's import (90 ms, once per chart worker) would cost more than it saves.
ARROW_FROM_CHARS = 256 * 1024
# From this size on, orjson parses a JSON file whose values are drawn as numbers: 6 times json's
# speed (a curve of 5,000 points, 450 KB, in 1 ms, not 6). Its import costs about 4 ms per worker.
ORJSON_FROM_BYTES = 64 * 1024


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


def parse_table(path: str, content: bytes, header: bool = True, numbers: bool = False) -> Table:
    """Raises ValueError with DVC's words for a file it cannot read either. With `numbers` (the
    plot draws its values as numbers, not names) a CSV/TSV whose every value is a number gives
    float arrays, parsed in C, instead of the cells' text."""
    extension = os.path.splitext(path)[1].lower()
    if extension == ".json" and numbers and len(content) >= ORJSON_FROM_BYTES:
        blob = _orjson(content)
        if blob is not None:
            return _records(blob)
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"'{path}' is not valid UTF-8") from None
    if extension in CSV_DELIMITERS:
        table = _numeric(text, CSV_DELIMITERS[extension]) if numbers and header else None
        return table or _delimited(text, CSV_DELIMITERS[extension], header)
    if extension == ".json":
        try:
            blob = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"unable to read: '{path}', JSON file structure is corrupted: {exc}") from None
    else:
        from dvc.utils.serialize import PARSERS

        blob = PARSERS[extension](text, path)
    return _records(blob)


def _orjson(content: bytes) -> Any:
    """The file as orjson reads it; None where it refuses what json reads (NaN, Infinity, lone
    surrogates, invalid UTF-8): json reads those, and words the errors. It reads an integer past
    64 bits as the float it is drawn as anyway, hence numbers only."""
    import orjson

    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return None


def _delimited(text: str, delimiter: str, header: bool) -> Table:
    cells = _split_cells(text, delimiter)
    if cells is not None:
        names, rows, columns = cells
        if not header:
            names, rows = [str(index) for index in range(len(names))], rows + 1
            columns = [[first, *column] for first, column in zip(cells[0], columns)]
        return Table(names, dict(zip(names, columns)), rows, names[-1] if names else None)
    rows = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if row]
    if header:
        if not rows:
            return Table()
        names, rows = rows[0], rows[1:]
    else:
        names = [str(index) for index in range(len(rows[0]))] if rows else []
    # A short row lacks the last fields (None, as csv.DictReader gives); a long one's extras have no name.
    transposed = list(itertools.zip_longest(*rows))
    columns = {name: list(transposed[index]) if index < len(transposed) else [None] * len(rows)
               for index, name in enumerate(names)}
    return Table(list(names), columns, len(rows), names[-1] if names else None)


def _numeric(text: str, delimiter: str) -> Table | None:
    """A header line and rows of numbers only, every row as wide as the header; else None."""
    import warnings

    import numpy as np

    names, _, body = text.partition("\n")
    if not names or any(mark in text for mark in '" \t\r' if mark != delimiter):
        return None
    body = body.rstrip("\n")
    rows = body.count("\n") + 1 if body else 0
    width = names.count(delimiter) + 1
    fields = names.split(delimiter)
    columns = _arrow_columns(body, delimiter, rows, width) if len(body) >= ARROW_FROM_CHARS else None
    if columns is None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # numpy only warns where the text stops being numbers
            try:
                values = np.fromstring(body.replace(delimiter, " ").replace("\n", " "), dtype=float, sep=" ")
            except (ValueError, DeprecationWarning):
                return None
        # An empty cell or a blank line would shift every value after it: then the count is off.
        if len(values) != rows * width or "\n\n" in body:
            return None
        columns = [column.copy() for column in values.reshape(rows, width).T]
    return Table(fields, dict(zip(fields, columns)), rows, fields[-1])


def _arrow_columns(body: str, delimiter: str, rows: int, width: int) -> list[Any] | None:
    """The rows' columns as float arrays, parsed by pyarrow's CSV reader; None unless every cell is
    a number (then numpy's parser decides, as for a small file)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as arrow_csv

    try:
        table = arrow_csv.read_csv(
            pa.py_buffer(body.encode("utf-8")),
            # One thread: the chart workers already keep the cores busy.
            read_options=arrow_csv.ReadOptions(use_threads=False, autogenerate_column_names=True),
            parse_options=arrow_csv.ParseOptions(delimiter=delimiter),
            # No cell is read as missing ("NaN", "null"...): a number or not, as numpy reads it.
            convert_options=arrow_csv.ConvertOptions(null_values=[], strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    numeric = all(pa.types.is_floating(column.type) or pa.types.is_integer(column.type) for column in table.columns)
    if not numeric or table.num_columns != width or table.num_rows != rows:
        return None
    return [np.asarray(column.to_numpy(), dtype=float) for column in table.columns]


def _split_cells(text: str, delimiter: str) -> tuple[list[str], int, list[list[str]]] | None:
    """The common file (no quotes, no carriage returns, no blank lines, every line as wide as the
    first) split in C: the first line's cells, the number of rows after it, and each column. None
    for any other file, which the csv module reads. A tenth of csv.reader's time on 100,000 rows."""
    if '"' in text or "\r" in text:
        return None
    lines = text.rstrip("\n").split("\n")
    width = lines[0].count(delimiter) + 1
    if not lines[0] or set(map(operator.methodcaller("count", delimiter), lines)) != {width - 1} or "" in lines:
        return None
    cells = delimiter.join(lines).split(delimiter) if width > 1 else lines
    return cells[:width], len(lines) - 1, [cells[width + index::width] for index in range(width)]


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
