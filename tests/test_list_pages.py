"""The lists' screens: upload, the job's page through preview, confirmation and summary, its
progress as JSON, the downloads, refusals on the form, and who sees which job."""
from __future__ import annotations

import io
import json
import os

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from cases.lists import jobs
from cases.models import AuditRecord, Case, ListJob
from cases.models.lists import ListJobState as St
from cases.organisation import commune_by_code
from cases.roles import Role
from extensions import db
from tests.conftest import BINH_GIA, LANG_SON, TAN_VAN, csrf_token
from tests.test_list_jobs import NAMES, FakeList, sheets_safety, use_kind, workbook  # noqa: F401 - fixtures

pytestmark = pytest.mark.usefixtures("fake_list")


@pytest.fixture
def fake_list(use_kind):  # noqa: F811 - the imported fixture
    return use_kind(FakeList(chunk=2))


@pytest.fixture
def officer(make_user):
    return make_user(Role.OFFICER, communes=(BINH_GIA,))


def post_upload(client, data: bytes | None, kind: str = "beneficiaries", commune: str = BINH_GIA,
                filename: str = "danh-sach-binh-gia.xlsx"):
    token = csrf_token(client.get("/lists").get_data(as_text=True))
    form = {"csrf_token": token, "kind": kind, "commune": str(commune_by_code(db.session, commune).id)}
    if data is not None:
        form["file"] = (io.BytesIO(data), filename)
    return client.post("/lists", data=form, content_type="multipart/form-data")


def post(client, url: str):
    token = csrf_token(client.get("/lists").get_data(as_text=True))
    return client.post(url, data={"csrf_token": token})


def work(app) -> None:
    jobs.work_queued(app, "test-worker")


def the_job() -> ListJob:
    db.session.rollback()
    return db.session.scalars(select(ListJob)).one()


def test_upload_preview_confirm_and_summary(app, make_client, officer):
    client = make_client(officer)
    response = post_upload(client, workbook(NAMES))
    assert response.status_code == 302
    job = the_job()
    assert response.headers["Location"].endswith(f"/lists/{job.id}")
    page = client.get(f"/lists/{job.id}").get_data(as_text=True)
    assert "Đang chờ đọc và kiểm tra" in page and '<progress id="job-bar" max="100" value="0"' in page
    assert "Tải lại trang để xem tiến độ mới nhất" in page                  # without script: refresh
    assert "danh-sach-binh-gia.xlsx" in client.get("/lists").get_data(as_text=True)

    work(app)
    page = client.get(f"/lists/{job.id}").get_data(as_text=True)
    assert "Chờ xác nhận" in page and "Số dòng dữ liệu đọc được: 7." in page
    assert '<td>Tạo mới</td><td class="num" data-count="created">6</td>' in page
    assert '<td>Bị loại</td><td class="num" data-count="rejected">1</td>' in page
    assert "<td class=\"num\">4</td><td>—</td><td>Thiếu họ và tên.</td>" in page
    assert "Họ và tên → Họ và tên" in page and "<li>Ghi chú</li>" in page
    assert "Xác nhận nhập" in page and "Huỷ danh sách này" in page
    assert db.session.scalars(select(Case)).all() == []

    response = post(client, f"/lists/{job.id}/confirm")
    assert response.status_code == 302
    page = client.get(f"/lists/{job.id}").get_data(as_text=True)
    assert "Đã xác nhận: danh sách đang được nhập." in page and "Đang chờ nhập" in page
    assert "Xác nhận nhập" not in page

    work(app)
    page = client.get(f"/lists/{job.id}").get_data(as_text=True)
    assert "Đã nhập xong" in page and "Kết quả nhập" in page and 'value="100"' in page
    assert '<td>Tạo mới</td><td class="num" data-count="created">6</td>' in page
    assert "Các dòng cần xử lý thủ công" in page
    assert len(db.session.scalars(select(Case)).all()) == 6
    listing = client.get("/lists").get_data(as_text=True)
    assert "Đã nhập xong" in listing and "Tạo mới: 6 · Bị loại: 1" in listing and officer.full_name in listing


def test_the_progress_json(app, make_client, officer):
    client = make_client(officer)
    post_upload(client, workbook(NAMES))
    job = the_job()
    assert client.get(f"/lists/{job.id}/progress").get_json() == {
        "id": job.id, "state": "queued_preview", "label": "Đang chờ đọc và kiểm tra", "rows_done": 0,
        "rows_total": None, "percent": 0, "counts": {}, "working": True, "finished": False, "error": None}
    work(app)
    post(client, f"/lists/{job.id}/confirm")
    work(app)
    shown = client.get(f"/lists/{job.id}/progress").get_json()
    assert (shown["state"], shown["label"], shown["percent"], shown["rows_done"], shown["rows_total"]) == (
        "done", "Đã nhập xong", 100, 7, 7)
    assert shown["counts"] == {"created": 6, "rejected": 1} and shown["finished"] is True


def test_the_rejected_rows_download_is_audited(app, make_client, officer):
    client = make_client(officer)
    post_upload(client, workbook(NAMES))
    work(app)
    job = the_job()
    response = client.get(f"/lists/{job.id}/rejected.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert rows == [("Họ và tên", "Lý do"), (None, "Thiếu họ và tên.")]
    db.session.rollback()
    record = db.session.scalars(select(AuditRecord).where(AuditRecord.action == "list_job.download_rejected")).one()
    assert json.loads(record.detail) == {"job": job.id} and record.actor_id == officer.id


def test_the_blank_template(app, make_client, officer):
    response = make_client(officer).get("/lists/template.xlsx")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    assert next(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True)) == ("Họ và tên",)
    assert make_client(officer).get("/lists/template.xlsx?kind=nothing").status_code == 404


@pytest.mark.parametrize("change, status, message", [
    (dict(data=None), 400, "Hãy chọn tệp danh sách cần tải lên."),
    (dict(kind="payments"), 400, "Hãy chọn loại danh sách."),
    (dict(commune=TAN_VAN), 400, "Xã/phường không thuộc phạm vi bạn quản lý."),
])
def test_bad_input_is_refused_on_the_form(app, make_client, officer, change, status, message):
    arguments = dict(data=workbook(NAMES)) | change
    response = post_upload(make_client(officer), **arguments)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.scalars(select(ListJob)).all() == []


def test_an_unsafe_file_is_refused_on_the_form(app, make_client, officer):
    safety = pytest.importorskip("cases.sheets.safety")
    if not hasattr(safety, "UnsafeFile"):
        pytest.skip("cases.sheets.safety has not landed")
    response = post_upload(make_client(officer), b"%PDF-1.4\n" + b"x" * 500, filename="thu.xlsx")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    with pytest.raises(safety.UnsafeFile) as refused:
        safety.check_file(b"%PDF-1.4\n" + b"x" * 500, "thu.xlsx")
    assert refused.value.message in html
    db.session.rollback()
    assert db.session.scalars(select(ListJob)).all() == []


def test_a_list_larger_than_an_ordinary_form_is_accepted(app, make_client, officer):
    book = Workbook()
    book.active.append(["Họ và tên"])
    for _ in range(200):                    # ~3.4 MB: random hex compresses only by half
        book.active.append([os.urandom(15_000).hex()[:30_000]])
    out = io.BytesIO()
    book.save(out)
    assert out.tell() > 2 * 1024 * 1024
    client = make_client(officer)
    token = csrf_token(client.get("/lists").get_data(as_text=True))
    # Encoded in memory: the test client's own encoder spools a body this large to a temporary
    # file it never closes.
    boundary, body = encode_multipart(MultiDict({
        "csrf_token": token, "kind": "beneficiaries", "commune": str(commune_by_code(db.session, BINH_GIA).id),
        "file": FileStorage(io.BytesIO(out.getvalue()), "lon.xlsx")}))
    response = client.post("/lists", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 302
    assert the_job().size_bytes == out.tell()


def test_an_auditor_sees_the_page_but_may_not_upload(app, make_client, make_user):
    auditor = make_user(Role.AUDITOR, province=LANG_SON)
    client = make_client(auditor)
    page = client.get("/lists")
    assert page.status_code == 200 and "Tải lên và kiểm tra" not in page.get_data(as_text=True)
    assert post_upload(client, workbook(NAMES)).status_code == 403


def test_who_sees_and_who_decides_a_job(app, make_client, make_user, officer):
    owner = make_client(officer)
    post_upload(owner, workbook(NAMES))
    work(app)
    job = the_job()
    urls = [f"/lists/{job.id}", f"/lists/{job.id}/progress", f"/lists/{job.id}/rejected.xlsx"]
    outsiders = [make_user(Role.OFFICER, communes=(TAN_VAN,)), make_user(Role.SUPERVISOR, communes=(TAN_VAN,)),
                 make_user(Role.OFFICER, communes=(BINH_GIA,)),           # a colleague: not their upload
                 make_user(Role.AUDITOR, province="01"), make_user(Role.ADMIN, province=LANG_SON)]
    for user in outsiders:
        client = make_client(user)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 404, (user.username, url)
            assert "danh-sach-binh-gia" not in response.get_data(as_text=True)
        assert "danh-sach-binh-gia" not in client.get("/lists").get_data(as_text=True)
        for action in ("confirm", "cancel"):
            assert post(client, f"/lists/{job.id}/{action}").status_code == 404
    assert the_job().state is St.PREVIEWED

    auditor = make_client(make_user(Role.AUDITOR, province=LANG_SON))
    assert all(auditor.get(url).status_code == 200 for url in urls)
    assert "danh-sach-binh-gia" in auditor.get("/lists").get_data(as_text=True)
    assert post(auditor, f"/lists/{job.id}/confirm").status_code == 403
    assert the_job().state is St.PREVIEWED

    supervisor = make_client(make_user(Role.SUPERVISOR, communes=(BINH_GIA,)))
    assert "Xác nhận nhập" in supervisor.get(f"/lists/{job.id}").get_data(as_text=True)
    assert post(supervisor, f"/lists/{job.id}/confirm").status_code == 302
    assert the_job().state is St.QUEUED_IMPORT
    response = post(owner, f"/lists/{job.id}/cancel")                  # too late: confirmed already
    assert "Danh sách này không còn chờ xác nhận." in owner.get(response.headers["Location"]).get_data(as_text=True)
    assert the_job().state is St.QUEUED_IMPORT
