"""Reading a person's CSV or XLSX file as rows of text, within limits (issue 18).

A small file can declare a sheet of a million rows, pack hundreds of megabytes of
shared strings, or hold millions of empty lines. So, before any parsing:

* an XLSX is a zip whose parts together unpack to at most ``MAX_UNCOMPRESSED``
  (read from the zip's directory, which the reader then holds it to);
* a CSV has at most ``MAX_LINES`` lines (counted in raw bytes, quickly).

While reading: at most ``MAX_LINES`` rows (empty ones included) and ``MAX_COLUMNS``
columns, and no cell over ``MAX_CELL`` characters; an XLSX sheet's declared size is
ignored (only the cells really there are read). Each limit, when passed, is a
ValidationFailed on "file" naming it. Previews cut cells to ``PREVIEW_CELL``.
Callers run this off the event loop (services.bounded for previews, a thread for
an import's batches)."""

from __future__ import annotations

import codecs
import csv
import io
import os
import zipfile
from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from typing import Any, BinaryIO

from services.errors import N_, ValidationFailed

Source = str | os.PathLike | bytes | bytearray | BinaryIO

MAX_LINES = 200_000
MAX_COLUMNS = 200
MAX_CELL = 10_000
MAX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_PARTS = 10_000
PREVIEW_CELL = 200

csv.field_size_limit(MAX_CELL)  # a longer cell is a csv.Error, not a huge string


def _too_many_lines() -> ValidationFailed:
    return ValidationFailed("file", N_("has more than {max_lines} rows; split it into "
                                       "smaller files"),
                            max_lines=f"{MAX_LINES:,}".replace(",", " "))


def _is_xlsx(filename: str, head: bytes) -> bool:
    return filename.lower().endswith((".xlsx", ".xlsm")) or head[:2] == b"PK"


def _open_binary(source: Source) -> BinaryIO:
    if isinstance(source, bytes | bytearray):
        return io.BytesIO(source)
    if isinstance(source, str | os.PathLike):
        return open(source, "rb")  # noqa: SIM115 - closed by the caller
    source.seek(0)
    return source


def _head(source: Source) -> bytes:
    if isinstance(source, bytes | bytearray):
        return bytes(source[:4])
    f = _open_binary(source)
    try:
        return f.read(4)
    finally:
        if isinstance(source, str | os.PathLike):
            f.close()
        else:
            f.seek(0)


def _detect_encoding(f: BinaryIO) -> str:
    """UTF-8 (with or without BOM) if the whole file decodes as such, else cp1251 (what
    Excel in Russian or Ukrainian Windows saves "CSV" in). Streams: flat memory."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := f.read(1 << 20):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
        return "utf-8-sig"
    except UnicodeDecodeError:
        return "cp1251"
    finally:
        f.seek(0)


def _sniff_delimiter(sample: str) -> str:
    """, ; or tab: the one that splits the first lines into the same number (> 1) of
    columns as the header; quotes respected."""
    lines = sample.splitlines()[:50]
    if len(lines) > 1 and len(sample) >= 65536:
        lines = lines[:-1]  # the last line of a cut sample may be partial
    best, best_score = ",", (-1, -1)
    for delim in (";", ",", "\t"):
        rows = list(csv.reader(lines, delimiter=delim))
        if not rows:
            continue
        width = len(rows[0])
        if width < 2:
            continue
        consistent = sum(1 for r in rows[1:] if len(r) == width)
        score = (consistent, width)
        if score > best_score:
            best, best_score = delim, score
    return best


class Table:
    """Rows of a CSV or XLSX file as lists of stripped strings (or None), streamed."""

    def __init__(self, source: Source, filename: str) -> None:
        self.source = source
        self.filename = filename or ""
        self.is_xlsx = _is_xlsx(self.filename, _head(source))
        self._closers: list[Callable[[], Any]] = []
        self.total_estimate = 0
        check(source, self.is_xlsx)

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc: object) -> None:
        for close in reversed(self._closers):
            close()
        self._closers.clear()

    def rows(self) -> Iterator[list[str | None]]:
        """Rows with trailing empty cells dropped; a limit passed raises."""
        rows = self._xlsx_rows() if self.is_xlsx else self._csv_rows()
        number = 0
        try:
            for number, row in enumerate(rows, start=1):
                if number > MAX_LINES:
                    raise _too_many_lines()
                while row and row[-1] is None:
                    row.pop()
                if len(row) > MAX_COLUMNS:
                    raise ValidationFailed("file", N_("row {number} has more than {max_columns} "
                                                      "columns"),
                                           number=number, max_columns=MAX_COLUMNS)
                yield row
        except csv.Error:
            raise ValidationFailed("file", N_("row {number}: a cell longer than {max_cell} "
                                              "characters, or broken quotes"),
                                   number=number + 1, max_cell=MAX_CELL) from None

    def _csv_rows(self) -> Iterator[list[str | None]]:
        f = _open_binary(self.source)
        if isinstance(self.source, str | os.PathLike):
            self._closers.append(f.close)
        encoding = _detect_encoding(f)
        text = io.TextIOWrapper(f, encoding=encoding, newline="")
        self._closers.append(text.detach)  # do not close a stream the caller gave us
        delimiter = _sniff_delimiter(text.read(65536))
        text.seek(0)
        # the number of records, for the progress bar (a cheap streaming pass)
        self.total_estimate = max(0, sum(1 for _ in csv.reader(text, delimiter=delimiter)) - 1)
        text.seek(0)
        for row in csv.reader(text, delimiter=delimiter):
            yield [_cell(v) for v in row[:MAX_COLUMNS + 1]]

    def _xlsx_rows(self) -> Iterator[list[str | None]]:
        from services.xlsx_stream import XlsxBook

        f = _open_binary(self.source)
        if isinstance(self.source, str | os.PathLike):
            self._closers.append(f.close)
        book = XlsxBook(f)
        self._closers.insert(0, book.close)

        def declared(max_row: int) -> None:  # for the progress bar only
            self.total_estimate = min(MAX_LINES, max(0, max_row - 1))

        # only the cells that are there are read, not the sheet's declared size
        for row in book.rows(on_dimension=declared, max_width=MAX_COLUMNS + 1):
            cells = [_cell(v) for v in row]
            if any(c is not None and len(c) > MAX_CELL for c in cells):
                raise csv.Error("cell too long")
            yield cells


def _cell(value: Any) -> str | None:
    """A cell as the text a person sees: 7707083893.0 → "7707083893"; dates as ISO."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        text = str(int(value)) if value.is_integer() else repr(value)
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, datetime | date | time):
        text = value.isoformat()
    else:
        text = str(value).strip()
        # an export's guard against formula injection ('=..., '+...) — undo it
        if len(text) > 1 and text[0] == "'" and text[1] in "=+-@":
            text = text[1:]
    return text or None


def read_headers(source: Source, filename: str) -> list[str]:
    """The first row of the file: the column headers to map."""
    return read_preview(source, filename, rows=0)[0]


def read_preview(source: Source, filename: str, rows: int = 5
                 ) -> tuple[list[str], list[list[str | None]]]:
    """(headers, the first ``rows`` non-empty data rows) for the mapping form."""
    with Table(source, filename) as table:
        it = table.rows()
        headers = [_cut(h) or "" for h in next(it, [])]
        preview: list[list[str | None]] = []
        for row in it:
            if len(preview) >= rows:
                break
            if any(row):
                preview.append([_cut(c) for c in row])
        if hasattr(it, "close"):
            it.close()
    while headers and not headers[-1]:
        headers.pop()
    return headers, preview


def _cut(text: str | None) -> str | None:
    return text if text is None or len(text) <= PREVIEW_CELL else text[:PREVIEW_CELL] + "…"


def check(source: Source, is_xlsx: bool) -> None:
    """The limits that can be checked before parsing (see the module's docstring)."""
    f = _open_binary(source)
    try:
        if is_xlsx:
            try:
                parts = zipfile.ZipFile(f).infolist()
            except zipfile.BadZipFile:
                raise ValidationFailed("file", N_("is not an XLSX file (save it from Excel "
                                                  "as .xlsx, or as CSV)")) from None
            unpacked = sum(p.file_size for p in parts)
            if len(parts) > MAX_PARTS or unpacked > MAX_UNCOMPRESSED:
                raise ValidationFailed("file", N_("unpacks to {mb:.0f} MB; at most {max_mb} MB"),
                                       mb=unpacked / 2**20, max_mb=MAX_UNCOMPRESSED // 2**20)
        else:
            lines = 0
            while chunk := f.read(1 << 20):
                lines += chunk.count(b"\n")
                if lines > MAX_LINES + 1:
                    raise _too_many_lines()
    finally:
        if isinstance(source, str | os.PathLike):
            f.close()
        else:
            f.seek(0)




def preview_file(path: str | os.PathLike, filename: str, rows: int = 5) -> tuple:
    """For a worker process (services.bounded): ("ok", headers, preview) or ("error",
    field, template, params) — our exceptions are not sent across as such."""
    try:
        headers, preview = read_preview(path, filename, rows=rows)
    except ValidationFailed as exc:
        return ("error", exc.field, exc.template, exc.params)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the person's to fix
        return ("error", "file", N_("cannot read it ({error})"),
                {"error": type(exc).__name__})
    return ("ok", headers, preview)
