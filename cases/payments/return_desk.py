"""A provider's return from the web: the file uploaded for one signed list (then worked as a list
job by `cases.payments.returns`), and the rows that matched nothing, resolved by hand."""
from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cases import audit
from cases.audit import Actor
from cases.changes import utcnow
from cases.errors import DomainError, NotPermitted
from cases.models import PaymentList, ReturnException, User
from cases.models.lists import ListJob, ListKind
from cases.payments.returns import may_import, signed_list_for


def upload_return(session: Session, actor: Actor, user: User, list_id: int, filename: str, data: bytes,
                  now: datetime) -> ListJob:
    """Store the provider's return for the signed list `list_id` as a list job waiting for its
    preview; flushed, audited (by the jobs machinery).

    :raise NotPermitted: not an officer or supervisor of the list's province.
    :raise DomainError: no such list, a draft, or a file `enqueue` refuses.
    """
    from cases.lists import jobs       # late: the jobs module imports every kind's module
    signed_list_for(session, user, list_id)
    return jobs.enqueue(session, actor, user, ListKind.PAYMENT_RETURN, None, filename, data, now,
                        payment_list_id=list_id)


def open_exceptions(session: Session, list_id: int) -> list[ReturnException]:
    return list(session.scalars(select(ReturnException).where(ReturnException.list_id == list_id)
                                .order_by(ReturnException.resolved_at.is_not(None), ReturnException.row,
                                          ReturnException.id)))


def resolve_exception(session: Session, actor: Actor, user: User, exception_id: int, note: str,
                      now: datetime | None = None) -> ReturnException:
    """Mark a row that matched nothing as resolved by hand, with what was done; audited.

    :raise NotPermitted: not an officer or supervisor of the list's province.
    :raise DomainError: no such row, no note, or resolved already.
    """
    found = session.get(ReturnException, exception_id)
    if found is None:
        raise DomainError(_("Không có dòng chờ xử lý này."))
    plist = session.get(PaymentList, found.list_id)
    if not may_import(user, plist):
        raise NotPermitted(_("Chỉ cán bộ và lãnh đạo cấp tỉnh của danh sách được xử lý dòng trả về."))
    note = " ".join((note or "").split())[:300]
    if not note:
        raise DomainError(_("Hãy ghi đã xử lý dòng này thế nào."), "note")
    now = now or utcnow()
    moved = session.execute(update(ReturnException).where(ReturnException.id == exception_id,
                                                          ReturnException.resolved_at.is_(None))
                            .values(resolved_at=now, resolved_by_id=user.id, resolution=note)
                            .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise DomainError(_("Dòng này đã được xử lý."))
    session.expire(found)
    audit.record(session, actor, "payment_return.resolve", detail={
        "exception": exception_id, "list": found.list_id, "row": found.row, "note": note})
    return found
