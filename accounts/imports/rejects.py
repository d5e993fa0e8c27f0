"""The rows an import left out (or that refused it), as a CSV file to fix and send again."""

from __future__ import annotations

import csv
from collections import defaultdict
from typing import BinaryIO, TextIO

from accounts.imports.options import Limits
from accounts.imports.pipeline import ImportResult
from accounts.imports.reader import table_open
from healthboard.lib.csvfile import cell


def rejects_write(*, file: BinaryIO, result: ImportResult, out: TextIO) -> int:
    """Write each rejected row as the file had it, after two columns: its row number and
    its errors. Reads the file again (as the import read it), so memory stays flat; `out`
    is a text file opened with newline="". Returns the number of rows written."""
    reasons: dict[int, list[str]] = defaultdict(list)
    for error in result.errors:
        reasons[error.row].append(f"{error.column}: {error.reason}")
    if not reasons:
        return 0
    limits = Limits.from_settings()
    table = table_open(file, limits=limits, delimiter=result.delimiter or None)
    writer = csv.writer(out)
    # Every cell through cell(): a spreadsheet must not run what the file had as a formula.
    writer.writerow(["row", "errors", *map(cell, table.header)])
    written = 0
    for row, cells in table:
        if row in reasons:
            writer.writerow([row, cell("; ".join(reasons[row])), *map(cell, cells)])
            written += 1
    return written
