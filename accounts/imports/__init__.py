"""Imports of accounts, metrics and signals from CSV files (and API batches).

The public functions, for the upload page, the API and the Celery job:

- `import_preview(kind=, file=, options=, rows=20)`: what an import would do, without
  writing: encoding, delimiter, column mapping, the first rows as parsed, every row error.
- `import_run(kind=, file=, options=, user=, file_name=, file_size=, job=, dry_run=,
  progress=)`: the import, recorded as an ImportJob updated batch by batch.
- `import_records(kind=, records=, options=, user=, first_row=)`: the same for rows given
  as mappings (an API batch).
- `rejects_write(file=, result=, out=)`: the rows left out, as CSV with their errors.

Files are read streamed (accounts.imports.reader), rows checked a batch at a time
(accounts.imports.kinds), staged in a temporary table (accounts.imports.staging) and written
set-based in one transaction (accounts.imports.pipeline).
"""

from accounts.imports.errors import (
    FileRefused,
    ImportRefused,
    MappingError,
    RowError,
    TooManyErrors,
)
from accounts.imports.options import ImportOptions
from accounts.imports.pipeline import (
    KINDS,
    ImportResult,
    Progress,
    import_preview,
    import_records,
    import_run,
    kind_columns,
)
from accounts.imports.rejects import rejects_write

__all__ = [
    "KINDS",
    "FileRefused",
    "ImportOptions",
    "ImportRefused",
    "ImportResult",
    "MappingError",
    "Progress",
    "RowError",
    "TooManyErrors",
    "import_preview",
    "import_records",
    "import_run",
    "kind_columns",
    "rejects_write",
]
