"""Finding a list's header row, and where its data ends.

Communes write their headers in many ways ("Họ và tên", "HỌ VÀ TÊN", "Ho va ten", "Họ và\\ntên"),
often on two lines under a merged group cell ("Thông tin tài khoản" over "Ngân hàng" and "Số tài
khoản"); the one table of synonyms, cases/data/column_synonyms.csv, maps each, folded, to a field.
The header is the row (or pair of rows) among the first 30 that recognises the most fields and
every required one. Data rows follow, up to a total row or the signature block.
"""
from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from cases.search import fold_name

SYNONYMS_PATH = Path(__file__).resolve().parent.parent / "data" / "column_synonyms.csv"
HEADER_SEARCH_ROWS = 30
IGNORED_FIELDS = frozenset({"row_number"})     # recognised, so not reported as unknown, but not read
END_SEARCH_COLUMNS = 4                          # a total row says so in its first columns

_NOT_WORD = re.compile(r"[\W_]+")
_PARENTHESES = re.compile(r"\([^)]*\)")
_NUMBERING = re.compile(r"\(?\s*(?:\d{1,2}|[a-zA-Z])\s*\)?")
# "Tổng cộng", "Tổng cộng: 150", "Tổng cộng toàn xã", "Tổng số đối tượng: 150", "Cộng", "Tổng" — and
# not a person named "Tống Công Thành".
_TOTAL = re.compile(r"tong so\b.*|tong cong(?: (?:toan|xa|thon|cac)\b.*)?(?: \d.*)?|(?:tong|cong)(?: \d.*)?")
_SIGNATURE = re.compile(r"(?:nguoi lap|nguoi duyet|nguoi kiem tra|can bo lap|chu tich|pho chu tich|kt chu tich|"
                        r"t ?m ubnd|t ?m uy ban|tm |xac nhan|noi nhan|thu truong|ke toan|giam doc|pho giam doc|"
                        r"kt giam doc|lanh dao|ky ghi ro ho ten|ky ten)\b")
_DATE_LINE = re.compile(r"\bngay\b.*\bthang\b.*\bnam\b")


@lru_cache(maxsize=8192)       # a sheet repeats its words: "Nam", "Nữ", the same header in three candidates
def fold_header(text) -> str:
    """`text` as the synonym table is matched: `fold_name` (no diacritics, đ as d, lower case),
    with punctuation and line breaks as spaces ("Số CCCD/ĐDCN" -> "so cccd ddcn")."""
    return _NOT_WORD.sub(" ", fold_name(str(text))).strip()


@dataclass(frozen=True)
class Synonyms:
    """The synonym table: for each list, folded header → field, and each field's first header
    as written (to name it in a message)."""
    by_list: dict[str, dict[str, str]]
    labels: dict[str, dict[str, str]]

    def fields(self, list_name: str) -> frozenset[str]:
        return frozenset(self.by_list[list_name].values())

    def field(self, list_name: str, text: str) -> str | None:
        """The field `text` names in `list_name`, also with a trailing "(unit)" left out."""
        known = self.by_list[list_name]
        found = known.get(fold_header(text))
        if found is None and "(" in text:
            found = known.get(fold_header(_PARENTHESES.sub(" ", text)))
        return found


@cache
def synonyms() -> Synonyms:
    """The table, read once. :raise ValueError: a header names two fields of one list."""
    by_list: dict[str, dict[str, str]] = {}
    labels: dict[str, dict[str, str]] = {}
    with SYNONYMS_PATH.open(encoding="utf-8", newline="") as lines:
        for row in csv.DictReader(line for line in lines if not line.startswith("#")):
            known = by_list.setdefault(row["list"], {})
            key = fold_header(row["header"])
            if known.setdefault(key, row["field"]) != row["field"]:
                raise ValueError(f"column_synonyms.csv: {key!r} names both {known[key]} and {row['field']}")
            labels.setdefault(row["list"], {}).setdefault(row["field"], row["header"])
    return Synonyms(by_list, labels)


@dataclass(frozen=True)
class Header:
    rows: tuple[int, ...]          # 0-based indexes of the header row(s)
    texts: list[str]               # per column, as written (two lines joined by " / ")
    columns: dict[str, int]        # field → column index, row_number left out
    ignored: list[str]             # non-empty header texts not recognised (or a field named twice)
    found: frozenset[str]          # every field recognised, row_number included


def find_header(rows: list[list], list_name: str, required: frozenset[str],
                merged: list[tuple[tuple[int, int], tuple[int, int]]] | None = None) -> Header | None:
    """The best header among the first rows of a sheet, or None when no row or pair of rows
    recognises every `required` field. `merged` are the sheet's merged ranges, when known."""
    best: Header | None = None
    singles = [_single(i, row, list_name) for i, row in enumerate(rows[:HEADER_SEARCH_ROWS])]
    for i, single in enumerate(singles):
        candidates = [single]
        if i + 1 < len(rows):
            pair = _pair(i, rows[i], rows[i + 1], list_name, merged)
            below = singles[i + 1] if i + 1 < len(singles) else _single(i + 1, rows[i + 1], list_name)
            if len(pair.found) > max(len(single.found), len(below.found)):
                candidates.append(pair)
        for candidate in candidates:
            if required <= candidate.found and (best is None or len(candidate.found) > len(best.found)):
                best = candidate
    return best


def is_numbering_row(row: list) -> bool:
    """A column-numbering row under a header: "(1) (2) (3) ..." or "1 2 3 ...", "A B C ..."."""
    cells = [v for v in row if not _blank(v)]
    return len(cells) >= 2 and all(_NUMBERING.fullmatch(_text(v).strip()) for v in cells)


def is_blank_row(row: list) -> bool:
    """No cell holds anything but spaces (or a zero: a row of zeros is no one's data)."""
    for value in row:
        if value and not (isinstance(value, str) and value.isspace()):
            return False
    return True


def is_end_row(row: list) -> bool:
    """A total row ("Tổng cộng", "Cộng", "Tổng số" in the first columns) or the first line of the
    signature block ("Người lập biểu", "Chủ tịch", "TM. UBND", "..., ngày ... tháng ... năm ...":
    a row whose every filled cell is such a line). This runs on every data row, so a cell is
    folded only when it may be one of these words, and a data row is let go at its first cell."""
    for value in row[:END_SEARCH_COLUMNS]:
        if isinstance(value, str) and value.lstrip()[:1] in "TtCc" and _TOTAL.fullmatch(_quick_fold(value)):
            return True
    signed = False
    for value in row:
        if not value or isinstance(value, str) and value.isspace():
            continue
        if not isinstance(value, str) or not _is_signature(_quick_fold(value)):
            return False
        signed = True
    return signed


def _is_signature(folded: str) -> bool:
    return bool(_SIGNATURE.match(folded) or _DATE_LINE.search(folded))


def _quick_fold(text: str) -> str:
    """`fold_header` by a translation table: the same text for Vietnamese, ten times faster, for the
    checks that run on every data row."""
    return " ".join(text.translate(_fold_table()).split())


@cache
def _fold_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    for code in range(0x20, 0x2070):     # Latin letters with their marks, punctuation
        char = chr(code)
        if unicodedata.combining(char):
            table[code] = None
            continue
        plain = "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
        plain = plain.replace("đ", "d").replace("Đ", "d").lower()
        plain = "".join(c if c.isalnum() else " " for c in plain)
        if plain != char:
            table[code] = plain
    return table


# -- recognising a row, or a pair of rows

def _single(index: int, row: list, list_name: str) -> Header:
    texts = [" ".join(_text(v).split()) for v in row]
    return _recognise((index,), texts, [[t] for t in texts], list_name)


def _pair(index: int, upper: list, lower: list, list_name: str, merged) -> Header:
    """The two rows as one header: each column read as "group sub-header", else the sub-header
    alone, else the group alone. A group cell's text is carried over the columns it spans."""
    tops = _spread([" ".join(_text(v).split()) for v in upper], [" ".join(_text(v).split()) for v in lower],
                   index, merged)
    bottoms = [" ".join(_text(v).split()) for v in lower] + [""] * (len(tops) - len(lower))
    texts, tries = [], []
    for top, bottom in zip(tops, bottoms):
        parts = [p for p in (top, bottom) if p]
        texts.append(" / ".join(dict.fromkeys(parts)))
        tries.append([f"{top} {bottom}", bottom, top] if top and bottom else parts)
    return _recognise((index, index + 1), texts, tries, list_name)


def _spread(tops: list[str], bottoms: list[str], index: int, merged) -> list[str]:
    """Upper texts with each merged group cell's text copied over the columns it covers; where the
    merges are not known (.ods), over the empty upper cells to its right that have a sub-header."""
    tops = list(tops)
    for (first_row, first_col), (_last_row, last_col) in merged or ():
        if first_row == index and last_col > first_col and first_col < len(tops):
            for col in range(first_col + 1, min(last_col + 1, len(tops))):
                tops[col] = tops[col] or tops[first_col]
    for col in range(1, len(tops)):
        if not tops[col] and col < len(bottoms) and bottoms[col] and tops[col - 1]:
            tops[col] = tops[col - 1]
    return tops


def _recognise(rows: tuple[int, ...], texts: list[str], tries: list[list[str]], list_name: str) -> Header:
    table = synonyms()
    columns: dict[str, int] = {}
    found: set[str] = set()
    ignored: list[str] = []
    for col, (text, attempts) in enumerate(zip(texts, tries)):
        field = next((f for f in (table.field(list_name, a) for a in attempts if a) if f), None)
        if field is None or field in found:
            if text:
                ignored.append(text)
            continue
        found.add(field)
        if field not in IGNORED_FIELDS:
            columns[field] = col
    return Header(rows, texts, columns, ignored, frozenset(found))


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _blank(value) -> bool:
    return value is None or value == "" or isinstance(value, str) and not value.strip()
