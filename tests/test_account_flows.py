"""Sign-up confirmation and password reset by e-mail; first sign-in through a trusted header."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import trio
from aiosmtpd.controller import Controller

from tests.conftest import make_config
from tests.oauth_flow import csrf_from, sign_in
from tests.test_access_jwt import AUDIENCE, ISSUER, Signer, jwks
from tests.test_mailer import Inbox, body, start_server
from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.http import create_app
from wildebeest_trio.jobs.worker import run_workers
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.accounts import create_local_account

PASSWORD = "correct horse battery"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, Controller]]:
    inbox = Inbox()
    controller = start_server(inbox)
    yield inbox, controller
    controller.stop()


@pytest.fixture
async def mail_site(
    tmp_path: Path, database_url: str, smtp: tuple[Inbox, Controller], nursery: trio.Nursery
) -> AsyncIterator[tuple[Runtime, Any, Inbox]]:
    inbox, controller = smtp
    config = make_config(
        tmp_path,
        database_url,
        smtp_host="127.0.0.1",
        smtp_port=str(controller.port),
        smtp_security="none",
    )
    async with open_server_runtime(config) as rt:
        nursery.start_soon(run_workers, rt, 1)
        app = create_app(rt)
        async with app.test_app() as test_app:
            yield rt, test_app.test_client(), inbox
        nursery.cancel_scope.cancel()


async def _next_mail(inbox: Inbox, count: int) -> str:
    with trio.fail_after(10):
        while len(inbox.messages()) < count:
            await trio.sleep(0.02)
    return body(inbox.messages()[count - 1], "plain")


def _link(text: str) -> str:
    match = re.search(r"https?://\S+", text)
    assert match, text
    parts = urlsplit(match.group(0))
    return f"{parts.path}?{parts.query}"


async def test_sign_up_is_confirmed_by_mail(mail_site: tuple[Runtime, Any, Inbox]) -> None:
    _, client, inbox = mail_site
    page = await client.get("/auth/sign_up")
    form = {
        "username": "mailed",
        "email": "mailed@example.org",
        "password": PASSWORD,
        "agreement": "1",
        "csrf_token": csrf_from(await page.get_data(as_text=True)),
    }
    assert (await client.post("/auth/sign_up", form=form)).status_code == 200
    refused = await sign_in(client, "mailed@example.org", PASSWORD)
    assert refused.status_code == 401
    assert "confirm your e-mail" in await refused.get_data(as_text=True)
    text = await _next_mail(inbox, 1)
    assert inbox.messages()[0]["To"] == "mailed@example.org"
    link = _link(text)
    assert link.startswith("/auth/confirmation?confirmation_token=")
    confirmed = await client.get(link)
    assert confirmed.status_code == 200
    assert "confirmed" in await confirmed.get_data(as_text=True)
    assert (await sign_in(client, "mailed@example.org", PASSWORD)).status_code == 302
    tampered = await client.get(link[:-3] + "AAA")
    assert tampered.status_code == 400


async def test_password_reset_by_mail(mail_site: tuple[Runtime, Any, Inbox]) -> None:
    rt, client, inbox = mail_site
    await create_local_account(rt, "forgetful", "forgetful@example.org", password=PASSWORD)
    assert (await sign_in(client, "forgetful@example.org", PASSWORD)).status_code == 302
    login_page = await client.get("/auth/sign_in")
    assert "/auth/password/new" in await login_page.get_data(as_text=True)
    page = await client.get("/auth/password/new")
    token = csrf_from(await page.get_data(as_text=True))
    for email in ("nobody@example.org", "forgetful@example.org"):
        response = await client.post(
            "/auth/password/new", form={"email": email, "csrf_token": token}
        )
        assert "If this address belongs to an account" in await response.get_data(as_text=True)
    link = _link(await _next_mail(inbox, 1))
    assert len(inbox.messages()) == 1  # nothing was sent for the unknown address
    form_page = await client.get(link)
    assert form_page.status_code == 200
    reset_token = link.split("reset_password_token=")[1]
    too_long = await client.post(
        "/auth/password/edit",
        form={"reset_password_token": reset_token, "password": "x" * 73, "csrf_token": token},
    )
    assert too_long.status_code == 422
    assert "maximum is 72 characters" in await too_long.get_data(as_text=True)
    changed = await client.post(
        "/auth/password/edit",
        form={
            "reset_password_token": reset_token,
            "password": "a brand new secret",
            "csrf_token": token,
        },
    )
    assert "Password changed" in await changed.get_data(as_text=True)
    # The session that existed before the reset is gone; the old password no longer works.
    assert (await client.get("/settings/applications")).status_code == 302
    assert (await sign_in(client, "forgetful@example.org", PASSWORD)).status_code == 401
    assert (await sign_in(client, "forgetful@example.org", "a brand new secret")).status_code == 302
    reused = await client.post(
        "/auth/password/edit",
        form={
            "reset_password_token": reset_token,
            "password": "yet another secret",
            "csrf_token": token,
        },
    )
    assert reused.status_code == 400


@pytest.fixture
async def access_site(tmp_path: Path, database_url: str) -> AsyncIterator[tuple[Any, Signer]]:
    signer = Signer("kid-1")
    certs = tmp_path / "certs.json"
    certs.write_text(json.dumps(jwks(signer)))
    config = make_config(
        tmp_path,
        database_url,
        access_team_domain=ISSUER,
        access_audience=AUDIENCE,
        access_jwks=str(certs),
    )
    async with open_server_runtime(config) as rt:
        app = create_app(rt)
        async with app.test_app() as test_app:
            yield test_app.test_client(), signer


async def test_trusted_header_first_login(access_site: tuple[Any, Signer]) -> None:
    client, signer = access_site
    header = {"Cf-Access-Jwt-Assertion": signer.token(email="Newcomer@Example.org")}
    first = await client.get("/auth/sign_in?next=/settings/applications", headers=header)
    assert first.status_code == 302
    assert first.headers["Location"].startswith("/auth/first_login?next=")
    page = await client.get(first.headers["Location"], headers=header)
    html = await page.get_data(as_text=True)
    assert "newcomer@example.org" in html
    # Without the header the POST is refused, whatever the form says.
    token = csrf_from(html)
    assert (
        await client.post("/auth/first_login", form={"username": "newcomer", "csrf_token": token})
    ).status_code == 403
    done = await client.post(
        "/auth/first_login",
        headers=header,
        form={
            "username": "newcomer",
            "display_name": "New Comer",
            "csrf_token": token,
            "next": "https://evil.example/",
        },
    )
    assert done.status_code == 302
    assert done.headers["Location"] == "/"
    signed = await client.get("/settings/applications")
    assert signed.status_code == 200
    # The next visit signs in straight away.
    again = await client.get("/auth/sign_in?next=/settings/applications", headers=header)
    assert again.headers["Location"] == "/settings/applications"


async def test_trusted_header_refuses_bad_tokens(access_site: tuple[Any, Signer]) -> None:
    client, signer = access_site
    for bad in (
        signer.token(aud=["someone-else"]),
        signer.token(exp=1),
        Signer("kid-1").token(),
        "not.a.jwt",
    ):
        response = await client.get("/auth/sign_in", headers={"Cf-Access-Jwt-Assertion": bad})
        assert response.status_code == 200  # the ordinary login form, nobody signed in
        assert 'name="password"' in await response.get_data(as_text=True)
    assert (await client.get("/auth/first_login")).status_code == 403
