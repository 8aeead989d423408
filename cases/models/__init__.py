"""Typed SQLAlchemy 2 models, one module per part of the domain."""
from cases.models.organisation import Commune, PaymentProvider, Province, ProviderKind, Village
from cases.models.users import User, user_communes
from cases.models.case import AccountHolder, Case, PaymentMethod, PolicyGroup, Sex
from cases.models.proposal import Proposal, ProposalStatus
from cases.models.audit import AuditHead, AuditRecord
from cases.models.security import AuditCheck, DenialWindow, LoginThrottle
from cases.models.calendar import SwapKind, WorkingDaySwap
from cases.models.mail import MailStatus, OutboxMessage
from cases.models.escalation import Escalation
from cases.models.counts import CaseCount
from cases.models.lists import ListJob, ListJobState, ListKind
from cases.models.payments import (LineChange, LineOutcome, PaymentLine, PaymentList, PaymentListState,
                                   ReturnException, UnpaidRun)
from cases.models.reports import (ArchivedReport, CaseStay, OPEN_END, RecordedMonth, ReportBands, ReportMonthCount,
                                  ReportTarget, TargetGroup, UnitKind)

__all__ = [
    "AccountHolder", "ArchivedReport", "LineChange", "LineOutcome", "PaymentLine", "ReturnException", "UnpaidRun", "PaymentList", "PaymentListState", "AuditCheck", "CaseStay", "OPEN_END", "RecordedMonth", "ReportBands", "ReportMonthCount", "ReportTarget",
    "TargetGroup", "UnitKind", "CaseCount", "AuditHead", "DenialWindow", "ListJob", "ListJobState", "ListKind", "LoginThrottle", "AuditRecord", "Case", "Escalation", "Commune", "PaymentMethod",
    "PaymentProvider", "PolicyGroup", "Proposal", "ProposalStatus", "Province", "ProviderKind",
    "MailStatus", "OutboxMessage", "Sex", "SwapKind", "User", "Village", "WorkingDaySwap", "user_communes",
]
