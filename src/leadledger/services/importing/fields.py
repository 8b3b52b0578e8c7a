"""What each import kind holds: its fields, their types, required columns and natural key."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Table

from leadledger.store import schema


class FieldType(StrEnum):
    """How a field's text is normalised and validated."""

    TEXT = "text"
    TOKEN = "token"  # lower-case identifier: "Economic Buyer" → economic_buyer
    EMAIL = "email"
    DOMAIN = "domain"
    COUNT = "count"  # a whole number ≥ 0
    NUMBER = "number"
    DATETIME = "datetime"
    BOOL = "bool"
    TAGS = "tags"  # ';' or ',' separated → lower-case, comma-joined
    JSON = "json"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One importable field."""

    name: str
    type: FieldType = FieldType.TEXT
    max_len: int | None = None


@dataclass(frozen=True, slots=True)
class KindSpec:
    """One import kind: its fields, which columns and values it needs, and its natural key."""

    name: str
    fields: tuple[FieldSpec, ...]
    required_columns: tuple[tuple[str, ...], ...]  # each group: at least one column must exist
    required_values: tuple[str, ...]
    key: tuple[str, ...]

    def field(self, name: str) -> FieldSpec:
        """The field called `name`."""
        return next(f for f in self.fields if f.name == name)

    @property
    def names(self) -> tuple[str, ...]:
        """All field names, in declaration order."""
        return tuple(f.name for f in self.fields)


def _f(table: Table, name: str, type_: FieldType = FieldType.TEXT, column: str | None = None) -> FieldSpec:
    """A field whose maximum length follows the schema column it is stored in."""
    length = getattr(table.c[column or name].type, "length", None)
    return FieldSpec(name, type_, length)


T = FieldType
A, C, E, OP, V = (
    schema.accounts, schema.contacts, schema.events, schema.opportunities, schema.evidence,
)

KINDS: dict[str, KindSpec] = {
    "accounts": KindSpec(
        name="accounts",
        fields=(
            _f(A, "domain", T.DOMAIN), _f(A, "name"), _f(A, "industry"),
            FieldSpec("employees", T.COUNT), FieldSpec("annual_revenue", T.NUMBER),
            _f(A, "country"), FieldSpec("tech_stack", T.TAGS), _f(A, "owner"),
            FieldSpec("churned_at", T.DATETIME),
        ),
        required_columns=(("domain",), ("name",)),
        required_values=("domain", "name"),
        key=("domain",),
    ),
    "contacts": KindSpec(
        name="contacts",
        fields=(
            _f(C, "email", T.EMAIL), _f(C, "first_name"), _f(C, "last_name"), _f(C, "company"),
            _f(C, "title"), _f(C, "seniority"), _f(C, "role"),
            _f(A, "account_domain", T.DOMAIN, column="domain"), _f(C, "owner"),
            _f(C, "source", T.TOKEN), FieldSpec("opted_out", T.BOOL), _f(C, "stage", T.TOKEN),
            FieldSpec("created_at", T.DATETIME),
        ),
        required_columns=(("email",),),
        required_values=("email",),
        key=("email",),
    ),
    "events": KindSpec(
        name="events",
        fields=(
            _f(E, "event_id"), _f(C, "email", T.EMAIL), _f(E, "type", T.TOKEN),
            FieldSpec("occurred_at", T.DATETIME), FieldSpec("two_way", T.BOOL),
            FieldSpec("properties", T.JSON),
        ),
        required_columns=(("event_id",), ("email",), ("type",), ("occurred_at",)),
        required_values=("event_id", "email", "type", "occurred_at"),
        key=("event_id",),
    ),
    "opportunities": KindSpec(
        name="opportunities",
        fields=(
            _f(OP, "opportunity_id", column="external_id"),
            _f(A, "account_domain", T.DOMAIN, column="domain"),
            _f(A, "account_name", column="name"), _f(OP, "name"), _f(OP, "type", T.TOKEN),
            _f(OP, "stage", T.TOKEN), FieldSpec("amount", T.NUMBER),
            FieldSpec("expected_close", T.DATETIME), FieldSpec("signed_at", T.DATETIME),
            FieldSpec("booked_at", T.DATETIME), FieldSpec("lost_reason"), _f(OP, "owner"),
            FieldSpec("contacts"),
        ),
        # Salesforce and HubSpot deal exports name the account, they do not give its domain.
        required_columns=(("opportunity_id",), ("account_domain", "account_name")),
        required_values=("opportunity_id",),
        key=("opportunity_id",),
    ),
    "evidence": KindSpec(
        name="evidence",
        fields=(
            _f(C, "email", T.EMAIL), _f(V, "field", T.TOKEN), FieldSpec("value"),
            _f(V, "confirmed_by"), FieldSpec("confirmed_at", T.DATETIME),
        ),
        required_columns=(("email",), ("field",), ("value",), ("confirmed_by",), ("confirmed_at",)),
        required_values=("email", "field", "value", "confirmed_by", "confirmed_at"),
        key=("email", "field", "confirmed_at"),
    ),
    "spend": KindSpec(
        name="spend",
        fields=(_f(schema.spend, "source", T.TOKEN), FieldSpec("month"), FieldSpec("amount", T.NUMBER)),
        required_columns=(("source",), ("month",), ("amount",)),
        required_values=("source", "month", "amount"),
        key=("source", "month"),
    ),
}
