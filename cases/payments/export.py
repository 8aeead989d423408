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
    lines = session.scalars(select(PaymentLine).where(PaymentLine.list_id == plist.id).order_by(PaymentLine.id))
    rows = (LineRow(line.case_id, line.full_name, line.national_id, communes.get(line.commune_id, ""),
                    line.policy_group, line.in_cash, line.account_holder_name, line.account_number,
                    line.monthly_amount, line.arrears_amount, line.amount, line.change.value, line.reason)
            for line in lines)
    layout = json.loads(provider.file_layout) if provider.file_layout else None
    return payment_list_workbook(header, rows, layout)
