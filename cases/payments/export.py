"""A payment list's workbook, from its stored lines: what is signed off, stored with its hash, and
downloaded (the provider's own column headings where it has set them)."""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.models import Commune, PaymentLine, PaymentList, PaymentProvider, User
from cases.payments.workbook import LineRow, ListHeader, payment_list_workbook


def list_workbook(session: Session, plist: PaymentList, signer: User | None = None,
                  signed_at: datetime | None = None) -> bytes:
    """The workbook of `plist` as it stands (its lines, its totals), signed by `signer` at
    `signed_at` when given."""
    provider = session.get(PaymentProvider, plist.provider_id)
    communes = dict(session.execute(select(Commune.id, Commune.name).where(Commune.province_id == plist.province_id)).all())
    header = ListHeader(
        provider_name=provider.name, provider_short_name=provider.short_name, province_name=provider.province.name,
        month=plist.month, cut_off_at=plist.cut_off_at, signed_by=signer.full_name if signer else None,
        signed_at=signed_at or plist.signed_at, totals=plist.totals_dict, list_id=plist.id)
    # Rows on the connection, not ORM objects: a list holds 100,000 lines.
    lines = session.connection().execute(
        select(PaymentLine.case_id, PaymentLine.full_name, PaymentLine.national_id, PaymentLine.commune_id,
               PaymentLine.policy_group, PaymentLine.in_cash, PaymentLine.account_holder_name,
               PaymentLine.account_number, PaymentLine.monthly_amount, PaymentLine.arrears_amount, PaymentLine.amount,
               PaymentLine.change, PaymentLine.reason)
        .where(PaymentLine.list_id == plist.id).order_by(PaymentLine.id))
    rows = (LineRow(case_id, name, national_id, communes.get(commune_id, ""), group, in_cash, holder, account,
                    monthly, arrears, amount, change.value, reason)
            for (case_id, name, national_id, commune_id, group, in_cash, holder, account, monthly, arrears, amount,
                 change, reason) in lines)
    layout = json.loads(provider.file_layout) if provider.file_layout else None
    return payment_list_workbook(header, rows, layout)
