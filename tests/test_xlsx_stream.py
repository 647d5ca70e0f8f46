"""services.xlsx_stream (issue 19): an XLSX sheet read by a streaming expat parser
gives the very rows openpyxl's read-only mode gives (what the import read before), and
memory does not grow with the number of rows."""

from __future__ import annotations

import datetime
import io
import tracemalloc
import zipfile

from openpyxl import Workbook, load_workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from services.tabular import Table
from services.xlsx_stream import XlsxBook

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def openpyxl_rows(data: bytes) -> list[list]:
    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        ws = wb.active
        ws.reset_dimensions()
        return [list(r) for r in ws.iter_rows(values_only=True)]
    finally:
        wb.close()


def stream_rows(data: bytes) -> list[list]:
    book = XlsxBook(io.BytesIO(data))
    try:
        return [list(r) for r in book.rows()]
    finally:
        book.close()


def saved(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def with_parts(base: bytes, sheet_xml: str, shared_strings: str | None = None) -> bytes:
    """``base`` with its first sheet replaced (and a shared strings part added)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = sheet_xml.encode()
            elif shared_strings and item.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" '
                                    b'ContentType="application/vnd.openxmlformats-officedocument.'
                                    b'spreadsheetml.sharedStrings+xml"/></Types>')
            elif shared_strings and item.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", b'<Relationship Id="rIdS" Type="http://'
                                    b'schemas.openxmlformats.org/officeDocument/2006/relationships/'
                                    b'sharedStrings" Target="sharedStrings.xml"/></Relationships>')
            zout.writestr(item, data)
        if shared_strings:
            zout.writestr("xl/sharedStrings.xml", shared_strings)
    return out.getvalue()


def test_cells_of_every_kind_read_as_openpyxl_reads_them():
    wb = Workbook()
    ws = wb.active
    ws.append(["Название", "ИНН", "Дата", "Число", "Флаг", None, "Время"])
    ws.append(["ООО «Ромашка»", 7707083893, datetime.date(2024, 1, 5), 3.5, True, None,
               datetime.time(10, 30)])
    ws.append([None])
    ws["A6"], ws["E6"] = "after a gap", "=1+1"
    ws["C6"] = datetime.datetime(2024, 2, 29, 13, 45, 10)
    ws["A7"], ws["B7"], ws["D7"], ws["F7"] = "  spaced  ", -0.0, 1e20, "'=cmd"
    ws["A8"], ws["B8"], ws["C8"] = datetime.timedelta(hours=30), False, 12
    ws.cell(row=9, column=30, value="far")
    ws["A10"] = CellRichText(["plain ", TextBlock(InlineFont(b=True), "bold")])
    data = saved(wb)
    assert stream_rows(data) == openpyxl_rows(data)
    assert stream_rows(data)[1][:5] == ["ООО «Ромашка»", 7707083893,
                                        datetime.datetime(2024, 1, 5), 3.5, True]


def test_the_active_sheet_is_read():
    wb = Workbook()
    wb.create_sheet("Second").append(["x", 1])
    wb.active = 1
    data = saved(wb)
    assert stream_rows(data) == openpyxl_rows(data) == [["x", 1]]


def test_hand_written_xml_without_references_with_shared_strings_and_prefixes():
    """Rows and cells without ``r``, rows out of order, phonetic runs, errors, formula
    results, ISO dates, entities, a prefixed namespace: as openpyxl reads them."""
    base = saved(Workbook())
    sst = (f'<sst xmlns="{MAIN}" count="2" uniqueCount="2"><si><t>first_x005F_x</t></si>'
           '<si><r><t>rich </t></r><r><rPr><b/></rPr><t>two</t></r>'
           '<rPh sb="0" eb="1"><t>ph</t></rPh></si></sst>')
    sheet = (
        f'<worksheet xmlns="{MAIN}"><sheetData>'
        '<row><c t="s"><v>1</v></c><c t="inlineStr"><is><t>in</t><r><t>line</t></r>'
        '<rPh sb="0" eb="1"><t>PH</t></rPh></is></c><c><v>5</v></c></row>'
        '<row><c/><c t="e"><v>#N/A</v></c><c t="str"><f>A1</f><v>txt</v></c>'
        '<c t="b"><v>1</v></c></row>'
        '<row r="5"><c r="C5" t="d"><v>2024-03-01T10:00:00</v></c><c r="B5"><v>2</v></c></row>'
        '<row r="4"><c r="A4"><v>9</v></c></row>'
        '<row r="7" spans="1:2" ht="20" customHeight="1"><c r="A7" t="inlineStr"><is>'
        '<t xml:space="preserve">  a &amp; b &lt;c&gt;  </t></is></c><c r="B7" t="inlineStr"/>'
        '<c r="C7"><v></v></c><c r="D7" t="s"><v>0</v></c></row></sheetData></worksheet>')
    data = with_parts(base, sheet, sst)
    assert stream_rows(data) == openpyxl_rows(data)
    assert stream_rows(data)[0] == ["rich two", "inline", 5]
    prefixed = (f'<x:worksheet xmlns:x="{MAIN}"><x:dimension ref="A1:B3"/><x:sheetData>'
                '<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>p</x:t></x:is></x:c>'
                '<x:c r="B1"><x:v>1.50</x:v></x:c></x:row><x:row r="3"><x:c r="B3">'
                '<x:v>1E3</x:v></x:c></x:row></x:sheetData></x:worksheet>')
    data = with_parts(base, prefixed)
    assert stream_rows(data) == openpyxl_rows(data) == [["p", 1.5], [], [None, 1000.0]]


def test_the_declared_size_is_only_the_progress_estimate():
    base = saved(Workbook())
    sheet = (f'<worksheet xmlns="{MAIN}"><dimension ref="A1:C50000"/><sheetData>'
             '<row r="1"><c r="A1" t="inlineStr"><is><t>Name</t></is></c></row>'
             '<row r="2"><c r="A2" t="inlineStr"><is><t>Acme</t></is></c></row>'
             '</sheetData></worksheet>')
    with Table(with_parts(base, sheet), "a.xlsx") as table:
        rows = list(table.rows())
        assert table.total_estimate == 49_999
    assert rows == [["Name"], ["Acme"]]


def _peak_reading(rows: int) -> int:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet()
    for n in range(rows):
        ws.append([f"Клиент {n}", f"+7 916 {n:07d}", f"office{n}@client.ru", n, "x" * 40])
    data = saved(wb)
    tracemalloc.start()
    try:
        with Table(data, "big.xlsx") as table:
            count = sum(1 for _ in table.rows())
        return tracemalloc.get_traced_memory()[1] if count == rows else -1
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_rows():
    small, large = _peak_reading(1_000), _peak_reading(8_000)
    assert 0 < large < small * 1.5 + 256 * 1024, (small, large)
