"""Moderating whole domains: block, unblock, and ask what applies to a host.

Severities as Mastodon's: `suspend` refuses everything from the domain and delivers
nothing to it; `silence` keeps its accounts out of public timelines and notifications
from non-followed accounts; `noop` only carries `reject_media` / `reject_reports`.
A block covers subdomains (a block of `example.com` covers `social.example.com`).
"""

from __future__ import annotations

import hashlib
import re

from ..ids import IdGenerator, now_ms
from ..runtime import Runtime
from ..store import Connection
from ..store import accounts as account_rows
from ..store import domain_blocks as block_rows
from ..store.rows import DomainBlockRow

SEVERITIES = ("silence", "suspend", "noop")
# One DNS label of an IDNA-encoded host name.
LABEL_RE = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")


class InvalidDomainBlock(ValueError):
    """A domain or severity that cannot be stored (answered 422)."""


def normalize_domain(domain: str) -> str:
    """A host name as blocks store it: lower-case, IDNA-encoded, no port or trailing dot."""
    host = domain.strip().lower().rstrip(".")
    if "://" in host:
        raise InvalidDomainBlock("Domain must be a host name, not a URL")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise InvalidDomainBlock("Domain is not a valid host name") from exc
    if not host or len(host) > 253 or not all(LABEL_RE.match(x) for x in host.split(".")):
        raise InvalidDomainBlock("Domain is not a valid host name")
    return host


async def block_domain(
    conn: Connection,
    ids: IdGenerator,
    domain: str,
    *,
    severity: str = "silence",
    reject_media: bool = False,
    reject_reports: bool = False,
    private_comment: str = "",
    public_comment: str = "",
    obfuscate: bool = False,
) -> DomainBlockRow:
    """Create or change the block of a domain (inside the caller's unit); the stored row."""
    if severity not in SEVERITIES:
        raise InvalidDomainBlock(f"Severity must be one of {', '.join(SEVERITIES)}")
    now = now_ms()
    row = await block_rows.upsert(
        conn,
        {
            "id": ids.next_id(),
            "domain": normalize_domain(domain),
            "severity": severity,
            "reject_media": reject_media,
            "reject_reports": reject_reports,
            "private_comment": private_comment,
            "public_comment": public_comment,
            "obfuscate": obfuscate,
            "now": now,
        },
    )
    await _sync_accounts(conn, row, now, lifted=False)
    return row


# The account column each severity sets on the domain's accounts.
_STANDING = {"suspend": "suspended_at", "silence": "silenced_at"}


async def _sync_accounts(
    conn: Connection, block: DomainBlockRow, now: int, *, lifted: bool
) -> None:
    """Make the accounts of a blocked domain (and its subdomains) stand as the block says,
    as Mastodon's BlockDomainService and UnblockDomainService: `suspend` suspends them,
    `silence` silences them, each marked with the block's creation time, so that a changed
    severity or a lifted block undoes what the block did and nothing a moderator did."""
    mark = block["created_at"]
    for severity, column in _STANDING.items():
        if lifted or block["severity"] != severity:
            await account_rows.mark_domain_accounts(
                conn, block["domain"], column, mark=mark, lift=True, now=now
            )
        else:
            await account_rows.mark_domain_accounts(
                conn, block["domain"], column, mark=mark, lift=False, now=now
            )


async def unblock_domain(conn: Connection, domain: str) -> bool:
    """Lift the block of a domain, and the suspension or silence it put on the domain's
    accounts; whether there was one."""
    host = normalize_domain(domain)
    found = await block_rows.by_domain(conn, host)
    if found is None:
        return False
    await _sync_accounts(conn, found, now_ms(), lifted=True)
    return await block_rows.delete(conn, host)


def public_domain(domain: str, obfuscate: bool) -> str:
    """The domain as the public list shows it: Mastodon masks the middle of an
    obfuscated domain with `*`, keeping a quarter at each end and every dot."""
    if not obfuscate:
        return domain
    length = len(domain)
    visible = length // 4
    return "".join(
        "*" if visible < i < length - visible and c != "." else c for i, c in enumerate(domain)
    )


async def public_blocks(rt: Runtime) -> list[dict[str, str | None]]:
    """Blocks with user-facing effects (silence, suspend), as `/api/v1/instance/domain_blocks`
    lists them: the (maybe masked) domain, its SHA-256 digest, severity and public comment."""
    listed = []
    for row in await rt.store.read(block_rows.all_blocks):
        if row["severity"] not in ("silence", "suspend"):
            continue
        listed.append(
            {
                "domain": public_domain(row["domain"], bool(row["obfuscate"])),
                "digest": hashlib.sha256(row["domain"].encode()).hexdigest(),
                "severity": row["severity"],
                "comment": row["public_comment"] or None,
            }
        )
    return listed
