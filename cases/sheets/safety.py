"""The checks an uploaded file passes before any parser sees it, on its bytes alone.

The format comes from the content (zip parts, the OLE2 directory), never from the file's name: a
list saved as .xls by one program is often an .xlsx, or a web page, underneath. A zip is opened
entry by entry with a cap on what it may expand to, since the sizes in its headers can lie; and
no XML part may declare a DTD (a spreadsheet never needs one), which refuses billion-laughs and
external entities before any XML parser is reached.
"""
from __future__ import annotations

import copy
import io
import re
import struct
import zipfile
import zlib

from babel.numbers import format_decimal
from flask_babel import get_locale, gettext as _

from cases.errors import DomainError

MB = 1024 * 1024
MAX_UPLOAD_BYTES = 25 * MB
MAX_ENTRIES = 10_000
MAX_UNCOMPRESSED = 400 * MB
MAX_RATIO = 200                 # uncompressed / compressed, for an entry of more than RATIO_FLOOR
RATIO_FLOOR = 1 * MB
CHUNK = 1 * MB

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
CFB_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
# A DTD starts "<!DOCTYPE"; an entity is declared "<!ENTITY" (inside one). XML may be stored as
# UTF-8 or UTF-16 in either byte order: the part's first bytes say which.
_DTD_WORDS = (b"DOCTYPE", b"ENTITY")
_OVERLAP = 2 * len("<!DOCTYPE")    # bytes kept from one chunk for the next (UTF-16: two a letter)
# (also longer than a cell reference's opening, `<c r="XFD1048576"`: the grid probes see across chunks)
_OOXML_SPREADSHEET = re.compile(
    rb'ContentType="application/vnd\.(?:openxmlformats-officedocument\.spreadsheetml\.(?:sheet|template)'
    rb'|ms-excel\.(?:sheet|template)\.macroEnabled)\.main\+xml"')
_OOXML_BINARY = b"application/vnd.ms-excel.sheet.binary.macroEnabled.main"
_ODS_MIMETYPES = (b"application/vnd.oasis.opendocument.spreadsheet",
                  b"application/vnd.oasis.opendocument.spreadsheet-template")
_KEPT = ("[Content_Types].xml", "mimetype")   # small parts whose content tells the format


class UnsafeFile(DomainError):
    """The upload is refused before it is parsed: empty, too big, not a spreadsheet, protected by a
    password, or built to harm the reader. The message says which, for the screen."""


def check_file(data: bytes, filename: str, max_bytes: int = MAX_UPLOAD_BYTES) -> str:
    """The spreadsheet format of `data` ("xlsx", "xls" or "ods"), decided by its content.

    :raise UnsafeFile: empty; larger than `max_bytes`; not a spreadsheet; password-protected; a zip
        bomb (too many entries, too large once expanded, too compressed, or sizes that lie); an XML
        part that declares a DTD or an entity.
    """
    if not data:
        raise UnsafeFile(_("Tệp «%(name)s» trống, không có gì để đọc.", name=filename))
    if len(data) > max_bytes:
        raise UnsafeFile(_("Tệp «%(name)s» nặng %(size)s MB, quá giới hạn %(limit)s MB.",
                           name=filename, size=_megabytes(len(data)), limit=_megabytes(max_bytes)))
    if data.startswith(ZIP_MAGIC):
        return _zip_format(data, filename)
    if data.startswith(CFB_MAGIC):
        return _ole_format(data, filename)
    raise _not_a_spreadsheet(filename, data)


def require_defusedxml() -> None:
    """Refuse to run when openpyxl would parse XML without defusedxml.

    :raise RuntimeError: defusedxml is not installed (or openpyxl did not find it).
    """
    from openpyxl import xml
    if not xml.DEFUSEDXML:
        raise RuntimeError("openpyxl reads XML without defusedxml: install defusedxml (requirements.txt)")


def _megabytes(size: int) -> str:
    return format_decimal(round(size / MB, 1), locale=get_locale() or "vi")


def _not_a_spreadsheet(filename: str, data: bytes = b"") -> UnsafeFile:
    """The refusal of a file that is no spreadsheet; `data` given when it may be plain text."""
    if data and b"\x00" not in data[:4096] and not data.startswith(b"%PDF"):
        try:
            data[:4096].decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return UnsafeFile(_("Tệp «%(name)s» là văn bản thuần (CSV hoặc trang web), không phải bảng tính: hãy mở "
                                "bằng Excel rồi lưu lại thành .xlsx.", name=filename))
    return UnsafeFile(_("Tệp «%(name)s» không phải là bảng tính: chỉ nhận tệp Excel (.xlsx, .xls) hoặc "
                        "LibreOffice (.ods).", name=filename))


def _damaged(filename: str) -> UnsafeFile:
    return UnsafeFile(_("Tệp «%(name)s» bị hỏng, không đọc được: hãy mở bằng Excel, lưu lại rồi tải lên lần nữa.",
                        name=filename))


def password_protected(filename: str) -> UnsafeFile:
    return UnsafeFile(_("Tệp «%(name)s» được đặt mật khẩu: hãy mở bằng Excel, bỏ mật khẩu rồi tải lên lần nữa.",
                        name=filename))


def _bomb(filename: str) -> UnsafeFile:
    return UnsafeFile(_("Tệp «%(name)s» bị từ chối: phần nén bên trong bất thường (quá nhiều phần, bung ra quá lớn "
                        "hoặc khai sai kích thước), có thể là tệp độc hại.", name=filename))


# -- zip: .xlsx and .ods

def _zip_format(data: bytes, filename: str) -> str:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
        _check_declared(entries, filename)
        kept = _expand_all(archive, entries, filename)
    except UnsafeFile:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError, NotImplementedError):
        raise _damaged(filename) from None
    return _zip_kind(kept, {e.filename for e in entries}, filename)


def _check_declared(entries: list[zipfile.ZipInfo], filename: str) -> None:
    if len(entries) > MAX_ENTRIES or sum(e.file_size for e in entries) > MAX_UNCOMPRESSED:
        raise _bomb(filename)
    for entry in entries:
        if entry.file_size > RATIO_FLOOR and entry.file_size > MAX_RATIO * max(entry.compress_size, 1):
            raise _bomb(filename)
        if entry.flag_bits & 0x1:
            raise password_protected(filename)
        if entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _damaged(filename)   # Excel and LibreOffice write nothing else


def _expand_all(archive: zipfile.ZipFile, entries: list[zipfile.ZipInfo], filename: str) -> dict[str, bytes]:
    """Expand every entry with a cap, whatever its header declares; refuse a DTD anywhere (a part
    need not be named .xml to be parsed as XML), and a sheet whose cells span too large a grid.
    Returns the small parts that tell the format."""
    budget, kept = MAX_UNCOMPRESSED, {}
    for entry in entries:
        grid = _Grid() if _WORKSHEET.match(entry.filename) else None
        size = _expand(archive, entry, budget, kept, filename, grid)
        if size != entry.file_size or size > RATIO_FLOOR and size > MAX_RATIO * max(entry.compress_size, 1):
            raise _bomb(filename)
        if grid is not None and grid.too_large(archive, entry):
            raise UnsafeFile(_("Tệp «%(name)s» bị từ chối: một trang tính có ô ở quá xa (vùng dữ liệu quá "
                               "%(n)s ô), có thể là tệp độc hại. Hãy chép danh sách sang một tệp mới rồi tải lên.",
                               name=filename, n=format_decimal(MAX_GRID_CELLS, locale=get_locale() or "vi")))
        budget -= size
    return kept


# python-calamine builds a sheet's whole grid, from A1 to its farthest cell, before handing over a
# row: one cell at XFD1048576 in a 5 KB file asks for hundreds of gigabytes, and the Rust code
# aborts the process — no Python exception to catch. So the cell references of every worksheet
# part are bounded first. Cheap searches give a bound (columns past Z? past ZZ? rows of 6 or 7
# digits?); only when that bound passes the limit (a wide list of many rows) is the part read
# again and every reference measured.
MAX_GRID_CELLS = 30_000_000
_WORKSHEET = re.compile(r"xl/worksheets/[^/]+\.xml$")
_REF = re.compile(rb' r="([A-Z]{1,3})([0-9]{1,7})"')
_PROBES = ((re.compile(rb' r="[A-Z]{3}[0-9]'), "cols", 16_384), (re.compile(rb' r="[A-Z]{2}[0-9]'), "cols", 702),
           (re.compile(rb' r="[A-Z]{0,3}[0-9]{7}'), "rows", 9_999_999),
           (re.compile(rb' r="[A-Z]{0,3}[0-9]{6}'), "rows", 999_999))


class _Grid:
    def __init__(self):
        self.cols, self.rows = 26, 99_999

    def see(self, window: bytes) -> None:
        for probe, axis, bound in _PROBES:
            if getattr(self, axis) < bound and probe.search(window):
                setattr(self, axis, bound)

    def too_large(self, archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> bool:
        if self.cols * self.rows <= MAX_GRID_CELLS:
            return False
        cols = rows = 0
        with archive.open(entry) as part:    # its size was checked on the way in
            for letters, digits in _REF.findall(part.read()):
                col = 0
                for letter in letters:
                    col = col * 26 + letter - 64
                cols, rows = max(cols, col), max(rows, int(digits))
        return cols * rows > MAX_GRID_CELLS


def _expand(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, budget: int, kept: dict[str, bytes],
            filename: str, grid: _Grid | None = None) -> int:
    capped = copy.copy(entry)
    capped.file_size = budget + 1      # the reader then stops at the cap, not at the declared size
    size, tail, codec = 0, b"", None
    with archive.open(capped) as part:
        while chunk := part.read(CHUNK):
            size += len(chunk)
            if size > budget:
                raise _bomb(filename)
            codec = codec or _xml_codec(chunk)
            window = tail + chunk
            if _declares_dtd(window, codec):
                raise UnsafeFile(_("Tệp «%(name)s» bị từ chối: có khai báo DTD/ENTITY trong XML, điều mà bảng tính "
                                   "không bao giờ cần (dấu hiệu tệp độc hại).", name=filename))
            if grid is not None:
                grid.see(window)
            tail = window[-_OVERLAP:]
            if entry.filename in _KEPT and size <= CHUNK:
                kept[entry.filename] = kept.get(entry.filename, b"") + chunk
    return size


def _xml_codec(start: bytes) -> str:
    if start.startswith((b"\xff\xfe", b"<\x00")):
        return "utf-16-le"
    if start.startswith((b"\xfe\xff", b"\x00<")):
        return "utf-16-be"
    return "utf-8"


def _declares_dtd(window: bytes, codec: str) -> bool:
    """Whether `window` holds "<!DOCTYPE" or "<!ENTITY" (any case). The search is for the byte "!",
    which sheet XML hardly ever contains (a one-byte search is the fastest there is: this runs over
    every byte of parts of a hundred megabytes)."""
    if codec != "utf-8":
        window = window.decode(codec, "ignore").encode()
    found = window.find(b"!")
    while found != -1:
        if window[found - 1:found] == b"<" and window[found + 1:found + 8].upper().startswith(_DTD_WORDS):
            return True
        found = window.find(b"!", found + 1)
    return False


def _zip_kind(kept: dict[str, bytes], names: set[str], filename: str) -> str:
    mimetype = kept.get("mimetype", b"").strip()
    if mimetype in _ODS_MIMETYPES and "content.xml" in names:
        return "ods"
    types = kept.get("[Content_Types].xml", b"")
    if _OOXML_SPREADSHEET.search(types):
        return "xlsx"
    if _OOXML_BINARY in types:
        raise UnsafeFile(_("Tệp «%(name)s» là bảng tính nhị phân (.xlsb), chưa đọc được: hãy mở bằng Excel rồi lưu lại "
                           "thành .xlsx.", name=filename))
    raise _not_a_spreadsheet(filename)


# -- OLE2 compound file: .xls, or an encrypted .xlsx

FREE, END_OF_CHAIN = 0xFFFFFFFF, 0xFFFFFFFE
_BIFF_BOF, _BIFF_FILEPASS = 0x0809, 0x002F


def _ole_format(data: bytes, filename: str) -> str:
    try:
        streams = _ole_streams(data)
    except (struct.error, IndexError, ValueError):
        raise _damaged(filename) from None
    if "encryptedpackage" in streams:
        raise password_protected(filename)           # an encrypted .xlsx travels inside an OLE2 file
    book = streams.get("workbook") or streams.get("book")
    if book is None:
        raise _not_a_spreadsheet(filename)
    if _biff_has_filepass(data, book):
        raise password_protected(filename)
    return "xls"


def _ole_streams(data: bytes) -> dict[str, tuple[int, int, int]]:
    """The streams of an OLE2 compound file: lower-cased name → (first sector, size, sector size)."""
    shift, = struct.unpack_from("<H", data, 30)
    if shift not in (9, 12):
        raise ValueError("unknown sector size")
    sector = 1 << shift
    first_dir, = struct.unpack_from("<I", data, 48)
    fat = _ole_fat(data, sector)
    streams, sid, seen = {}, first_dir, set()
    while sid < len(fat) and sid not in seen:
        seen.add(sid)
        base = (sid + 1) * sector
        for offset in range(base, base + sector, 128):
            name_length, kind = struct.unpack_from("<HB", data, offset + 64)
            if kind == 2 and 2 <= name_length <= 64:
                name = data[offset:offset + name_length - 2].decode("utf-16-le", "replace").lower()
                start, size = struct.unpack_from("<II", data, offset + 116)
                streams[name] = (start, size, sector)
        sid = fat[sid]
    return streams


def _ole_fat(data: bytes, sector: int) -> list[int]:
    """The sector allocation table, gathered from the header's list and the chain that extends it."""
    sectors_in_file = len(data) // sector
    fat_sectors = [s for s in struct.unpack_from("<109I", data, 76) if s < sectors_in_file]
    next_difat, = struct.unpack_from("<I", data, 68)
    per_sector = sector // 4
    for _hop in range(sectors_in_file):      # a chain longer than the file loops
        if next_difat >= sectors_in_file:
            break
        ids = struct.unpack_from(f"<{per_sector}I", data, (next_difat + 1) * sector)
        fat_sectors += [s for s in ids[:-1] if s < sectors_in_file]
        next_difat = ids[-1]
    fat: list[int] = []
    for s in fat_sectors:
        fat += struct.unpack_from(f"<{per_sector}I", data, (s + 1) * sector)
    return fat


def _biff_has_filepass(data: bytes, stream: tuple[int, int, int]) -> bool:
    """Whether the workbook stream declares encryption: a FILEPASS record among the first records,
    right after BOF. Only a stream in regular sectors (4 KiB or more, as every real one) is read."""
    start, size, sector = stream
    if size < 4096:
        return False
    first = data[(start + 1) * sector:(start + 2) * sector]
    offset = 0
    while offset + 4 <= len(first):
        kind, length = struct.unpack_from("<HH", first, offset)
        if kind == _BIFF_FILEPASS:
            return True
        if offset == 0 and kind != _BIFF_BOF:
            return False
        offset += 4 + length
    return False
