"""The one registry of labels: every field of a case and key of a proposal's payload, every enum
value and every audit action, as a screen names them. Vietnamese msgids, through the catalogue."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from cases.models import AccountHolder, PaymentMethod, PolicyGroup, ProposalStatus, ProviderKind, Sex
from cases.models.case import IdentitySource
from cases.roles import ROLE_LABELS, Role
from workflow.states import CaseState
from workflow.table import STATES

# A case's columns, then the keys the transition forms put in a payload (the audit trail and a
# proposal keep them), then the keys an audit record's detail carries.
FIELD_LABELS = {
    "id": _l("Số hồ sơ"), "status": _l("Trạng thái"), "state": _l("Trạng thái"),
    "version": _l("Phiên bản"), "state_entered_at": _l("Vào trạng thái lúc"),
    "suspended_from": _l("Trạng thái trước khi tạm dừng"),
    "province_id": _l("Tỉnh/thành phố"), "commune_id": _l("Xã/phường"), "village_id": _l("Thôn/khối"),
    "address_detail": _l("Địa chỉ chi tiết"),
    "full_name": _l("Họ và tên"), "birth_date": _l("Ngày sinh"), "sex": _l("Giới tính"),
    "national_id": _l("Số CCCD"), "phone": _l("Điện thoại"), "ethnicity": _l("Dân tộc"),
    "policy_group": _l("Nhóm chính sách"), "category_code": _l("Diện đối tượng"),
    "monthly_amount": _l("Mức trợ cấp hàng tháng"), "benefit_decision_number": _l("Số quyết định hưởng"),
    "benefit_start_month": _l("Hưởng từ tháng"),
    "guardian_name": _l("Người giám hộ / được ủy quyền"), "guardian_national_id": _l("Số CCCD người giám hộ"),
    "guardian_relation": _l("Quan hệ với đối tượng"), "guardian_phone": _l("Điện thoại người giám hộ"),
    "special_very_old": _l("Cao tuổi, không tự đi lại được"), "special_gravely_ill": _l("Ốm đau nặng"),
    "special_cannot_travel": _l("Khuyết tật, không thể di chuyển"),
    "special_nobody_to_authorise": _l("Không có người để ủy quyền"),
    "payment_method": _l("Hình thức chi trả"), "account_holder": _l("Chủ tài khoản"),
    "account_holder_name": _l("Họ tên chủ tài khoản"), "account_holder_national_id": _l("Số CCCD chủ tài khoản"),
    "provider_id": _l("Tổ chức chi trả"), "account_number": _l("Số tài khoản"),
    "account_opened_on": _l("Ngày mở tài khoản"), "consent_date": _l("Ngày đồng ý"),
    "cash_reason": _l("Lý do nhận tiền mặt"), "last_paid_month": _l("Tháng chi trả gần nhất"),
    "last_payment_reference": _l("Mã tham chiếu chi trả"), "payment_failure_reason": _l("Lý do chi trả không thành công"),
    "identity_source": _l("Nguồn xác thực"), "identity_verified_on": _l("Ngày xác thực"),
    "identity_problem": _l("Vướng mắc xác thực"), "identity_follow_up_on": _l("Ngày hẹn xử lý tiếp"),
    "status_reason_code": _l("Căn cứ pháp lý"), "status_decision_number": _l("Số quyết định"),
    "status_effective_month": _l("Áp dụng từ tháng"),
    "notes": _l("Ghi chú"), "created_at": _l("Tạo lúc"), "created_by_id": _l("Người tạo"),
    "updated_at": _l("Cập nhật lúc"), "updated_by_id": _l("Người cập nhật"),
    "assigned_to_id": _l("Cán bộ phụ trách"), "name_folded": _l("Họ và tên"), "name_given_first": _l("Họ và tên"),
    # Payload keys of the transition forms.
    "source": _l("Nguồn xác thực"), "verified_on": _l("Ngày xác thực"),
    "id_correction": _l("Đính chính số CCCD"), "correction_reason": _l("Lý do đính chính số CCCD"),
    "problem": _l("Vướng mắc"), "follow_up_on": _l("Ngày hẹn xử lý tiếp"),
    "holder": _l("Chủ tài khoản"), "holder_name": _l("Họ tên chủ tài khoản"),
    "holder_national_id": _l("Số CCCD chủ tài khoản"), "reason": _l("Lý do"), "proxy_name": _l("Người nhận thay"),
    "opened_on": _l("Ngày mở tài khoản"), "month_paid": _l("Tháng chi trả"),
    "reference": _l("Mã tham chiếu của tổ chức chi trả"),
    # A provider's return file (issue 18), as the lists' preview names its columns.
    "outcome": _l("Kết quả chi trả"), "amount": _l("Số tiền"), "case_number": _l("Mã hồ sơ"),
    "commune": _l("Xã/phường"), "change": _l("Thay đổi so với tháng trước"), "arrears_amount": _l("Truy lĩnh"), "reason_code": _l("Căn cứ pháp lý"),
    "effective_month": _l("Áp dụng từ tháng"), "decision_number": _l("Số quyết định"),
    "arrears_months": _l("Số tháng truy lĩnh"), "event_date": _l("Ngày phát sinh sự việc"),
    "finding": _l("Sai sót phát hiện"), "note": _l("Ghi chú"),
    # Keys of an audit record's detail.
    "takes_effect_on": _l("Có hiệu lực từ"), "proposed_by": _l("Người đề xuất"),
    "proposal_reason": _l("Lý do đề xuất"), "field": _l("Số được xem"), "fields": _l("Các số được xem"),
    "form": _l("Biểu mẫu"), "tier": _l("Mức cảnh báo"),
}

# Enum values, by the field (or payload key) that holds them.
SEX_LABELS = {Sex.MALE.value: _l("Nam"), Sex.FEMALE.value: _l("Nữ")}
POLICY_GROUP_LABELS = {PolicyGroup.BTXH.value: _l("Bảo trợ xã hội (BTXH)"),
                       PolicyGroup.NCC.value: _l("Người có công (NCC)")}
PAYMENT_METHOD_LABELS = {PaymentMethod.ACCOUNT.value: _l("Qua tài khoản"), PaymentMethod.CASH.value: _l("Tiền mặt")}
ACCOUNT_HOLDER_LABELS = {AccountHolder.SELF.value: _l("Chính đối tượng"),
                         AccountHolder.GUARDIAN.value: _l("Người giám hộ"),
                         AccountHolder.PROXY.value: _l("Người được ủy quyền")}
IDENTITY_SOURCE_LABELS = {IdentitySource.POLICE_LIST.value: _l("Danh sách Công an xã trả về"),
                          IdentitySource.VNEID.value: _l("Ứng dụng VNeID"),
                          IdentitySource.POPULATION_DB.value: _l("Cơ sở dữ liệu quốc gia về dân cư")}
PROVIDER_KIND_LABELS = {ProviderKind.BANK.value: _l("Ngân hàng"), ProviderKind.POST_OFFICE.value: _l("Bưu điện")}
PROPOSAL_STATUS_LABELS = {
    ProposalStatus.PENDING.value: _l("Chờ phê duyệt"), ProposalStatus.APPROVED.value: _l("Đã phê duyệt"),
    ProposalStatus.REJECTED.value: _l("Bị từ chối"), ProposalStatus.SCHEDULED.value: _l("Đã duyệt, chờ hiệu lực"),
    ProposalStatus.NOT_APPLIED.value: _l("Không được áp dụng"), "withdrawn": _l("Đã rút"),
}
# The system jobs that raise proposals (`Proposal.raised_by`).
RAISED_BY_LABELS = {"payment_watcher": _l("theo dõi chi trả")}
IDENTITY_PROBLEM_LABELS = {"no_id_card": _l("Chưa có thẻ CCCD"),
                           "data_mismatch": _l("Thông tin không khớp CSDL dân cư"),
                           "not_found": _l("Không tìm thấy trong CSDL dân cư"), "other": _l("Khác")}
CASH_REASON_LABELS = {
    "special_case": _l("Đối tượng đặc thù (cao tuổi, ốm nặng, khuyết tật không đi lại được, không có người ủy quyền)"),
    "declines": _l("Đối tượng không đồng ý mở tài khoản"), "other": _l("Lý do khác")}
PAYMENT_FAILURE_LABELS = {"account_closed": _l("Tài khoản đã đóng"), "wrong_number": _l("Sai số tài khoản"),
                          "name_mismatch": _l("Tên chủ tài khoản không khớp"), "other": _l("Khác")}
ROLE_NAMES = {role.value: label for role, label in ROLE_LABELS.items()}
STATE_NAMES = {state.value: spec.label for state, spec in STATES.items()}

# Which codes a key holds. `reason` is a code for cash and a failed payment, free text elsewhere:
# a value that is not one of the codes is shown as typed.
VALUE_LABELS: dict[str, dict] = {
    "sex": SEX_LABELS, "policy_group": POLICY_GROUP_LABELS, "payment_method": PAYMENT_METHOD_LABELS,
    "account_holder": ACCOUNT_HOLDER_LABELS, "holder": ACCOUNT_HOLDER_LABELS,
    "identity_source": IDENTITY_SOURCE_LABELS, "source": IDENTITY_SOURCE_LABELS,
    "status": STATE_NAMES, "state": STATE_NAMES, "suspended_from": STATE_NAMES, "from": STATE_NAMES,
    "to": STATE_NAMES, "problem": IDENTITY_PROBLEM_LABELS, "identity_problem": IDENTITY_PROBLEM_LABELS,
    "cash_reason": CASH_REASON_LABELS, "payment_failure_reason": PAYMENT_FAILURE_LABELS,
    "reason": {**CASH_REASON_LABELS, **PAYMENT_FAILURE_LABELS}, "role": ROLE_NAMES, "actor_role": ROLE_NAMES,
    "kind": PROVIDER_KIND_LABELS, "proposal_status": PROPOSAL_STATUS_LABELS,
}

ACTION_LABELS = {
    "case.create": _l("Tạo hồ sơ"),
    "case.edit": _l("Sửa thông tin"),
    "case.transition": _l("Chuyển trạng thái"),
    "case.reveal": _l("Xem số đầy đủ"),
    "case.assign": _l("Giao cán bộ phụ trách"),
    "proposal.create": _l("Lập đề xuất"),
    "proposal.approve": _l("Phê duyệt"),
    "proposal.reject": _l("Từ chối đề xuất"),
    "proposal.withdraw": _l("Rút đề xuất"),
    "decision.take_effect": _l("Quyết định có hiệu lực"),
    "decision.refused": _l("Quyết định không được áp dụng"),
    "escalation.sweep": _l("Rà soát hồ sơ quá hạn"),
    "access.denied": _l("Truy cập bị từ chối"),
    "audit.export": _l("Xuất nhật ký"),
    "auth.login": _l("Đăng nhập"),
    "auth.login_failed": _l("Đăng nhập không thành công"),
    "auth.login_throttled": _l("Đăng nhập bị tạm khoá do thử sai nhiều lần"),
    "auth.logout": _l("Đăng xuất"),
    "user.create": _l("Tạo người dùng"),
    "user.disable": _l("Khoá tài khoản"),
    "user.enable": _l("Mở lại tài khoản"),
    "user.password_reset": _l("Đặt lại mật khẩu"),
    "user.password_change": _l("Đổi mật khẩu"),
    "user.role_change": _l("Đổi vai trò"),
    "user.scope_change": _l("Đổi phạm vi"),
    "user.locale_change": _l("Đổi ngôn ngữ"),
    "calendar.swap_add": _l("Thêm ngày hoán đổi lịch làm việc"),
    "calendar.swap_remove": _l("Xoá ngày hoán đổi lịch làm việc"),
    "job.run_requested": _l("Yêu cầu chạy việc định kỳ"),
    "list_job.upload": _l("Tải lên danh sách"),
    "list_job.previewed": _l("Kiểm tra danh sách xong"),
    "list_job.confirm": _l("Xác nhận nhập danh sách"),
    "list_job.cancel": _l("Huỷ danh sách"),
    "list_job.done": _l("Nhập danh sách xong"),
    "list_job.failed": _l("Nhập danh sách không thành công"),
    "list_job.requeued": _l("Đưa danh sách trở lại hàng đợi"),
    "list_job.download_rejected": _l("Tải các dòng không nhập được"),
    "police_list.export": _l("Xuất danh sách đề nghị công an xác thực"),
    "report.archive": _l("Lưu báo cáo vào kho lưu trữ"),
    "report.sign": _l("Ký duyệt báo cáo"),
    "report.download": _l("Tải báo cáo"),
    "report_target.set": _l("Đặt chỉ tiêu chi trả qua tài khoản"),
    "report_target.remove": _l("Xoá chỉ tiêu chi trả qua tài khoản"),
    "report_bands.set": _l("Đặt ngưỡng xếp loại kết quả"),
    "payment_list.draft": _l("Lập danh sách chi trả"),
    "payment_list.sign": _l("Ký duyệt danh sách chi trả"),
    "payment_list.download": _l("Tải danh sách chi trả"),
    "payment_return.resolve": _l("Xử lý dòng kết quả chi trả không khớp"),
    "provider.create": _l("Thêm tổ chức chi trả"),
    "provider.update": _l("Sửa tổ chức chi trả"),
}


def role_label(role) -> str:
    """A role (enum or stored value) as a screen names it; empty for none."""
    value = getattr(role, "value", role)
    try:
        return str(ROLE_LABELS[Role(value)]) if value else ""
    except ValueError:
        return str(value)


def state_label(state) -> str:
    value = getattr(state, "value", state)
    try:
        return str(STATES[CaseState(value)].label) if value else ""
    except ValueError:
        return str(value)


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


def field_label(key: str) -> str:
    """The label of a case field or a payload/detail key (the key itself only if unknown)."""
    return str(FIELD_LABELS.get(key, key))
