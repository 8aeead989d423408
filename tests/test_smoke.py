from cases.roles import Role
from tests.conftest import login


def test_officer_sees_queue(client, make_user, make_case):
    officer = make_user(Role.OFFICER)
    case = make_case(full_name="Lường Thị Mai")
    assert login(client, officer).status_code == 302
    page = client.get("/cases").get_data(as_text=True)
    assert "Lường Thị Mai" in page
    shown = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "<dd>Nam</dd>" in shown and "<dd>Chưa đăng ký</dd>" in shown
