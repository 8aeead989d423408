"""Files to try the lists on, written by `flask demo load` beside the database (issue 16):

- Bình Gia's own beneficiary list as a commune keeps it: the national heading, a title in merged
  cells, a two-line header, ID numbers typed as numbers (their leading zero lost), dates as text,
  as dates or a bare year, a numbering row, a total and signatures — with new people, people the
  demo already has (left unchanged), two rows sharing an ID number, an ID number disagreeing with
  the birth year, a child under an elderly category, a row without a name, a village the commune
  does not have;
- the police's answer to Bình Gia's cases awaiting verification: most match, one corrected name,
  one not found, one number the police do not know.
"""
from __future__ import annotations

import io
from datetime import date
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.checks import id_century_sex_digit
from cases.models import Case, Commune, Sex, Village
from workflow.states import CaseState

BENEFICIARY_SAMPLE = "danh-sach-doi-tuong-binh-gia.xlsx"
POLICE_SAMPLE = "ket-qua-xac-thuc-cong-an-binh-gia.xlsx"

_NEW_PEOPLE = [
    ("Hoàng Thị Slam", "12/04/1939", "Nữ", "Nà Pàn", "5c"),
    ("LƯƠNG VĂN KHÌN", date(1944, 8, 30), "Nam", "Pò Cại", "D5.K5c"),
    ("Vi Văn Páo", 1942, "Nam", "Khuổi Khe", "Khoản 5 điểm a"),
    ("Nông Thị Mây", "03/11/1936", "Nữ", "Nà Lạn", "D5.K5c"),
    ("Triệu Văn Sinh", "21/06/1958", "Nam", "Nà Pàn", "Người khuyết tật nặng"),
    ("Lý Thị Piên", date(1940, 1, 15), "Nữ", "Pò Cại", "5c"),
    ("Hà Văn Tày", "09/09/1944", "Nam", "Nà Lạn", "D5.K5c"),
    ("Dương Thị Nga", date(1933, 5, 5), "Nữ", "Khuổi Khe", "D5.K5c"),
]


def write_samples(session: Session, commune: Commune, folder: Path) -> list[Path]:
    """Write both files into `folder`; their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    beneficiaries, police = folder / BENEFICIARY_SAMPLE, folder / POLICE_SAMPLE
    beneficiaries.write_bytes(beneficiary_list(session, commune))
    police.write_bytes(police_answer(session, commune))
    return [beneficiaries, police]


def _number(born: date, sex: Sex, serial: int) -> str:
    return f"020{id_century_sex_digit(born.year, sex)}{born.year % 100:02d}{serial:06d}"


def beneficiary_list(session: Session, commune: Commune) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "DS xa Binh Gia"
    bold = Font(bold=True)
    for row, text in ((1, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"), (2, "Độc lập - Tự do - Hạnh phúc"),
                      (4, f"DANH SÁCH ĐỐI TƯỢNG BẢO TRỢ XÃ HỘI HƯỞNG TRỢ CẤP HÀNG THÁNG — {commune.name.upper()}")):
        sheet.cell(row, 1, text).font = bold
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=10)
        sheet.cell(row, 1).alignment = Alignment(horizontal="center")
    # A two-line header: the account's columns under one merged group cell.
    top = ["STT", "Họ và tên", "Ngày tháng\nnăm sinh", "Giới tính", "Số CCCD/ĐDCN", "Thôn/bản", "Diện đối tượng",
           "Thông tin tài khoản", None, "Ghi chú"]
    sub = [None, None, None, None, None, None, None, "Ngân hàng", "Số tài khoản", None]
    for col, text in enumerate(top, 1):
        if text:
            sheet.cell(6, col, text).font = bold
    for col, text in enumerate(sub, 1):
        if text:
            sheet.cell(7, col, text).font = bold
    for col in (1, 2, 3, 4, 5, 6, 7, 10):
        sheet.merge_cells(start_row=6, start_column=col, end_row=7, end_column=col)
    sheet.merge_cells(start_row=6, start_column=8, end_row=6, end_column=9)
    sheet.append([f"({i})" for i in range(1, 11)])
    villages = [name.split(" ", 1)[-1] for name in session.scalars(
        select(Village.name).where(Village.commune_id == commune.id).order_by(Village.id))] or ["Nà Pàn"]
    rows = []
    for serial, (name, born, sex, village, category) in enumerate(_NEW_PEOPLE, 900_001):
        village = villages[serial % len(villages)] if serial % 4 else village   # some the commune lacks
        year = born if isinstance(born, int) else born.year if isinstance(born, date) else int(born[-4:])
        birth = date(year, 1, 1) if isinstance(born, int) else born if isinstance(born, date) else \
            date(int(born[-4:]), int(born[3:5]), int(born[:2]))
        sex_value = Sex.FEMALE if sex == "Nữ" else Sex.MALE
        number = int(_number(birth, sex_value, serial))        # typed as a number: the leading 0 is lost
        rows.append([name, born, sex, number, village, category, None, None, None])
    rows[1][6:8] = ["Agribank", "8800123456789"]
    rows[3][8] = "Đặc thù: già yếu, không đi lại được"
    # People the demo already has: unchanged, and one with a new phone number in the notes column.
    known = session.execute(select(Case.full_name, Case.birth_date, Case.sex, Case.national_id, Case.category_code)
                            .where(Case.commune_id == commune.id, Case.national_id.is_not(None),
                                   Case.status != CaseState.TERMINATED)
                            .order_by(Case.id).limit(3)).all()
    for name, born, sex, number, category in known:
        rows.append([name, born.strftime("%d/%m/%Y"), "Nữ" if sex is Sex.FEMALE else "Nam", number, None, category,
                     None, None, None])
    # Mistakes a list carries: a number written twice, a birth year the number contradicts, a
    # child under an elderly category, a row without a name.
    twin = _number(date(1941, 2, 2), Sex.MALE, 900_101)
    rows.append(["Mã Văn Sáng", "02/02/1941", "Nam", twin, "Nà Pàn", "5c", None, None, None])
    rows.append(["Mã Văn Sáng", "02/02/1941", "Nam", twin, "Nà Pàn", "5c", None, None, "ghi trùng"])
    rows.append(["Chu Thị Lìu", "15/05/1952", "Nữ", _number(date(1950, 5, 15), Sex.FEMALE, 900_102), "Pò Cại",
                 "D5.K5a.1", None, None, None])
    rows.append(["Hoàng Văn Nhỏ", "01/06/2019", "Nam", None, "Nà Pàn", "5c", None, None, None])
    rows.append([None, "10/10/1940", "Nam", None, "Nà Pàn", "5c", None, None, None])
    for n, row in enumerate(rows, 1):
        sheet.append([n, *row])
    sheet.append([None, "Tổng cộng", None, None, None, None, None, None, None, f"{len(rows)} người"])
    sheet.append([])
    sheet.append([None, "Người lập biểu", None, None, None, None, "CHỦ TỊCH UBND XÃ"])
    sheet.append([None, "(Ký, ghi rõ họ tên)", None, None, None, None, "(Ký tên, đóng dấu)"])
    return _saved(book)


def police_answer(session: Session, commune: Commune) -> bytes:
    """The police's results on the commune's cases awaiting verification that carry a number."""
    waiting = session.execute(select(Case.id, Case.full_name, Case.birth_date, Case.sex, Case.national_id)
                              .where(Case.commune_id == commune.id, Case.status == CaseState.IDENTITY_VERIFICATION,
                                     Case.national_id.is_not(None))
                              .order_by(Case.id).limit(40)).all()
    book = Workbook()
    sheet = book.active
    sheet.title = "Ket qua"
    sheet.append([f"CÔNG AN {commune.name.upper()}"])
    sheet.append(["KẾT QUẢ XÁC THỰC THÔNG TIN CÔNG DÂN"])
    sheet.append([])
    sheet.append(["STT", "Mã hồ sơ", "Họ và tên", "Ngày sinh", "Giới tính", "Số CCCD", "Kết quả", "Họ tên đúng",
                  "Ngày sinh đúng", "Giới tính đúng", "Ghi chú"])
    for n, (case_id, name, born, sex, number) in enumerate(waiting, 1):
        result, corrected, note = "Khớp", None, None
        if n == 2:
            corrected = name.replace("Thị", "Thi") if "Thị" in name else f"{name} A"
            note = "Sai chính tả họ tên"
        elif n == 3:
            result, note = "Không khớp", "Không tìm thấy trong CSDL quốc gia về dân cư"
        sheet.append([n, case_id, name, born.strftime("%d/%m/%Y"), "Nữ" if sex is Sex.FEMALE else "Nam", number,
                      result, corrected, None, None, note])
    sheet.append([len(waiting) + 1, None, "Người Không Có Hồ Sơ", "01/01/1950", "Nam",
                  _number(date(1950, 1, 1), Sex.MALE, 900_201), "Khớp", None, None, None, None])
    return _saved(book)


def _saved(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
