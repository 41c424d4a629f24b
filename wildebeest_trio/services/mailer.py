"""Outgoing e-mail: an SMTP client, the messages the server sends, and the job that sends them.

Requests never talk to the SMTP server. A request queues a `mail.send` job in
its own unit of work (`enqueue_mail`), so the mail commits with the change that
causes it, and a job worker sends it, retrying with backoff while the server is
unreachable.
"""

from __future__ import annotations

import html as html_lib
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING, Any

import trio

from ..jobs import JobKind, JobRegistry, PermanentFailure
from ..net import FetchError, Outbound

# Re-exported: the one-time token helpers belong with the links these mails carry.
from .onetime import (
    CONFIRM_EMAIL,
    CONFIRMATION_TTL,
    PASSWORD_RESET_TTL,
    RESET_PASSWORD,
    TokenExpired,
    TokenInvalid,
    check_token,
    make_token,
    token_user_id,
)

if TYPE_CHECKING:
    from ..config import Config
    from ..ids import IdGenerator
    from ..runtime import Runtime
    from ..store import Connection

SECURITY_MODES = ("starttls", "tls", "none")


class MailError(Exception):
    """A message could not be sent; the text is a one-line reason.

    `permanent` is set when the server refused the message for good (a 5xx
    reply to the recipient or the content): sending it again cannot succeed.
    """

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


@dataclass(frozen=True)
class MailMessage:
    """What to send, before addressing: subject, plain text and optional HTML."""

    subject: str
    text: str
    html: str | None = None
    #: Further headers (`List-Unsubscribe`), checked like the others.
    headers: tuple[tuple[str, str], ...] = ()


def _one_line(text: Any) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return " ".join(str(text).split())


def _reason(exc: BaseException, host: str, port: int, timeout: float) -> MailError:
    """A one-line MailError for whatever smtplib, ssl or the socket raised."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        replies = list(exc.recipients.values())
        codes = [code for code, _ in replies]
        detail = "; ".join(f"{code} {_one_line(msg)}" for code, msg in replies)
        return MailError(
            f"recipient refused: {detail}", permanent=bool(codes) and min(codes) >= 500
        )
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return MailError(f"SMTP login refused: {exc.smtp_code} {_one_line(exc.smtp_error)}")
    if isinstance(exc, smtplib.SMTPSenderRefused):
        # Usually the configured sender: fixing it needs a restart, after which retries work.
        return MailError(f"sender refused: {exc.smtp_code} {_one_line(exc.smtp_error)}")
    if isinstance(exc, smtplib.SMTPDataError):
        return MailError(
            f"message refused: {exc.smtp_code} {_one_line(exc.smtp_error)}",
            permanent=exc.smtp_code >= 500,
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        return MailError(f"SMTP error: {exc.smtp_code} {_one_line(exc.smtp_error)}")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return MailError(f"{host}:{port}: {_one_line(exc)} (STARTTLS or AUTH not offered)")
    if isinstance(exc, smtplib.SMTPServerDisconnected) and isinstance(
        exc.__context__, TimeoutError
    ):
        # smtplib reports a read timeout as a disconnection.
        return MailError(f"{host}:{port} did not answer within {timeout:g}s")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return MailError(f"{host}:{port} closed the connection: {_one_line(exc)}")
    if isinstance(exc, smtplib.SMTPException):
        return MailError(f"SMTP error: {_one_line(exc)}")
    if isinstance(exc, ssl.SSLError):
        return MailError(f"TLS with {host}:{port} failed: {_one_line(exc)}")
    if isinstance(exc, TimeoutError):
        return MailError(f"{host}:{port} did not answer within {timeout:g}s")
    if isinstance(exc, OSError):
        return MailError(f"cannot reach {host}:{port}: {_one_line(exc.strerror or exc)}")
    return MailError(f"{type(exc).__name__}: {_one_line(exc)}")


def _greet(smtp: smtplib.SMTP, host: str, port: int) -> None:
    """Connect as smtplib's constructor would, and insist on the 220 greeting."""
    smtp._host = host  # type: ignore[attr-defined]  # what STARTTLS and implicit TLS check
    code, message = smtp.connect(host, port)
    if code != 220:
        smtp.close()
        raise smtplib.SMTPConnectError(code, message)


class _PinnedSMTP(smtplib.SMTP):
    """SMTP to an address checked beforehand; the host name still serves TLS checks."""

    def __init__(self, address: str, host: str, port: int, timeout: float, helo: str) -> None:
        self.address = address
        # Greeting with our own domain, as Mastodon does, spares a blocking getfqdn().
        super().__init__(local_hostname=helo, timeout=timeout)
        _greet(self, host, port)

    def _get_socket(self, host: str, port: int, timeout: float) -> Any:
        # smtplib's one hook for making its socket; `host` stays the name for TLS checks.
        return super()._get_socket(self.address, port, timeout)  # type: ignore[misc]


class _PinnedSMTPSSL(smtplib.SMTP_SSL):
    """Implicit-TLS SMTP to an address checked beforehand (see `_PinnedSMTP`)."""

    def __init__(
        self,
        address: str,
        host: str,
        port: int,
        timeout: float,
        helo: str,
        context: ssl.SSLContext,
    ) -> None:
        self.address = address
        super().__init__(local_hostname=helo, timeout=timeout, context=context)
        _greet(self, host, port)

    def _get_socket(self, host: str, port: int, timeout: float) -> Any:
        # SMTP_SSL wraps the socket with `server_hostname=self._host`: the name, not the address.
        return super()._get_socket(self.address, port, timeout)  # type: ignore[misc]


class Mailer:
    """Sends e-mail through the configured SMTP server (disabled when no host is set).

    The server's address is resolved and checked by the runtime's `Outbound` (the
    administrator's server may be private, but stays inside WB_OUTBOUND_ALLOW).
    """

    def __init__(
        self,
        *,
        host: str,
        sender: str,
        outbound: Outbound,
        port: int = 587,
        username: str = "",
        password: str = "",
        security: str = "starttls",
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if security not in SECURITY_MODES:
            raise ValueError(f"security must be one of {', '.join(SECURITY_MODES)}")
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username
        self.password = password
        self.security = security
        self.timeout = timeout
        self.outbound = outbound
        # Tests pass a context trusting their own certificate; production uses the system's.
        self.ssl_context = ssl_context

    @classmethod
    def from_config(
        cls, config: Config, outbound: Outbound, *, ssl_context: ssl.SSLContext | None = None
    ) -> Mailer:
        """A mailer with the `smtp_*` settings."""
        return cls(
            host=config.smtp_host,
            outbound=outbound,
            port=config.smtp_port,
            sender=config.smtp_from,
            username=config.smtp_username,
            password=config.smtp_password,
            security=config.smtp_security,
            timeout=config.smtp_timeout,
            ssl_context=ssl_context,
        )

    @property
    def enabled(self) -> bool:
        """Whether an SMTP server is configured at all."""
        return bool(self.host)

    def build(self, to: str, message: MailMessage) -> EmailMessage:
        """The complete message: headers, a text part and, with `html`, an HTML alternative."""
        msg = EmailMessage()
        try:
            # The default policy refuses CR/LF in header values: no header injection.
            msg["From"] = self.sender
            msg["To"] = to
            msg["Subject"] = message.subject
            for name, value in message.headers:
                msg[name] = value
        except (ValueError, TypeError) as exc:
            raise MailError(f"invalid header: {_one_line(exc)}", permanent=True) from None
        addresses = msg["To"].addresses
        if len(addresses) != 1 or "@" not in addresses[0].addr_spec:
            raise MailError(f"invalid recipient address {to!r}", permanent=True)
        domain = self._domain or None
        msg["Date"] = formatdate(usegmt=True)
        msg["Message-ID"] = make_msgid(domain=domain)
        # RFC 3834: tells mail servers and vacation responders this was sent by a machine.
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(message.text)
        if message.html is not None:
            msg.add_alternative(message.html, subtype="html")
        return msg

    @property
    def _domain(self) -> str:
        """The sender's domain: our name in EHLO and in Message-IDs."""
        return self.sender.rpartition("@")[2].strip(">")

    def _connect(self, address: str) -> smtplib.SMTP:
        context = self.ssl_context or ssl.create_default_context()
        helo = self._domain or "localhost"
        if self.security == "tls":
            return _PinnedSMTPSSL(address, self.host, self.port, self.timeout, helo, context)
        smtp = _PinnedSMTP(address, self.host, self.port, self.timeout, helo)
        try:
            if self.security == "starttls":
                # starttls() raises when the server does not offer it: never fall back to clear.
                smtp.starttls(context=context)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _deliver(self, msg: EmailMessage, address: str) -> None:
        """Blocking: connect, secure, log in, send, quit (runs in a worker thread)."""
        try:
            smtp = self._connect(address)
            try:
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(msg)
            except BaseException:
                smtp.close()
                raise
        except Exception as exc:
            raise _reason(exc, self.host, self.port, self.timeout) from exc
        # Sent: a failed QUIT must not make the job send the message again.
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    async def send(
        self,
        to: str,
        subject: str,
        text: str,
        html: str | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """Send one message now; raises `MailError` with a one-line reason on failure."""
        if not self.enabled:
            raise MailError("no SMTP server is configured (WB_SMTP_HOST)")
        msg = self.build(to, MailMessage(subject, text, html, headers))
        try:
            address = (await self.outbound.addresses(self.host, configured=True))[0]
        except FetchError as exc:
            raise MailError(f"{self.host}:{self.port}: {exc}") from None
        # Socket timeouts bound each SMTP step; this bounds a server that answers slowly
        # at every step. On cancel the thread is abandoned (it ends at its socket timeout).
        with trio.move_on_after(self.timeout * 2) as deadline:
            await trio.to_thread.run_sync(self._deliver, msg, address, abandon_on_cancel=True)
        if deadline.cancelled_caught:
            raise MailError(
                f"{self.host}:{self.port}: sending took longer than {self.timeout * 2:g}s"
            )


# Messages. Pure functions: the caller makes the token and the link.


def page_html(body: str) -> str:
    """A whole HTML message around `body`."""
    return (
        f'<!DOCTYPE html>\n<html><body style="font-family: sans-serif">\n{body}\n</body></html>\n'
    )


def _message(
    subject: str, before: list[str], link: str, label: str, after: list[str]
) -> MailMessage:
    """A message of paragraphs around one link, as plain text and as HTML."""
    text = "\n\n".join([*before, link, *after]) + "\n"
    href = html_lib.escape(link, quote=True)
    parts = [f"<p>{html_lib.escape(p)}</p>" for p in before]
    parts.append(f'<p><a href="{href}">{html_lib.escape(label)}</a></p>')
    # The bare URL too, for clients that strip links.
    parts.append(f"<p>{href}</p>")
    parts += [f"<p>{html_lib.escape(p)}</p>" for p in after]
    return MailMessage(subject=subject, text=text, html=page_html("\n".join(parts)))


def confirmation_message(*, instance: str, username: str, link: str) -> MailMessage:
    """Asks a new user to confirm their address by following `link` (a one-time token link)."""
    return _message(
        f"{instance}: confirm your e-mail address",
        [
            f"Welcome to {instance}, @{username}!",
            "To confirm your e-mail address and activate your account, open this link:",
        ],
        link,
        "Confirm my e-mail address",
        ["If you did not sign up, ignore this message: nothing will be activated."],
    )


def password_reset_message(
    *, instance: str, username: str, link: str, valid_for: int = PASSWORD_RESET_TTL
) -> MailMessage:
    """Offers a password reset through `link` (a one-time token link valid `valid_for` s)."""
    if valid_for >= 3600 and valid_for % 3600 == 0:
        count, unit = valid_for // 3600, "hour"
    else:
        count, unit = max(1, valid_for // 60), "minute"
    validity = f"{count} {unit}" + ("" if count == 1 else "s")
    return _message(
        f"{instance}: reset your password",
        [
            f"Someone asked to reset the password of @{username} on {instance}.",
            f"To choose a new password, open this link within {validity}; it works once:",
        ],
        link,
        "Choose a new password",
        ["If you did not ask for this, ignore this message: your password stays as it is."],
    )


def approval_message(*, instance: str, username: str, link: str) -> MailMessage:
    """Tells a user that their sign-up was approved; `link` is the login page."""
    return _message(
        f"{instance}: your account was approved",
        [
            f"Good news, @{username}: your sign-up on {instance} was approved.",
            "You can log in now:",
        ],
        link,
        "Log in",
        [],
    )


def archive_ready_message(*, instance: str, username: str, link: str) -> MailMessage:
    """Tells a user their archive can be downloaded (Mastodon's `backup_ready`); `link`
    is the settings page offering it."""
    return _message(
        f"{instance}: your archive is ready for download",
        [f"@{username}, the archive of your account on {instance} is ready."],
        link,
        "Download it from your settings",
        ["It will be deleted in 7 days."],
    )


WARNING_SUBJECTS = {
    "none": "a warning from the moderators",
    "disable": "your account was frozen",
    "sensitive": "your media will be marked sensitive",
    "silence": "your account was limited",
    "suspend": "your account was suspended",
}


def warning_message(*, instance: str, username: str, action: str, text: str) -> MailMessage:
    """Tells a user what the moderators did to their account, with their note (no link)."""
    subject = f"{instance}: {WARNING_SUBJECTS.get(action, WARNING_SUBJECTS['none'])}"
    paragraphs = [f"@{username}, the moderators of {instance} took action on your account."]
    if text:
        paragraphs.append(text)
    body = "\n\n".join(paragraphs) + "\n"
    parts = "\n".join(f"<p>{html_lib.escape(p)}</p>" for p in paragraphs)
    page = (
        f'<!DOCTYPE html>\n<html><body style="font-family: sans-serif">\n{parts}\n</body></html>\n'
    )
    return MailMessage(subject=subject, text=body, html=page)


# The durable path: queue in the caller's unit of work, send from a job worker.

MAIL_SEND = JobKind("mail.send", max_attempts=8)


async def enqueue_mail(conn: Connection, ids: IdGenerator, to: str, message: MailMessage) -> None:
    """Queue `message` for `to` inside the caller's unit of work.

    The payload (links and their tokens included) stays in the jobs table until sent.
    """
    payload: dict[str, Any] = {
        "to": to,
        "subject": message.subject,
        "text": message.text,
        "html": message.html,
    }
    if message.headers:
        payload["headers"] = [list(pair) for pair in message.headers]
    await MAIL_SEND.enqueue(conn, ids, payload)


async def send_queued_mail(rt: Runtime, payload: dict[str, Any]) -> None:
    """Job handler for `mail.send`: a `MailError` retries with backoff, a refusal parks it."""
    mailer = Mailer.from_config(rt.config, rt.outbound)
    if not mailer.enabled:
        raise PermanentFailure("no SMTP server is configured (WB_SMTP_HOST)")
    try:
        await mailer.send(
            payload["to"],
            payload["subject"],
            payload["text"],
            payload.get("html"),
            tuple((str(name), str(value)) for name, value in payload.get("headers", ())),
        )
    except MailError as exc:
        if exc.permanent:
            raise PermanentFailure(str(exc)) from exc
        raise


def register(registry: JobRegistry) -> None:
    """Bind this module's job kinds to their handlers."""
    registry.register(MAIL_SEND, send_queued_mail)


__all__ = [
    "CONFIRMATION_TTL",
    "CONFIRM_EMAIL",
    "MAIL_SEND",
    "PASSWORD_RESET_TTL",
    "RESET_PASSWORD",
    "MailError",
    "MailMessage",
    "Mailer",
    "TokenExpired",
    "TokenInvalid",
    "approval_message",
    "check_token",
    "confirmation_message",
    "enqueue_mail",
    "make_token",
    "page_html",
    "password_reset_message",
    "register",
    "send_queued_mail",
    "token_user_id",
]
