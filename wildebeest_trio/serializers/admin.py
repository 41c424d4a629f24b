"""Mastodon's admin entities: Admin::Account, Admin::Report, the blocks and allows."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from ..config import Config
from ..store.statuses import StatusBundle
from .accounts import account_entity, role_entity
from .reports import report_fields
from .statuses import status_entities
from .time import iso_ms


def admin_account_entity(
    config: Config, row: Mapping[str, Any], ips: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """An account with its user's columns (`store.admin.admin_account`) as Admin::Account."""
    local = row["user_id"] is not None
    entity: dict[str, Any] = {
        "id": str(row["id"]),
        "username": row["username"],
        "domain": row["domain"],
        "created_at": iso_ms(row["created_at"]),
        "email": row["email"] if local else None,
        "ip": (row["sign_up_ip"] or (ips[0]["ip"] if ips else None)) if local else None,
        "ips": [{"ip": i["ip"], "used_at": iso_ms(i["used_at"])} for i in ips],
        "locale": row["locale"] if local else None,
        "invite_request": (row["sign_up_reason"] or None) if local else None,
        "role": role_entity(row["role"] or "user"),
        "confirmed": bool(row["confirmed_at"]) if local else False,
        "approved": bool(row["approved"]) if local else True,
        "disabled": bool(row["disabled"]) if local else False,
        "silenced": row["silenced_at"] is not None,
        "suspended": row["suspended_at"] is not None,
        "sensitized": row["sensitized_at"] is not None,
        "account": account_entity(config, dict(row)),
        "created_by_application_id": None,
        "invited_by_account_id": None,
    }
    return entity


def admin_report_entity(
    config: Config,
    report: Mapping[str, Any],
    accounts: Mapping[int, dict[str, Any]],
    statuses: list[dict[str, Any]],
    rules: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """A report as Admin::Report; `accounts` holds the Admin::Account entities it names."""

    def account(account_id: int | None) -> dict[str, Any] | None:
        return None if account_id is None else accounts.get(account_id)

    return {
        **report_fields(report),
        "updated_at": iso_ms(report["updated_at"]),
        "account": account(report["account_id"]),
        "target_account": account(report["target_account_id"]),
        "assigned_account": account(report["assigned_account_id"]),
        "action_taken_by_account": account(report["action_taken_by_account_id"]),
        "statuses": statuses,
        "rules": [
            {"id": str(r["id"]), "text": r["text"], "hint": r.get("hint") or ""} for r in rules
        ],
    }


class AdminAccountView(Protocol):
    """An account with its user's columns and the addresses it used (services.admin)."""

    @property
    def row(self) -> Mapping[str, Any]: ...

    @property
    def ips(self) -> Sequence[Mapping[str, Any]]: ...


class ReportViewLike(Protocol):
    """A report with the accounts it names, its statuses and rules (services.admin)."""

    @property
    def report(self) -> Mapping[str, Any]: ...

    @property
    def accounts(self) -> Mapping[int, AdminAccountView]: ...

    @property
    def statuses(self) -> StatusBundle: ...

    @property
    def rules(self) -> Sequence[Mapping[str, Any]]: ...


def admin_report_view_entity(config: Config, view: ReportViewLike) -> dict[str, Any]:
    """A report read with everything it names, as Admin::Report."""
    accounts = {i: admin_account_entity(config, a.row, a.ips) for i, a in view.accounts.items()}
    statuses = status_entities(config, view.statuses)
    return admin_report_entity(config, view.report, accounts, statuses, view.rules)


def admin_domain_block_entity(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "domain": row["domain"],
        "digest": hashlib.sha256(row["domain"].encode()).hexdigest(),
        "created_at": iso_ms(row["created_at"]),
        "severity": row["severity"],
        "reject_media": bool(row["reject_media"]),
        "reject_reports": bool(row["reject_reports"]),
        "private_comment": row["private_comment"] or None,
        "public_comment": row["public_comment"] or None,
        "obfuscate": bool(row["obfuscate"]),
    }


def admin_domain_allow_entity(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": str(row["id"]), "domain": row["domain"], "created_at": iso_ms(row["created_at"])}


def admin_email_domain_block_entity(row: Mapping[str, Any]) -> dict[str, Any]:
    """Admin::EmailDomainBlock (its `history` of sign-up attempts is not kept: empty)."""
    return {
        "id": str(row["id"]),
        "domain": row["domain"],
        "created_at": iso_ms(row["created_at"]),
        "history": [],
    }


def admin_ip_block_entity(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "ip": row["ip"],
        "severity": row["severity"],
        "comment": row["comment"],
        "created_at": iso_ms(row["created_at"]),
        "expires_at": iso_ms(row["expires_at"]),
    }


def admin_canonical_email_block_entity(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": str(row["id"]), "canonical_email_hash": row["canonical_email_hash"]}
