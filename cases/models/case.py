"""The case: one beneficiary, from registration to payment (BRIEF section 4)."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from cases.models.organisation import Commune, PaymentProvider, Province, Village
from cases.models.types import enum_column
from cases.search import fold_name, given_name_first
from cases.models.users import User
from extensions import db
from workflow.engine import engine_is_firing
from workflow.states import CaseState


class Sex(str, enum.Enum):
    MALE = "male"
    FEMALE = "female"


class PolicyGroup(str, enum.Enum):
    BTXH = "btxh"   # social assistance, Decree 20/2021
    NCC = "ncc"     # meritorious service and relatives, Ordinance 02/2020


class PaymentMethod(str, enum.Enum):
    ACCOUNT = "account"
    CASH = "cash"


class AccountHolder(str, enum.Enum):
    SELF = "self"
    GUARDIAN = "guardian"
    PROXY = "proxy"


class IdentitySource(str, enum.Enum):
    POLICE_LIST = "police_list"
    VNEID = "vneid"
    POPULATION_DB = "population_db"


class Case(db.Model):
    __tablename__ = "cases"
    __table_args__ = (
        # The queues: one commune (or a whole province), one state, longest in state first,
        # walked by keyset (state_entered_at, id) so no page reads the pages before it.
        Index("ix_cases_queue_commune", "commune_id", "status", "state_entered_at", "id"),
        Index("ix_cases_queue_province", "province_id", "status", "state_entered_at", "id"),
        # The village filter and "assigned to me": the same keyset order inside the village or the
        # officer's own cases. The other filters (policy group, category, provider, payment method,
        # special case, pending proposal) are checked on the rows the queue index yields: a
        # commune holds a few hundred cases per state at a million cases in all, so reading them
        # in order until a page is full stays within the page's budget without an index each.
        Index("ix_cases_queue_village", "village_id", "status", "state_entered_at", "id"),
        Index("ix_cases_queue_assignee", "assigned_to_id", "status", "state_entered_at", "id"),
        # Search by name: a prefix range on the folded name inside the user's scope.
        Index("ix_cases_name_commune", "commune_id", "name_folded", "id"),
        Index("ix_cases_name_province", "province_id", "name_folded", "id"),
        Index("ix_cases_given_name_commune", "commune_id", "name_given_first"),
        Index("ix_cases_given_name_province", "province_id", "name_given_first"),
        # No two live cases share an ID number; a terminated case frees it.
        Index(
            "uq_cases_live_national_id", "national_id", unique=True,
            sqlite_where=text("status != 'terminated'"),
            postgresql_where=text("status != 'terminated'"),
        ),
        # The ID-number search reaches terminated cases too (the live ones: the index above).
        Index("ix_cases_national_id_terminated", "national_id",
              sqlite_where=text("status = 'terminated'"), postgresql_where=text("status = 'terminated'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[CaseState] = mapped_column(enum_column(CaseState, "case_state"))
    version: Mapped[int] = mapped_column(default=1)
    state_entered_at: Mapped[datetime]
    suspended_from: Mapped[CaseState | None] = mapped_column(enum_column(CaseState, "case_state"))

    # Where the person lives. province_id is the commune's, kept here for province queues.
    province_id: Mapped[int] = mapped_column(ForeignKey("provinces.id"))
    commune_id: Mapped[int] = mapped_column(ForeignKey("communes.id"))
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"))
    address_detail: Mapped[str | None] = mapped_column(String(200))

    # Who the person is.
    full_name: Mapped[str] = mapped_column(String(120))
    # The name as people type it in a search box (cases.search.fold_name), set with full_name.
    # "C" collation on PostgreSQL: a prefix is then a plain range on the index (code-point order,
    # as SQLite's default BINARY).
    name_folded: Mapped[str] = mapped_column(String(120).with_variant(String(120, collation="C"), "postgresql"),
                                             default="")
    # The same with the given name first (cases.search.given_name_first): "hoa" finds "Lương Thị Hoa".
    name_given_first: Mapped[str] = mapped_column(
        String(120).with_variant(String(120, collation="C"), "postgresql"), default="")
    birth_date: Mapped[date]
    sex: Mapped[Sex] = mapped_column(enum_column(Sex, "sex"))
    national_id: Mapped[str | None] = mapped_column(String(12))
    phone: Mapped[str | None] = mapped_column(String(10))
    ethnicity: Mapped[str | None] = mapped_column(String(40))

    # The benefit.
    policy_group: Mapped[PolicyGroup] = mapped_column(enum_column(PolicyGroup, "policy_group"))
    category_code: Mapped[str] = mapped_column(String(20))
    monthly_amount: Mapped[int] = mapped_column(BigInteger)  # whole đồng; 64-bit, bounded by the rules data
    benefit_decision_number: Mapped[str | None] = mapped_column(String(60))
    benefit_start_month: Mapped[date | None]  # first day of the month

    # Guardian or proxy (người giám hộ / người được ủy quyền).
    guardian_name: Mapped[str | None] = mapped_column(String(120))
    guardian_national_id: Mapped[str | None] = mapped_column(String(12))
    guardian_relation: Mapped[str | None] = mapped_column(String(60))
    guardian_phone: Mapped[str | None] = mapped_column(String(10))

    # Special case (đối tượng đặc thù): why an account may be out of reach.
    special_very_old: Mapped[bool] = mapped_column(default=False)
    special_gravely_ill: Mapped[bool] = mapped_column(default=False)
    special_cannot_travel: Mapped[bool] = mapped_column(default=False)
    special_nobody_to_authorise: Mapped[bool] = mapped_column(default=False)

    # How the person is paid.
    payment_method: Mapped[PaymentMethod | None] = mapped_column(enum_column(PaymentMethod, "payment_method"))
    account_holder: Mapped[AccountHolder | None] = mapped_column(enum_column(AccountHolder, "account_holder"))
    account_holder_name: Mapped[str | None] = mapped_column(String(120))
    account_holder_national_id: Mapped[str | None] = mapped_column(String(12))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("payment_providers.id"))
    account_number: Mapped[str | None] = mapped_column(String(30))
    account_opened_on: Mapped[date | None]
    consent_date: Mapped[date | None]
    cash_reason: Mapped[str | None] = mapped_column(String(200))
    last_paid_month: Mapped[date | None]
    last_payment_reference: Mapped[str | None] = mapped_column(String(60))
    payment_failure_reason: Mapped[str | None] = mapped_column(String(200))

    # Identity verification record.
    identity_source: Mapped[IdentitySource | None] = mapped_column(enum_column(IdentitySource, "identity_source"))
    identity_verified_on: Mapped[date | None]
    identity_problem: Mapped[str | None] = mapped_column(String(300))
    identity_follow_up_on: Mapped[date | None]

    # The decision behind the current state (suspension, resumption, termination).
    status_reason_code: Mapped[str | None] = mapped_column(String(40))
    status_decision_number: Mapped[str | None] = mapped_column(String(60))
    status_effective_month: Mapped[date | None]

    notes: Mapped[str | None] = mapped_column(Text)
    # The officer who took the case on (a bulk action on the queue); None: anyone of the commune.
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    # Every UPDATE says `WHERE version = <the version read>`: two writers cannot both win.
    __mapper_args__ = {"version_id_col": version}

    # For reading only: services set the foreign keys above. Read-only relationships stay out of
    # the unit of work, which otherwise weighs each of them on every flush of a case (a third of
    # the flush that moves a case, measured).
    province: Mapped[Province] = relationship(viewonly=True)
    commune: Mapped[Commune] = relationship(viewonly=True)
    village: Mapped[Village | None] = relationship(viewonly=True)
    provider: Mapped[PaymentProvider | None] = relationship(viewonly=True)
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id], viewonly=True)

    @validates("status")
    def _only_the_engine(self, _key, value):
        if not engine_is_firing():
            raise RuntimeError("a case's status is changed by workflow.engine only")
        return value

    @validates("full_name")
    def _fold_name(self, _key, value):
        self.name_folded = fold_name(value)
        self.name_given_first = given_name_first(self.name_folded)
        return value

    def __repr__(self) -> str:
        return f"<Case {self.id} {self.status and self.status.value}>"
