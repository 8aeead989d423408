"""The checks on an upload's bytes, before any parser: each attack or wrong file is refused with
its Vietnamese message, and calamine is never reached."""
from __future__ import annotations

import io
import struct
import zipfile

import pytest

from cases.sheets import reader, safety
from cases.sheets.reader import read_table
from cases.sheets.safety import MB, UnsafeFile, check_file, require_defusedxml
from tests.test_sheets_reader import FIXTURES, MERGES, MESS, REQUIRED, _with_filepass, ods, xlsx

CONTENT_TYPES = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                 'content-types"><Override PartName="/{part}" ContentType="{kind}"/></Types>')
XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
XLSB_MAIN = "application/vnd.ms-excel.sheet.binary.macroEnabled.main"


@pytest.fixture
def calamine_unreachable(monkeypatch):
    """Fail the test if the reader gets as far as calamine."""
    class Unreachable:
        @staticmethod
        def from_filelike(*args, **kwargs):
            pytest.fail("calamine was called on a file the safety checks should have refused")
    monkeypatch.setattr(reader, "CalamineWorkbook", Unreachable)


def refused(data: bytes, filename: str = "danh-sach.xlsx", **kwargs) -> str:
    """check_file's refusal, and the same refusal from read_table before calamine is reached."""
    with pytest.raises(UnsafeFile) as caught:
        check_file(data, filename, **kwargs)
    with pytest.raises(UnsafeFile) as again:
        read_table(data, filename, "beneficiaries", REQUIRED, kwargs.get("max_bytes"))
    assert again.value.message == caught.value.message
    return caught.value.message


def zip_of(parts: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return out.getvalue()


def with_part(data: bytes, part: str, content: bytes) -> bytes:
    """The zip `data` with `part` replaced (or added)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    parts = {info.filename: source.read(info.filename) for info in source.infolist()}
    return zip_of(parts | {part: content})


def declare_size(data: bytes, part: str, size: int) -> bytes:
    """The zip with `part`'s uncompressed size rewritten to `size` in its local and central headers
    (a lying header: the content is unchanged)."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    info = archive.getinfo(part)
    patched = bytearray(data)
    struct.pack_into("<I", patched, info.header_offset + 22, size)
    central = patched.find(b"PK\x01\x02", archive.start_dir)
    while central != -1:
        name_length, = struct.unpack_from("<H", patched, central + 28)
        if patched[central + 46:central + 46 + name_length].decode() == part:
            struct.pack_into("<I", patched, central + 24, size)
            break
        central = patched.find(b"PK\x01\x02", central + 4)
    assert zipfile.ZipFile(io.BytesIO(bytes(patched))).getinfo(part).file_size == size
    return bytes(patched)


def compound_file(streams: dict[str, bytes]) -> bytes:
    """A minimal OLE2 compound file (512-byte sectors): the FAT, one directory sector, then each
    stream (4 KiB or more, so in regular sectors)."""
    sector = 512
    names = list(streams)
    assert len(names) <= 3 and all(len(s) >= 4096 and len(s) % sector == 0 for s in streams.values())
    data_sectors, starts = [], []
    next_free = 2                                           # 0: FAT, 1: directory
    for name in names:
        starts.append(next_free)
        count = len(streams[name]) // sector
        data_sectors.append(count)
        next_free += count
    fat = [0xFFFFFFFD, 0xFFFFFFFE]                          # the FAT sector itself, then the directory
    for start, count in zip(starts, data_sectors):
        fat += [start + i + 1 for i in range(count - 1)] + [0xFFFFFFFE]
    fat += [0xFFFFFFFF] * (128 - len(fat))
    header = bytearray(512)
    header[0:8] = bytes.fromhex("d0cf11e0a1b11ae1")
    struct.pack_into("<HHHH", header, 24, 0x3E, 3, 0xFFFE, 9)
    struct.pack_into("<H", header, 32, 6)
    struct.pack_into("<IIIII", header, 44, 1, 1, 0, 4096, 0xFFFFFFFE)   # FAT sectors, directory, -, cutoff, mini FAT
    struct.pack_into("<III", header, 64, 0, 0xFFFFFFFE, 0)                # mini FAT count, DIFAT start, count
    struct.pack_into("<109I", header, 76, 0, *[0xFFFFFFFF] * 108)
    directory = bytearray()
    for n, (name, kind, start, size) in enumerate([("Root Entry", 5, 0xFFFFFFFE, 0)] + [
            (name, 2, start, len(streams[name])) for name, start in zip(names, starts)]):
        entry = bytearray(128)
        encoded = name.encode("utf-16-le") + b"\x00\x00"
        entry[0:len(encoded)] = encoded
        struct.pack_into("<HBB", entry, 64, len(encoded), kind, 1)
        struct.pack_into("<III", entry, 68, 0xFFFFFFFF, n + 1 if 0 < n < len(names) else 0xFFFFFFFF,
                         1 if n == 0 else 0xFFFFFFFF)
        struct.pack_into("<II", entry, 116, start, size)
        directory += entry
    directory += bytes(512 - len(directory))
    return bytes(header) + struct.pack("<128I", *fat) + bytes(directory) + b"".join(streams.values())


# -- what passes, by content

def test_spreadsheets_are_recognised_by_their_content_not_their_name():
    assert check_file(xlsx(MESS, MERGES), "danh-sach.xlsx") == "xlsx"
    assert check_file(xlsx(MESS, MERGES), "danh-sach.xls") == "xlsx"        # an .xlsx renamed .xls
    assert check_file(ods(MESS, MERGES), "danh-sach.xlsx") == "ods"
    assert check_file((FIXTURES / "messy-list.xls").read_bytes(), "danh-sach.xlsx") == "xls"


# -- what is refused

def test_an_empty_file_is_refused(calamine_unreachable):
    assert refused(b"", "trong.xlsx") == "Tệp «trong.xlsx» trống, không có gì để đọc."


def test_a_file_over_the_limit_is_refused_saying_the_limit_in_mb(calamine_unreachable):
    assert "quá giới hạn 25 MB" in refused(b"PK\x03\x04" + bytes(25 * MB), "lon.xlsx")
    assert "quá giới hạn 2 MB" in refused(xlsx(MESS) + bytes(2 * MB), "lon.xlsx", max_bytes=2 * MB)


@pytest.mark.parametrize("data, expected", [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "không phải là bảng tính"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10", "không phải là bảng tính"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "không phải là bảng tính"),
    ("STT,Họ và tên,Ngày sinh\n1,Hoàng Văn Thụ,02/03/1950\n".encode(), "là văn bản thuần"),
    (b"<html><body><table><tr><td>1</td></tr></table></body></html>", "là văn bản thuần"),
])
def test_files_that_are_not_spreadsheets_are_refused(calamine_unreachable, data, expected):
    assert expected in refused(data)


def test_a_word_document_is_not_a_spreadsheet(calamine_unreachable):
    docx = zip_of({"[Content_Types].xml": CONTENT_TYPES.format(part="word/document.xml", kind=DOCX_MAIN).encode(),
                   "word/document.xml": b"<w:document/>"})
    doc = compound_file({"WordDocument": bytes(4096)})

    assert "không phải là bảng tính" in refused(docx, "danh-sach.docx")
    assert "không phải là bảng tính" in refused(doc, "danh-sach.xls")


def test_a_binary_xlsb_is_refused_with_a_way_out(calamine_unreachable):
    xlsb = zip_of({"[Content_Types].xml": CONTENT_TYPES.format(part="xl/workbook.bin", kind=XLSB_MAIN).encode(),
                   "xl/workbook.bin": bytes(100)})

    assert "lưu lại thành .xlsx" in refused(xlsb, "a.xlsb")


def test_an_encrypted_xlsx_is_refused_as_password_protected(calamine_unreachable):
    encrypted = compound_file({"EncryptionInfo": bytes(4096), "EncryptedPackage": bytes(8192)})

    assert "được đặt mật khẩu" in refused(encrypted, "mat-khau.xlsx")


def test_a_password_protected_xls_is_refused_by_its_filepass_record(calamine_unreachable):
    protected = _with_filepass((FIXTURES / "messy-list.xls").read_bytes())

    assert "được đặt mật khẩu" in refused(protected, "mat-khau.xls")


def test_a_zip_with_a_password_is_refused(calamine_unreachable):
    data = bytearray(xlsx(MESS))
    archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
    for info in archive.infolist():                        # set the "encrypted" flag in every header
        data[info.header_offset + 6] |= 1
    central = archive.start_dir
    while (central := bytes(data).find(b"PK\x01\x02", central)) != -1:
        data[central + 8] |= 1
        central += 4

    assert "được đặt mật khẩu" in refused(bytes(data))


def test_a_damaged_zip_is_refused(calamine_unreachable):
    assert "bị hỏng" in refused(xlsx(MESS)[:-200])


# -- zip bombs

def test_a_zip_bomb_by_its_declared_ratio_is_refused(calamine_unreachable):
    bomb = with_part(xlsx(MESS), "xl/worksheets/sheet1.xml", b" " * (3 * MB))

    assert "có thể là tệp độc hại" in refused(bomb)


def test_a_zip_bomb_by_its_declared_total_size_is_refused(calamine_unreachable):
    data = with_part(xlsx(MESS), "xl/media/padding.bin", bytes(1000))
    lying = declare_size(data, "xl/media/padding.bin", 401 * MB)

    assert "có thể là tệp độc hại" in refused(lying)


def test_a_zip_with_too_many_entries_is_refused(calamine_unreachable):
    source = zipfile.ZipFile(io.BytesIO(xlsx(MESS)))
    parts = {info.filename: source.read(info.filename) for info in source.infolist()}
    crowded = zip_of(parts | {f"xl/media/{n}.txt": b"" for n in range(10_001)}, zipfile.ZIP_STORED)

    assert "có thể là tệp độc hại" in refused(crowded)


def test_a_zip_bomb_whose_headers_lie_is_caught_while_expanding(calamine_unreachable):
    bomb = with_part(xlsx(MESS), "xl/worksheets/sheet1.xml", b" " * (50 * MB))
    compressed = zipfile.ZipFile(io.BytesIO(bomb)).getinfo("xl/worksheets/sheet1.xml").compress_size
    lying = declare_size(bomb, "xl/worksheets/sheet1.xml", compressed * 2)   # ratio 2, under 1 MB
    safety._check_declared(zipfile.ZipFile(io.BytesIO(lying)).infolist(), "a.xlsx")  # the headers alone pass

    assert "có thể là tệp độc hại" in refused(lying)


def test_a_header_that_claims_more_than_the_part_holds_is_refused(calamine_unreachable):
    data = xlsx(MESS)
    size = zipfile.ZipFile(io.BytesIO(data)).getinfo("xl/styles.xml").file_size

    assert "có thể là tệp độc hại" in refused(declare_size(data, "xl/styles.xml", size + 10))


# -- DTDs: billion laughs and external entities

LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
          + b"".join(b'<!ENTITY lol%d "%s">' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10)
                     for n in range(1, 10))
          + b']><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
            b"<si><t>&lol9;</t></si></sst>")
XXE = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<!doctype worksheet [<!ENTITY xxe SYSTEM '
       b'"file:///etc/passwd">]><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
       b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&xxe;</t></is></c></row></sheetData></worksheet>')


@pytest.mark.parametrize("part, content", [
    ("xl/sharedStrings.xml", LAUGHS),
    ("xl/worksheets/sheet1.xml", XXE),
    ("xl/worksheets/sheet1.xml", XXE.decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")),
    ("xl/worksheets/_rels/sheet1.xml.rels", b'<?xml version="1.0"?>\n<!DOCTYPE r SYSTEM "http://example.org/r.dtd"><r/>'),
    ("xl/worksheets/sheet1.dat", XXE),                   # a part need not be named .xml to be parsed as XML
])
def test_an_xml_part_declaring_a_dtd_is_refused(calamine_unreachable, part, content):
    message = refused(with_part(xlsx(MESS), part, content))

    assert "có khai báo DTD/ENTITY trong XML" in message


def test_a_dtd_split_across_two_read_chunks_is_still_found(calamine_unreachable, monkeypatch):
    monkeypatch.setattr(safety, "CHUNK", 64)
    padded = b'<?xml version="1.0"?>' + b" " * (64 - 21 - 3) + XXE[XXE.index(b"<!doctype"):]

    assert "DTD/ENTITY" in refused(with_part(xlsx(MESS), "xl/worksheets/sheet1.xml", padded))


def test_require_defusedxml_passes_with_defusedxml_installed_and_fails_without(monkeypatch):
    require_defusedxml()

    from openpyxl import xml
    monkeypatch.setattr(xml, "DEFUSEDXML", False)
    with pytest.raises(RuntimeError, match="defusedxml"):
        require_defusedxml()



FAR_SHEET = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
             b'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>STT</t></is></c>'
             b'</row><row r="1048576"><c s="0" r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>')


@pytest.mark.parametrize("content", [
    FAR_SHEET,
    # The far column and the far row in two cells: the grid is their product all the same.
    FAR_SHEET.replace(b'r="XFD1048576"', b'r="A1048576"').replace(b'<c r="A1"', b'<c r="XFD1"'),
])
def test_a_sheet_whose_cells_span_a_huge_grid_is_refused_before_calamine(calamine_unreachable, content):
    # calamine would allocate the whole grid, A1 to the farthest cell, and abort the process.
    data = with_part(xlsx(MESS), "xl/worksheets/sheet1.xml", content)
    assert len(data) < 20_000
    assert "có ô ở quá xa" in refused(data)


def test_a_wide_list_of_many_rows_is_measured_not_refused():
    cells = b"".join(b'<row r="%d">%s</row>' % (n, b"".join(b'<c r="%s%d"><v>1</v></c>' % (col, n) for col in (b"A", b"AD")))
                     for n in range(1, 200_001, 1000))
    sheet = FAR_SHEET.split(b"<sheetData>")[0] + b"<sheetData>" + cells + b"</sheetData></worksheet>"
    assert check_file(with_part(xlsx(MESS), "xl/worksheets/sheet1.xml", sheet), "rong.xlsx") == "xlsx"
