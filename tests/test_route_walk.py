"""Every route of the URL map, sent malformed path, query and body values: no 5xx.

Unicode digits (`²` passes `str.isdigit()` and fails `int()`), ids past 2^63-1, negative
and huge numbers, NUL and invalid UTF-8, very long segments; JSON that is malformed or
nested deep, form bodies that are not UTF-8. Anonymous, with a token holding every scope,
and as a signed-in admin in a browser (with the form's CSRF token).
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote

import pytest
import trio
from PIL import Image
from werkzeug.datastructures import FileStorage

from tests.oauth_flow import csrf_from, register_app, token_for
from tests.social import PASSWORD
from tests.web_helpers import local_user, log_in
from wildebeest_trio.runtime import Runtime

ALL_SCOPES = "read write follow push profile admin:read admin:write"

# Path segments, already percent-encoded as they go on the wire.
SEGMENTS = [
    quote("²"),
    quote("٣"),  # ARABIC-INDIC DIGIT THREE
    quote("１"),  # FULLWIDTH DIGIT ONE
    "9" * 30,
    "99999999999999999999",
    "9223372036854775808",  # 2^63
    "-1",
    "0",
    "1e3",
    "%00",
    "%FF",
    "%20",
    "..",
    "x" * 3000,
]
# Query and body values (unencoded).
VALUES = ["²", "9" * 30, "9223372036854775808", "-1", str(10**30), "1e3", "\x00", "", "x" * 500]
# Every parameter name the HTTP layer reads, and the usual list forms.
NAMES = """access_token account_id account_ids acct action agreement all any bot category choices
client_id client_name client_secret code code_verifier comment context current_password
data[policy] decision delete_media description discoverable display_name domain duration email
exclude_direct exclude_reblogs exclude_replies exclude_types exclude_unreviewed exclusive
expand_accounts expires_in extended_description fields_attributes[][name]
fields_attributes[][value] fields_attributes[0][name] fields_attributes[²][value]
filter_action focus following force_login format forward grant_type grouped_types
hide_collections hint id in_reply_to_id include_filtered indexable irreversible keyword
keywords_attributes[][keyword] keywords_attributes[][id] keywords_attributes[][_destroy]
keywords_attributes[0][whole_word] language languages limit local locale locked max_id
media_ids min_id since_id name next none note notice notifications notify offset only_media
origin page password password_confirmation phrase pinned policy poll[expires_in]
poll[hide_totals] poll[multiple] poll[options][] private_comment public_comment reason reblogs
redirect_uri redirect_uris registrations reject_media reject_reports remote replies_policy
reset_password_token resolved rule_id rule_ids scheduled_at scope scopes sensitive severity
shortcode source[language] source[privacy] source[sensitive] spoiler_text status status_id
status_ids stream subscription[standard] subscription[endpoint] subscription[keys][p256dh]
subscription[keys][auth] tag tagged text timeline title token type types username visibility
website whole_word with_dismissed home[last_read_id] notifications[last_read_id]
id[] account_id[] status_ids[] media_ids[] choices[] types[] exclude_types[] grouped_types[]
rule_ids[] languages[] context[] account_ids[] thumbnail""".split()
# Names whose values are read one by one by the paging code; each gets its own request.
PAGING = ["limit", "offset", "max_id", "since_id", "min_id", "page", "duration", "expires_in"]
VERY_DEEP = b"[" * 1100 + b"]" * 1100
IDENTITIES = ["anonymous", "token", "browser"]
ANSWER_WITHIN = 20.0
VARIABLE = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


@dataclass
class Walk:
    """The clients and the records whose ids make paths that reach the handlers."""

    anonymous: Any
    token: Any
    browser: Any
    headers: dict[str, str]
    csrf: str
    known: dict[str, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    slowest: tuple[float, str] = (0.0, "")

    async def send(
        self, who: str, method: str, url: str, body: bytes | None = None, kind: str = ""
    ) -> None:
        client = {"anonymous": self.anonymous, "token": self.token, "browser": self.browser}[who]
        headers = dict(self.headers) if who == "token" else {}
        if kind:
            headers["Content-Type"] = kind
        # As Hypercorn hands the path over: percent-decoded (invalid UTF-8 replaced).
        path, mark, query = url.partition("?")
        target = unquote(path) + mark + query
        started = time.monotonic()
        with trio.move_on_after(ANSWER_WITHIN) as waited:
            response = await client.open(target, method=method, data=body, headers=headers)
        self.slowest = max(self.slowest, (time.monotonic() - started, f"{method} {url[:80]}"))
        if waited.cancelled_caught:
            self.failures.append(f"{who} {method} {url[:150]} {kind} -> no answer")
            return
        if response.status_code >= 500:
            text = (await response.get_data(as_text=True))[:200]
            self.failures.append(
                f"{who} {method} {url[:150]} {kind} -> {response.status_code} {text}"
            )


def _in_a_week() -> str:
    return (datetime.now(UTC) + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 200, 30)).save(out, "PNG")
    return out.getvalue()


async def _records(rt: Runtime, walk: Walk) -> None:
    """A record of each kind a path names, owned by the walking user where it has an owner."""

    async def api(method: str, path: str, **kwargs: Any) -> Any:
        response = await walk.token.open(path, method=method, headers=walk.headers, **kwargs)
        assert response.status_code in (200, 202), (path, await response.get_data(as_text=True))
        return await response.get_json()

    bob = await local_user(rt, "bob")
    walk.known["account_id"] = str(bob)
    await api("POST", f"/api/v1/accounts/{bob}/follow")
    media = await api(
        "POST",
        "/api/v2/media",
        files={"file": FileStorage(io.BytesIO(_png()), filename="a.png", content_type="image/png")},
    )
    walk.known["attachment_id"] = media["id"]
    status = await api(
        "POST",
        "/api/v1/statuses",
        json={"status": "#trio walk", "poll": {"options": ["a", "b"], "expires_in": 3600}},
    )
    walk.known["status_id"] = status["id"]
    walk.known["poll_id"] = status["poll"]["id"]
    walk.known["list_id"] = (await api("POST", "/api/v1/lists", json={"title": "l"}))["id"]
    made = await api(
        "POST",
        "/api/v2/filters",
        json={"title": "f", "context": ["home"], "keywords_attributes": [{"keyword": "k"}]},
    )
    walk.known["filter_id"] = made["id"]
    walk.known["keyword_id"] = made["keywords"][0]["id"]
    filtered = await api(
        "POST", f"/api/v2/filters/{made['id']}/statuses", json={"status_id": status["id"]}
    )
    walk.known["filter_status_id"] = filtered["id"]
    scheduled = await api(
        "POST", "/api/v1/statuses", json={"status": "later", "scheduled_at": _in_a_week()}
    )
    walk.known["scheduled_id"] = scheduled["id"]
    walk.known.update(
        name="trio",
        hashtag="trio",
        handle="alice",
        username="alice",
        version="2.0",
        kind="follows",
        which="avatar",
        style="original",
        action="approve",
    )


@pytest.fixture
async def walk(rt: Runtime) -> AsyncIterator[Walk]:
    from wildebeest_trio.http import create_app
    from wildebeest_trio.services.instance import ensure_instance_keys

    await ensure_instance_keys(rt)
    app = create_app(rt)
    async with app.test_app() as test_app:
        await local_user(rt, "alice", role="admin")
        token_client = test_app.test_client()
        registered = await register_app(token_client, scopes=ALL_SCOPES)
        token = await token_for(
            token_client, registered, "alice@example.org", PASSWORD, scope=ALL_SCOPES
        )
        token_client.cookie_jar.clear()
        browser = test_app.test_client()
        await log_in(browser, "alice")
        page = await browser.get("/settings/profile")
        csrf = csrf_from(await page.get_data(as_text=True))
        result = Walk(
            anonymous=test_app.test_client(),
            token=token_client,
            browser=browser,
            headers={"Authorization": f"Bearer {token}"},
            csrf=csrf,
        )
        await _records(rt, result)
        yield result


def _routes(app_rules: Any) -> Iterator[tuple[str, str, list[str], list[str]]]:
    """(rule, method, variables, who walks it) for every HTTP rule but static files."""
    for rule in sorted(app_rules, key=lambda r: r.rule):
        if rule.websocket or rule.rule.startswith("/static/"):
            continue  # the streaming WebSocket has its own tests (test_json_bounds too)
        # An authorized server-sent event stream never ends: only its refusals are walked.
        who = ["anonymous"] if rule.endpoint.startswith("streaming.sse_") else IDENTITIES
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.rule, method, VARIABLE.findall(rule.rule), who


def _path(rule: str, values: dict[str, str]) -> str:
    return VARIABLE.sub(lambda m: values[m.group(1)], rule)


def _query(value: str, names: list[str]) -> str:
    return "&".join(f"{quote(n, safe='[]')}={quote(value)}" for n in names)


def _form(value: bytes, csrf: str) -> bytes:
    fields = [quote(n, safe="[]").encode() + b"=" + value for n in NAMES]
    return b"&".join([b"csrf_token=" + csrf.encode(), *fields])


def _bodies(csrf: str) -> list[tuple[bytes, str]]:
    """Request bodies: malformed and deep JSON, JSON and forms full of odd values, and
    forms and multipart bodies that are not UTF-8."""
    bodies: list[tuple[bytes, str]] = [
        (b'{"status": ', "application/json"),
        (VERY_DEEP, "application/json"),
        (
            json.dumps(
                {"status": [[[["x"]]]], "extra": json.loads("[" * 101 + "]" * 101)}
            ).encode(),
            "application/json",
        ),
        (b"\xff\xfe{}", "application/json"),
        (
            b"status=%FF%FE&csrf_token=" + csrf.encode() + b"&limit=\xff\xfe",
            "application/x-www-form-urlencoded",
        ),
        (_form(b"%FF", csrf), "application/x-www-form-urlencoded"),
        (
            b'--b\r\nContent-Disposition: form-data; name="status"\r\n\r\n\xff\xfe\r\n'
            b'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
            + csrf.encode()
            + b'\r\n--b\r\nContent-Disposition: form-data; name="file"; filename="\xff.png"\r\n'
            b"Content-Type: image/png\r\n\r\n\xff\xd8\r\n--b--\r\n",
            "multipart/form-data; boundary=b",
        ),
    ]
    for value in VALUES:
        bodies.append((json.dumps({n: value for n in NAMES}).encode(), "application/json"))
        bodies.append((_form(quote(value).encode(), csrf), "application/x-www-form-urlencoded"))
    for number in (10**30, -1, 2**63, 1.5, True, None):
        bodies.append((json.dumps({n: number for n in NAMES}).encode(), "application/json"))
    bodies.append(
        (json.dumps({n: [v for v in VALUES] for n in NAMES}).encode(), "application/json")
    )
    bodies.append(
        (json.dumps({n: {"0": "²", "x": {}} for n in NAMES}).encode(), "application/json")
    )
    return bodies


# Each part walks every other route: two tests of a part run on two workers at once (a
# whole part took minutes, a long test holds the run open and nears the time limit).
HALVES = 2


@pytest.mark.parametrize("half", range(HALVES))
@pytest.mark.parametrize("part", ["paths", "queries", "bodies"])
async def test_malformed_values_never_answer_5xx(walk: Walk, part: str, half: int) -> None:
    app = walk.token.app
    routes = list(_routes(app.url_map.iter_rules()))
    assert len(routes) > 200
    defaults = {name: walk.known.get(name, "1") for _, _, names, _ in routes for name in names}
    bodies = _bodies(walk.csrf)
    for rule, method, names, identities in routes[half::HALVES]:
        plain = _path(rule, defaults)
        if part == "paths":
            for name in names:
                for segment in SEGMENTS:
                    url = _path(rule, {**defaults, name: segment})
                    for who in identities:
                        await walk.send(who, method, url)
        elif part == "queries":
            for value in VALUES:
                for who in identities[:2]:
                    await walk.send(who, method, f"{plain}?{_query(value, NAMES)}")
            if method == "GET":
                for name in PAGING:
                    for value in ("²", str(10**30), "-1", "99999999999999999999"):
                        await walk.send(identities[-1], method, f"{plain}?{_query(value, [name])}")
        elif method in ("POST", "PUT", "PATCH", "DELETE"):
            for body, kind in bodies:
                for who in identities:
                    await walk.send(who, method, plain, body, kind)
    print(f"slowest answer: {walk.slowest[0]:.2f} s for {walk.slowest[1]}")
    assert not walk.failures, "\n".join(walk.failures[:80]) + f"\n({len(walk.failures)} in all)"
