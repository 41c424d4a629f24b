"""Outgoing mail against a real SMTP server (aiosmtpd on 127.0.0.1): plain, STARTTLS, TLS, jobs."""

from __future__ import annotations

import email
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
import trio
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from tests.certs import client_context, self_signed, server_context
from tests.conftest import free_port, loopback_outbound, make_config
from wildebeest_trio.assembly import job_registry, open_server_runtime
from wildebeest_trio.config import ConfigError
from wildebeest_trio.jobs.worker import run_workers
from wildebeest_trio.services.mailer import (
    MAIL_SEND,
    Mailer,
    MailError,
    MailMessage,
    approval_message,
    confirmation_message,
    enqueue_mail,
    password_reset_message,
)
from wildebeest_trio.store import Connection


class Inbox:
    """An aiosmtpd handler that keeps what it receives; refuses recipients named `refuse`."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_RCPT(
        self, server: SMTPServer, session: Session, envelope: Envelope, address: str, _: Any
    ) -> str:
        if address.startswith("refuse@"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 OK"

    def authenticate(
        self, server: SMTPServer, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((data.login, data.password))
        ok = (data.login, data.password) == (b"mailer", b"s3cret")
        # handled=False: aiosmtpd answers 535 itself (handled=True would leave it silent).
        return AuthResult(success=ok, handled=False)

    def messages(self) -> list[EmailMessage]:
        parsed = []
        for envelope in self.envelopes:
            msg = email.message_from_bytes(envelope.original_content or b"", policy=default_policy)
            assert isinstance(msg, EmailMessage)
            parsed.append(msg)
        return parsed


def body(msg: EmailMessage, subtype: str) -> str:
    """The content of the `text/<subtype>` part."""
    part = msg.get_body((subtype,))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("tls"))


def start_server(inbox: Inbox, **smtp_options: Any) -> Controller:
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **smtp_options)
    controller.start()
    return controller


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def plain_server(inbox: Inbox) -> Iterator[Controller]:
    controller = start_server(inbox)
    yield controller
    controller.stop()


def plain_mailer(controller: Controller, **options: Any) -> Mailer:
    return Mailer(
        outbound=loopback_outbound(allow_private=False),
        host="127.0.0.1",
        port=controller.port,
        sender="notifications@social.example",
        security="none",
        timeout=5.0,
        **options,
    )


async def test_text_and_html_parts_and_headers(plain_server: Controller, inbox: Inbox) -> None:
    mailer = plain_mailer(plain_server)
    assert mailer.enabled
    await mailer.send("Alice <alice@example.org>", "Hello ✓", "plain body ✓", "<p>html body</p>")
    [envelope] = inbox.envelopes
    assert envelope.mail_from == "notifications@social.example"
    assert envelope.rcpt_tos == ["alice@example.org"]
    [msg] = inbox.messages()
    assert msg["From"] == "notifications@social.example"
    assert msg["To"] == "Alice <alice@example.org>"
    assert msg["Subject"] == "Hello ✓"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Message-ID"].endswith("@social.example>")
    assert email.utils.parsedate_to_datetime(msg["Date"]).tzinfo is not None
    assert msg.get_content_type() == "multipart/alternative"
    assert body(msg, "plain").strip() == "plain body ✓"
    assert body(msg, "html").strip() == "<p>html body</p>"


async def test_text_only(plain_server: Controller, inbox: Inbox) -> None:
    await plain_mailer(plain_server).send("bob@example.org", "Hi", "just text")
    [msg] = inbox.messages()
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content().strip() == "just text"


@pytest.mark.parametrize(
    ("to", "subject"),
    [
        ("eve@example.org\r\nBcc: victim@example.org", "x"),
        ("eve@example.org", "x\r\nBcc: victim@example.org"),
        ("a@example.org, b@example.org", "two recipients"),
        ("not an address", "x"),
    ],
)
async def test_header_injection_and_bad_addresses(
    plain_server: Controller, inbox: Inbox, to: str, subject: str
) -> None:
    with pytest.raises(MailError) as caught:
        await plain_mailer(plain_server).send(to, subject, "body")
    assert caught.value.permanent
    assert inbox.envelopes == []


async def test_starttls_with_login(certificate: tuple[Path, Path], inbox: Inbox) -> None:
    controller = start_server(
        inbox,
        tls_context=server_context(certificate),
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=inbox.authenticate,
    )
    try:
        mailer = Mailer(
            outbound=loopback_outbound(allow_private=False),
            host="127.0.0.1",
            port=controller.port,
            sender="notifications@social.example",
            username="mailer",
            password="s3cret",
            security="starttls",
            timeout=5.0,
            ssl_context=client_context(certificate),
        )
        await mailer.send("carol@example.org", "Secured", "over STARTTLS")
        assert inbox.logins == [(b"mailer", b"s3cret")]
        assert [e.rcpt_tos for e in inbox.envelopes] == [["carol@example.org"]]

        wrong = Mailer(
            outbound=loopback_outbound(allow_private=False),
            host="127.0.0.1",
            port=controller.port,
            sender="notifications@social.example",
            username="mailer",
            password="wrong",
            timeout=5.0,
            ssl_context=client_context(certificate),
        )
        with pytest.raises(MailError, match="login refused: 535"):
            await wrong.send("carol@example.org", "Secured", "over STARTTLS")
        assert len(inbox.envelopes) == 1
    finally:
        controller.stop()


async def test_starttls_checks_the_certificate(
    certificate: tuple[Path, Path], inbox: Inbox
) -> None:
    controller = start_server(inbox, tls_context=server_context(certificate))
    try:
        # The system trust store does not know the test certificate.
        mailer = Mailer(
            outbound=loopback_outbound(allow_private=False),
            host="127.0.0.1",
            port=controller.port,
            sender="n@social.example",
            timeout=5.0,
        )
        with pytest.raises(MailError, match="TLS") as caught:
            await mailer.send("dave@example.org", "x", "y")
        assert "\n" not in str(caught.value)
        assert inbox.envelopes == []
    finally:
        controller.stop()


async def test_starttls_never_falls_back_to_clear_text(
    plain_server: Controller, inbox: Inbox
) -> None:
    mailer = Mailer(
        outbound=loopback_outbound(allow_private=False),
        host="127.0.0.1",
        port=plain_server.port,
        sender="n@social.example",
        timeout=5.0,
    )
    with pytest.raises(MailError, match="STARTTLS"):
        await mailer.send("dave@example.org", "x", "y")
    assert inbox.envelopes == []


async def test_implicit_tls(certificate: tuple[Path, Path], inbox: Inbox) -> None:
    controller = start_server(inbox, ssl_context=server_context(certificate))
    try:
        mailer = Mailer(
            outbound=loopback_outbound(allow_private=False),
            host="127.0.0.1",
            port=controller.port,
            sender="notifications@social.example",
            security="tls",
            timeout=5.0,
            ssl_context=client_context(certificate),
        )
        await mailer.send("erin@example.org", "TLS", "implicit TLS")
        assert [e.rcpt_tos for e in inbox.envelopes] == [["erin@example.org"]]
    finally:
        controller.stop()


async def test_unreachable_server_is_a_one_line_mail_error() -> None:
    mailer = Mailer(
        outbound=loopback_outbound(allow_private=False),
        host="127.0.0.1",
        port=free_port(),
        sender="n@social.example",
        security="none",
        timeout=3,
    )
    with trio.fail_after(10):
        with pytest.raises(MailError, match=r"cannot reach 127\.0\.0\.1") as caught:
            await mailer.send("frank@example.org", "x", "y")
    assert "\n" not in str(caught.value)
    assert not caught.value.permanent


async def test_silent_server_times_out() -> None:
    """A server that accepts the connection and never greets."""
    listener = trio.socket.socket()
    await listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    mailer = Mailer(
        outbound=loopback_outbound(allow_private=False),
        host="127.0.0.1",
        port=port,
        sender="n@social.example",
        security="none",
        timeout=0.5,
    )
    try:
        with trio.fail_after(10):
            with pytest.raises(MailError, match=r"did not answer within 0\.5s"):
                await mailer.send("gina@example.org", "x", "y")
    finally:
        listener.close()


async def test_refused_recipient_is_permanent(plain_server: Controller, inbox: Inbox) -> None:
    with pytest.raises(MailError, match="550") as caught:
        await plain_mailer(plain_server).send("refuse@example.org", "x", "y")
    assert caught.value.permanent


async def test_disabled_mailer() -> None:
    mailer = Mailer(outbound=loopback_outbound(), host="", sender="n@social.example")
    assert not mailer.enabled
    with pytest.raises(MailError, match="WB_SMTP_HOST"):
        await mailer.send("h@example.org", "x", "y")


def test_from_config(tmp_path: Path) -> None:
    config = make_config(
        tmp_path,
        "sqlite:///:memory:",
        domain="social.example",
        smtp_host="smtp.example",
        smtp_username="u",
        smtp_password="p",
        smtp_security="tls",
        smtp_port=465,
    )
    mailer = Mailer.from_config(config, loopback_outbound())
    assert mailer.enabled
    assert (mailer.host, mailer.port, mailer.security) == ("smtp.example", 465, "tls")
    assert mailer.sender == "notifications@social.example"
    assert not Mailer.from_config(
        make_config(tmp_path, "sqlite:///:memory:"), loopback_outbound()
    ).enabled


def test_smtp_settings(tmp_path: Path) -> None:
    db = "sqlite:///:memory:"
    # Local mode: the port is not part of the sender's domain.
    assert make_config(tmp_path, db).smtp_from == "notifications@127.0.0.1"
    assert make_config(tmp_path, db, domain="a.example:8443").smtp_from == "notifications@a.example"
    assert make_config(tmp_path, db, smtp_from="Social <x@a.example>").smtp_from == (
        "Social <x@a.example>"
    )
    config = make_config(tmp_path, db)
    assert (config.smtp_host, config.smtp_port, config.smtp_security) == ("", 587, "starttls")
    for bad in ({"smtp_security": "ssl"}, {"smtp_port": 0}, {"smtp_timeout": 0}):
        with pytest.raises(ConfigError, match=f"(?i){next(iter(bad))}"):
            make_config(tmp_path, db, **bad)


# Messages


def test_confirmation_message() -> None:
    link = "https://social.example/auth/confirmation?confirmation_token=abc&x=<y>"
    msg = confirmation_message(instance="Social", username="alice", link=link)
    assert "confirm" in msg.subject and "Social" in msg.subject
    assert link in msg.text and "@alice" in msg.text
    assert msg.html is not None
    # Escaped in HTML: `&` and `<` in the link cannot break out of the attribute.
    assert (
        'href="https://social.example/auth/confirmation?confirmation_token=abc&amp;x=&lt;y&gt;"'
        in msg.html
    )
    assert "<y>" not in msg.html


def test_password_reset_message() -> None:
    link = "https://social.example/auth/password/edit?reset_password_token=abc"
    msg = password_reset_message(instance="Social", username="bob", link=link)
    assert "reset" in msg.subject
    assert link in msg.text and "within 1 hour" in msg.text and "@bob" in msg.text
    assert msg.html is not None and "within 1 hour" in msg.html
    shorter = password_reset_message(instance="S", username="b", link=link, valid_for=900)
    assert "within 15 minutes" in shorter.text


def test_approval_message() -> None:
    msg = approval_message(
        instance="Social <Club>", username="carol", link="https://social.example/auth/sign_in"
    )
    assert "approved" in msg.subject
    assert "https://social.example/auth/sign_in" in msg.text and "@carol" in msg.text
    assert msg.html is not None and "Social &lt;Club&gt;" in msg.html


# The job path


async def _queue(rt: Any, to: str, message: MailMessage) -> None:
    async def unit(conn: Connection) -> None:
        await enqueue_mail(conn, rt.ids, to, message)

    await rt.store.write(unit)
    rt.wake_jobs()


async def _jobs(rt: Any) -> list[dict[str, Any]]:
    async def read(conn: Connection) -> list[dict[str, Any]]:
        return await conn.fetch("SELECT * FROM jobs WHERE kind = $1", MAIL_SEND.name)

    return await rt.store.read(read)


def test_job_registry_sends_mail() -> None:
    found = job_registry().lookup("mail.send")
    assert found is not None and found[0].max_attempts == 8


async def test_queued_mail_is_sent_by_a_worker(
    tmp_path: Path, database_url: str, plain_server: Controller, inbox: Inbox
) -> None:
    config = make_config(
        tmp_path,
        database_url,
        domain="social.example",
        smtp_host="127.0.0.1",
        smtp_port=plain_server.port,
        smtp_security="none",
    )
    message = confirmation_message(
        instance="Social", username="alice", link="https://social.example/c?t=1"
    )
    async with open_server_runtime(config) as rt, trio.open_nursery() as nursery:
        await _queue(rt, "alice@example.org", message)
        assert len(await _jobs(rt)) == 1
        nursery.start_soon(run_workers, rt, 1)
        with trio.fail_after(10):
            while not inbox.envelopes or await _jobs(rt):
                await trio.sleep(0.02)
        nursery.cancel_scope.cancel()
    [msg] = inbox.messages()
    assert msg["To"] == "alice@example.org"
    assert msg["From"] == "notifications@social.example"
    assert msg["Subject"] == message.subject
    assert "https://social.example/c?t=1" in body(msg, "plain")
    assert 'href="https://social.example/c?t=1"' in body(msg, "html")


async def test_unreachable_server_retries_the_job(tmp_path: Path, database_url: str) -> None:
    config = make_config(
        tmp_path, database_url, smtp_host="127.0.0.1", smtp_port=free_port(), smtp_security="none"
    )
    async with open_server_runtime(config) as rt, trio.open_nursery() as nursery:
        await _queue(rt, "bob@example.org", MailMessage("s", "t"))
        nursery.start_soon(run_workers, rt, 1)
        with trio.fail_after(10):
            while not (jobs := await _jobs(rt)) or jobs[0]["attempts"] == 0:
                await trio.sleep(0.02)
            while (jobs := await _jobs(rt))[0]["state"] == "running":
                await trio.sleep(0.02)
        nursery.cancel_scope.cancel()
    [job] = jobs
    assert job["state"] == "pending"
    assert job["attempts"] == 1 and job["max_attempts"] == 8
    assert "MailError" in job["last_error"] and "cannot reach 127.0.0.1" in job["last_error"]


@pytest.mark.parametrize(
    ("smtp_host", "to", "reason"), [("127.0.0.1", "refuse@example.org", "550"), ("", "x@y.z", "")]
)
async def test_refused_or_unconfigured_mail_is_parked(
    tmp_path: Path,
    database_url: str,
    plain_server: Controller,
    smtp_host: str,
    to: str,
    reason: str,
) -> None:
    config = make_config(
        tmp_path,
        database_url,
        smtp_host=smtp_host,
        smtp_port=plain_server.port,
        smtp_security="none",
    )
    async with open_server_runtime(config) as rt, trio.open_nursery() as nursery:
        await _queue(rt, to, MailMessage("s", "t"))
        nursery.start_soon(run_workers, rt, 1)
        with trio.fail_after(10):
            while (jobs := await _jobs(rt))[0]["state"] != "parked":
                await trio.sleep(0.02)
        nursery.cancel_scope.cancel()
    assert jobs[0]["attempts"] == 1
    assert "PermanentFailure" in jobs[0]["last_error"]
    assert (reason or "WB_SMTP_HOST") in jobs[0]["last_error"]


async def test_a_server_outside_the_allow_list_is_not_contacted() -> None:
    """The administrator's SMTP server may be private, but stays inside WB_OUTBOUND_ALLOW."""
    for host in ("93.184.216.34", "192.168.1.25"):
        mailer = Mailer(
            outbound=loopback_outbound(allow_private=False), host=host, sender="n@social.example"
        )
        # The conftest guard fails the test if anything connects to it.
        with pytest.raises(MailError, match="outside WB_OUTBOUND_ALLOW") as caught:
            await mailer.send("ivy@example.org", "x", "y")
        assert not caught.value.permanent
