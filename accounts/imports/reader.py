"""Reading CSV files as teams have them, streamed: never the whole file in memory.

Encodings: UTF-8 with or without a byte-order mark, UTF-16 and UTF-32 (with a BOM, or
UTF-16 recognised by its zero bytes), and Windows-1252 when the bytes are not UTF-8.
Delimiters: comma, semicolon or tab, whichever splits the first lines into the same number
of columns. Every problem that stops the file is a FileRefused with a message, never a
traceback.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from typing import BinaryIO

from django.utils.translation import gettext

from accounts.imports.errors import FileRefused
from accounts.imports.options import Limits
from healthboard.lib.csvfile import cell_text
from healthboard.lib.numbers import number_text

SAMPLE_BYTES = 64 * 1024
DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
SNIFF_LINES = 50

# The BOMs, longest first: UTF-32-LE's starts with UTF-16-LE's.
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# ---------------------------------------------------------------- UTF-8, else Windows-1252

UTF8_OR_CP1252 = "utf-8, else windows-1252"


class Utf8OrCp1252Decoder(codecs.IncrementalDecoder):
    """UTF-8 until a byte says otherwise. A file that was pure ASCII up to its first
    non-UTF-8 byte is Windows-1252 (the two agree on ASCII), so decoding switches there: an
    export whose first accented name sits on row 50,000 still reads. Non-ASCII UTF-8 followed
    by non-UTF-8 bytes is a mixed file, and an error."""

    def __init__(self, errors: str = "strict") -> None:
        super().__init__(errors)
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._cp1252: codecs.IncrementalDecoder | None = None
        self._ascii_so_far = True

    def decode(self, input: bytes, final: bool = False) -> str:
        if self._cp1252 is not None:
            return self._cp1252.decode(input, final)
        try:
            text = self._utf8.decode(input, final)
        except UnicodeDecodeError:
            if not self._ascii_so_far:
                raise
            # Bytes the UTF-8 decoder held back (a lead byte at the end of the last chunk).
            pending = self._utf8.getstate()[0]
            # Undefined Windows-1252 bytes (0x81, 0x8D, …) become U+FFFD, never an error.
            self._cp1252 = codecs.getincrementaldecoder("cp1252")("replace")
            return self._cp1252.decode(pending + bytes(input), final)
        if self._ascii_so_far and not text.isascii():
            self._ascii_so_far = False
        return text

    @property
    def fell_back(self) -> bool:
        return self._cp1252 is not None


def _decoder(encoding: str) -> codecs.IncrementalDecoder:
    if encoding == UTF8_OR_CP1252:
        return Utf8OrCp1252Decoder()
    return codecs.getincrementaldecoder(encoding)()


# ---------------------------------------------------------------- bytes in

CHUNK_BYTES = 256 * 1024
# A "line" this long without a line break is not a CSV row (nor a cell of one).
MAX_LINE_CHARS = 16 * 1024 * 1024


class _Bytes:
    """The file's bytes (the detection sample first, then the rest), counted against the
    size limit as they are read."""

    def __init__(self, source: BinaryIO, sample: bytes, max_bytes: int) -> None:
        self._source = source
        self._sample = sample
        self._max_bytes = max_bytes
        self.count = 0

    def read(self) -> bytes:
        if self._sample:
            data, self._sample = self._sample, b""
        else:
            data = _read(self._source, CHUNK_BYTES)
        self.count += len(data)
        if self.count > self._max_bytes:
            raise FileRefused(
                gettext(
                    "The file is larger than %(limit)s bytes, the limit for one import "
                    "(IMPORT_MAX_FILE_BYTES): split it into smaller files."
                )
                % {"limit": number_text(self._max_bytes)}
            )
        return data


def _read(source: BinaryIO, size: int) -> bytes:
    try:
        data = source.read(size)
    except (OSError, ValueError) as exc:
        raise FileRefused(gettext("The file cannot be read: %(error)s.") % {"error": exc}) from exc
    if isinstance(data, str):
        raise TypeError("Open the file in binary mode ('rb'): the reader detects its encoding.")
    return data or b""


def detect_encoding(sample: bytes) -> str:
    """The codec for a file that starts with these bytes."""
    for bom, name in BOMS:
        if sample.startswith(bom):
            return name
    if b"\x00" in sample:
        # UTF-16 without a BOM: every other byte of ASCII text is zero.
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        if odd > len(sample) // 4 and odd > even:
            return "utf-16-le"
        if even > len(sample) // 4 and even > odd:
            return "utf-16-be"
    return UTF8_OR_CP1252


def sniff_delimiter(text: str) -> str:
    """The delimiter among comma, semicolon and tab that splits the first lines into the
    same number of columns (more than one); comma when none does."""
    lines = list(io.StringIO(text, newline=""))
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample cut the last line short
    lines = lines[:SNIFF_LINES]
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        try:
            widths = [len(row) for row in csv.reader(lines, delimiter=delimiter) if row]
        except csv.Error:
            continue
        if not widths or widths[0] < 2:
            continue
        score = (sum(1 for width in widths if width == widths[0]), widths[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _lines(data: _Bytes, decoder: codecs.IncrementalDecoder) -> Iterator[str]:
    """The decoded text, one line at a time with its line break (as open(newline="")
    gives them): a quoted cell's line breaks are put back together by the csv reader."""
    carry = ""
    while True:
        chunk = data.read()
        text = carry + decoder.decode(chunk, final=not chunk)
        if "\x00" in text:
            # No text cell holds a NUL (nor can PostgreSQL store one): the bytes are not
            # text, or not in the encoding they were read in.
            raise FileRefused(
                gettext(
                    "The file contains NUL characters: it is not a CSV text file, or it is in "
                    "another encoding (UTF-16 without a byte-order mark?): choose its encoding."
                )
            )
        if not chunk:
            if text:
                yield from io.StringIO(text, newline="")
            return
        # Keep the last line back until its line break arrives; a final "\r" too, which may
        # be the first half of "\r\n".
        end = len(text) - 1 if text.endswith("\r") else len(text)
        cut = max(text.rfind("\n", 0, end), text.rfind("\r", 0, end)) + 1
        carry = text[cut:]
        if len(carry) > MAX_LINE_CHARS:
            raise FileRefused(
                gettext("The file has a line longer than %(chars)s characters: is it a CSV file?")
                % {"chars": number_text(MAX_LINE_CHARS)}
            )
        if cut:
            yield from io.StringIO(text[:cut], newline="")


# ---------------------------------------------------------------- the table


class Table:
    """An open CSV file: how it was read, its header, and its rows, one at a time.

    Iterating yields (row number, cells) for each non-blank row, numbered as a spreadsheet
    shows them (the header is row 1)."""

    def __init__(self, file: BinaryIO, limits: Limits, encoding: str | None, delimiter: str | None):
        sample = _read(file, SAMPLE_BYTES)
        if encoding:
            try:
                encoding = codecs.lookup(encoding).name
            except LookupError:
                raise FileRefused(
                    gettext("Unknown encoding %(encoding)r.") % {"encoding": encoding}
                ) from None
        self.encoding = encoding or detect_encoding(sample)
        if delimiter is not None and delimiter not in DELIMITERS:
            raise FileRefused(gettext("The delimiter must be a comma, a semicolon or a tab."))
        if not sample.strip():
            raise FileRefused(gettext("The file is empty."))
        self.delimiter = delimiter or sniff_delimiter(
            _decoder_for_sniffing(self.encoding).decode(sample)
        )
        self.limits = limits
        self._data = _Bytes(file, sample, limits.max_bytes)
        self._decoder = _decoder(self.encoding)
        self._reader = csv.reader(_lines(self._data, self._decoder), delimiter=self.delimiter)
        self.row = 1
        header = self._next()
        header = [cell.strip().lstrip("\ufeff").strip() for cell in header or []]
        if not any(header):
            raise FileRefused(gettext("The first row has no column names: it must be the header."))
        if any(len(cell) > 200 for cell in header):
            raise FileRefused(
                gettext("The first row must be the header: a column name is over 200 characters.")
            )
        self.header = header

    @property
    def bytes_read(self) -> int:
        return self._data.count

    @property
    def encoding_label(self) -> str:
        """The encoding as a person would name it: "UTF-8", "Windows-1252", "UTF-16" …"""
        if self.encoding == UTF8_OR_CP1252:
            return "Windows-1252" if self._decoder.fell_back else "UTF-8"
        return ENCODING_LABELS.get(self.encoding, self.encoding)

    @property
    def delimiter_label(self) -> str:
        return DELIMITER_NAMES[self.delimiter]

    def _next(self) -> list[str] | None:
        try:
            return next(self._reader, None)
        except csv.Error as exc:
            raise FileRefused(_csv_message(exc, self._reader.line_num)) from exc
        except UnicodeDecodeError as exc:
            raise FileRefused(_decode_message(exc, self.encoding, self.row + 1)) from exc

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        data_rows = 0
        while (cells := self._next()) is not None:
            self.row += 1
            if not any(cells):
                continue  # blank lines, and the ";;;" rows spreadsheets leave behind
            data_rows += 1
            if data_rows > self.limits.max_rows:
                raise FileRefused(
                    gettext(
                        "The file has more than %(rows)s rows, the limit for one import "
                        "(IMPORT_MAX_ROWS): split it into smaller files."
                    )
                    % {"rows": number_text(self.limits.max_rows)}
                )
            if "'" in "".join(cells):
                # A cell an export neutralised ("'=Acme") reads as it was stored; the join
                # keeps the check off the hot path of rows without an apostrophe.
                cells = [cell_text(text) for text in cells]
            yield self.row, cells


ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 (BOM)",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16 LE",
    "utf-16-be": "UTF-16 BE",
    "utf-32": "UTF-32",
    "cp1252": "Windows-1252",
    "iso8859-1": "ISO-8859-1",
}


def _decoder_for_sniffing(encoding: str) -> codecs.IncrementalDecoder:
    if encoding == UTF8_OR_CP1252:
        encoding = "utf-8"
    return codecs.getincrementaldecoder(encoding)("replace")


def table_open(
    file: BinaryIO,
    *,
    limits: Limits | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> Table:
    """Open a CSV file given as a binary file object: detect its encoding and delimiter
    (unless given) and read its header. Rows and bytes are counted against the limits as
    they are read; FileRefused says which one was exceeded."""
    return Table(file, limits or Limits.from_settings(), encoding, delimiter)


def _csv_message(exc: csv.Error, line: int) -> str:
    reason = str(exc)
    if "field larger than field limit" in reason:
        return gettext("Line %(line)s has a cell longer than %(chars)s characters.") % {
            "line": line,
            "chars": number_text(csv.field_size_limit()),
        }
    return gettext("Line %(line)s cannot be read as CSV: %(reason)s.") % {
        "line": line,
        "reason": reason,
    }


def _decode_message(exc: UnicodeDecodeError, encoding: str, row: int) -> str:
    if encoding == UTF8_OR_CP1252:
        return gettext(
            "Around row %(row)s the file cannot be read: it mixes UTF-8 with another "
            "encoding. Save it again as UTF-8 (CSV UTF-8 in Excel) and import it again."
        ) % {"row": row}
    return gettext(
        "Around row %(row)s the file cannot be read as %(encoding)s: %(reason)s. "
        "Choose another encoding, or save the file as UTF-8."
    ) % {"row": row, "encoding": ENCODING_LABELS.get(encoding, encoding), "reason": exc.reason}
