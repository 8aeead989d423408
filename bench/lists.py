"""Lists in at scale (issue 16): a commune's list of 100,000 rows, with the mess real lists have,
imported end to end — read, checked, cases and their audit records written, committed — beside
python-calamine reading the same file alone; then the same file again (nothing created); then the
police's answers on 10,000 of those people.

Runs on a database of its own (`flask bench lists` is pointed at a scratch database by
bench.run), emptied of cases first: an import adds 100,000 cases, and the million-case dataset
the other figures read must stay as generated.
"""
from __future__ import annotations

import io
import time
from datetime import date, timedelta
from random import Random

from flask import Flask
from openpyxl import Workbook
from sqlalchemy import func, select

from cases.audit import Actor
from cases.checks import id_century_sex_digit
from cases.lists.beneficiaries import BENEFICIARY_LIST
from cases.lists.kinds import Scope
from cases.models import Case, Commune, Sex, User, Village
from cases.organisation import ensure_villages
from cases.roles import Role
from cases.sheets.reader import read_sheets
from cases.users import create_user
from extensions import db, write_intent

ROWS = 100_000
_FAMILY = ("Hoàng", "Nông", "Lương", "Vi", "Lý", "Hà", "Nguyễn", "Triệu", "Lộc", "Dương")
_MIDDLE = ("Văn", "Thị", "Đức", "Thị Thu", "Văn Minh", "Ngọc")
_GIVEN = ("Pình", "Hoa", "Tằm", "Mến", "Sáng", "Thụ", "Lan", "Đức", "Hùng", "Nhung", "Thắm", "Cường")


def messy_list(rows: int = ROWS, seed: int = 16) -> bytes:
    """A commune's list as kept in Excel: a title block, a two-line header, ID numbers typed as
    numbers (their leading zero lost), dates as text or as dates or a bare year, amounts with
    thousand separators, a total row and signatures; one row in a hundred wrong in some way."""
    rng = Random(seed)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Danh sách")
    sheet.append(["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"])
    sheet.append(["Độc lập - Tự do - Hạnh phúc"])
    sheet.append(["DANH SÁCH ĐỐI TƯỢNG HƯỞNG TRỢ CẤP XÃ HỘI HÀNG THÁNG"])
    sheet.append([])
    sheet.append(["STT", "Họ và tên", "Ngày, tháng, năm sinh", "Giới tính", "Số CCCD/ĐDCN", "Thôn/bản", "Diện đối tượng",
                  "Mức trợ cấp", "Tình trạng tài khoản", "Ngân hàng", "Số tài khoản", "Ghi chú"])
    today = date.today()
    for n in range(1, rows + 1):
        born = date(rng.randint(1930, 1945), rng.randint(1, 12), rng.randint(1, 28))
        sex = Sex.FEMALE if rng.random() < 0.55 else Sex.MALE
        number = f"020{id_century_sex_digit(born.year, sex)}{born.year % 100:02d}{n:06d}"
        if n % 100 == 7:
            number = number[:4] + "99" + number[6:]          # birth year disagreeing with the ID
        written_born = (born.strftime("%d/%m/%Y") if n % 3 == 0 else born.year if n % 50 == 1 else born)
        name = f"{rng.choice(_FAMILY)} {rng.choice(_MIDDLE)} {rng.choice(_GIVEN)}"
        has_account = rng.random() < 0.4
        sheet.append([n, name.upper() if n % 10 == 0 else name, written_born, "Nữ" if sex is Sex.FEMALE else "Nam",
                      int(number), rng.choice(("Thôn Nà Pàn", "Pò Cại", "Bản Khuổi Hẩu")),
                      "D5.K5c" if (today - born).days > 80 * 366 else "5a",
                      "540.000", "Có tài khoản" if has_account else "Chưa có tài khoản",
                      "Agribank" if has_account else None,
                      f"{rng.randint(10**12, 10**13 - 1)}" if has_account else None, None])
    sheet.append([None, "Tổng cộng", None, None, None, None, None, f"{rows * 540_000:,}".replace(",", ".")])
    sheet.append([])
    sheet.append([None, "Người lập biểu", None, None, None, "CHỦ TỊCH UBND XÃ"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def measure_lists(app: Flask, rows: int = ROWS) -> dict:
    data = messy_list(rows)
    started = time.perf_counter()
    read_sheets(data, "danh-sach.xlsx")
    bare = time.perf_counter() - started
    with app.app_context():
        scope = _scope(rows)
        figures = {"import_rows": rows, "import_bare_read_s": round(bare, 2)}
        figures["import_preview_100k_s"], counts = _timed(lambda: _preview(scope, data))
        figures["import_100k_s"], counts = _timed(lambda: _import(scope, data))
        figures["import_created"], figures["import_rejected"] = counts.get("created", 0), counts.get("rejected", 0)
        figures["reimport_100k_s"], again = _timed(lambda: _import(scope, data))
        figures["reimport_created"] = again.get("created", 0)
        try:
            from bench.police import measure_police_results
        except ImportError:       # the police round trip lands separately
            return figures
        db.session.remove()
    return figures | measure_police_results(app, rows=min(10_000, rows // 10))


def _timed(work):
    started = time.perf_counter()
    result = work()
    return round(time.perf_counter() - started, 2), result


def _preview(scope: Scope, data: bytes) -> dict:
    with write_intent():
        found = BENEFICIARY_LIST.preview(db.session, scope, data, "danh-sach.xlsx", lambda done, total: None)
        db.session.rollback()
    return found.counts


def _import(scope: Scope, data: bytes) -> dict:
    totals: dict[str, int] = {}

    def checkpoint(done, counts):
        for key, n in counts.items():
            totals[key] = totals.get(key, 0) + n
        db.session.commit()

    with write_intent():
        BENEFICIARY_LIST.apply(db.session, scope, data, "danh-sach.xlsx", 0, checkpoint)
        db.session.commit()
    return totals


def _scope(rows: int) -> Scope:
    """The busiest commune's officer, on a database with no cases yet (bench.run made it)."""
    if db.session.scalar(select(func.count()).select_from(Case)):
        raise RuntimeError("bench lists needs a database without cases (bench.run gives it a scratch one)")
    commune = db.session.scalar(select(Commune).where(Commune.code == "06112"))   # Xã Bình Gia, Lạng Sơn
    username = "bench.lists.officer"
    with write_intent():
        if not db.session.scalar(select(Village.id).where(Village.commune_id == commune.id)):
            ensure_villages(db.session, commune, ["Thôn Nà Pàn", "Thôn Pò Cại", "Bản Khuổi Hẩu"])
        user = db.session.scalar(select(User).where(User.username == username)) or create_user(
            db.session, Actor.system("bench"), username=username, full_name="Benchmark officer",
            password="bench-lists-password-2026", role=Role.OFFICER, province=None, communes=[commune])
        db.session.commit()
    return Scope(user, Actor(user.id, user.username, user.role.value, commune.code, None, "bench-lists"),
                 commune.province_id, commune.id, date.today() - timedelta(days=0))
