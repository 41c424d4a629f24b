"""Fake remote servers on 127.0.0.1: one `RemoteServer` answers for one host or several (a port
each), serves ActivityPub documents, WebFinger and files, keeps every request, takes
deliveries (verifying their signatures when asked) and answers with chosen statuses or
delays. Its actors have real keys and sign what they deliver to the instance under test."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
import trustme
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve
from quart import Response, request
from quart_trio import QuartTrio

from tests.fakes import rows
from tests.ports import free_port
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.signatures import (
    SignatureError,
    generate_rsa_keypair,
    parse_signature,
    sign_request,
    verify_request,
)
from wildebeest_trio.store import accounts as account_rows

AS = "https://www.w3.org/ns/activitystreams"
PUBLIC = f"{AS}#Public"
CONTEXT = [AS, "https://w3id.org/security/v1"]
AP = "application/activity+json"
JRD = "application/jrd+json"
#: Where a server's host-meta sends WebFinger clients (as a server whose WebFinger lives
#: elsewhere does); it is answered like /.well-known/webfinger.
FINGER = "/finger"


@dataclass
class RemoteActor:
    """An actor on a fake server, with its private key."""

    uri: str
    name: str
    private_pem: str
    host: str

    @property
    def key_id(self) -> str:
        return f"{self.uri}#main-key"

    @property
    def followers(self) -> str:
        return f"{self.uri}/followers"


@dataclass
class Request:
    """One request a server received; header names in lower case."""

    method: str
    port: int
    path: str
    headers: dict[str, str]
    body: bytes
    #: The key of the signature the server verified on it (when it verifies).
    key_id: str | None = None
    #: The client's port: one per connection.
    client_port: int = 0

    @property
    def url(self) -> str:
        return f"http://{self.headers.get('host', '')}{self.path}"

    @property
    def signed(self) -> bool:
        return "signature" in self.headers

    @property
    def scheme(self) -> str:
        """How it is signed: RFC 9421 (with `Signature-Input`) or draft-cavage."""
        return "rfc9421" if "signature-input" in self.headers else "cavage"

    @property
    def activity(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class Answer:
    """What a server answers for a URL or a whole origin instead of its usual answer."""

    #: None: the usual answer, once `delay` has passed.
    status: int | None
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    #: Given this many times, then forgotten; None: until `answers` is cleared.
    times: int | None = None


@dataclass
class RemoteServer:
    """Fake remote hosts, one per port, served by one app (a URL's host picks the host and
    its name is kept in URLs, so `localhost` and `127.0.0.1` make two origins of one host).

    Answers GETs from `files`, `documents` and `webfinger` (404 otherwise), takes every POST
    as a delivery, and records all it was asked; `answers` override any of it."""

    ports: list[int]
    #: ActivityStreams documents by URL (changed in place, they are served changed).
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Anything else by URL: (body, content type); served before documents and WebFinger.
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    #: WebFinger answers by resource (`acct:name@host`).
    webfinger: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Chosen answers by URL or origin (a URL's own first), used in order.
    answers: dict[str, list[Answer]] = field(default_factory=dict)
    #: Refuse (`refusal_status`) each POST whose signature `keys` does not verify.
    verify: bool = False
    #: The keys deliveries may be signed with: key id -> public PEM.
    keys: dict[str, str] = field(default_factory=dict)
    #: With `verify`, refuse draft-cavage signatures, as a server taking only RFC 9421 does.
    rfc9421_only: bool = False
    #: Serve documents only to GETs signed by an actor whose own document (fetched from its
    #: server) verifies the signature, as Mastodon's secure mode and GoToSocial do.
    signed_fetches: bool = False
    #: What else refuses a signer's actor document (None: nothing), for `signed_fetches`.
    signer_rule: Callable[[dict[str, Any]], str | None] | None = None
    #: The status a refused signature is answered with.
    refusal_status: int = 401
    #: The status an accepted POST is answered with.
    accept_status: int = 202
    #: Seconds every request waits before it is answered.
    delay: float = 0.0
    #: URLs whose requests are held unanswered while they are listed.
    held: set[str] = field(default_factory=set)
    #: Every request, in order.
    requests: list[Request] = field(default_factory=list)
    #: The POSTs accepted.
    received: list[Request] = field(default_factory=list)
    #: What each signature check concluded, in order: "ok" or why it refused.
    verdicts: list[str] = field(default_factory=list)
    #: How many requests it is answering now, and the most it answered at once.
    at_once: int = 0
    most_at_once: int = 0
    #: The last number given to an activity or note id.
    counter: int = 0
    #: `https` when it serves TLS (with a certificate of the tests' CA, `start_remote(tls=)`).
    scheme: str = "http"

    def origin(self, index: int = 0, host: str = "127.0.0.1") -> str:
        """The origin of host `index` under the name `host` (any name reaches its port)."""
        return f"{self.scheme}://{host}:{self.ports[index]}"

    @property
    def base(self) -> str:
        """The first host's origin."""
        return self.origin()

    @property
    def host(self) -> str:
        """The first host's `host:port`."""
        return self.base.partition("://")[2]

    @property
    def refused(self) -> list[str]:
        """Why signatures were refused."""
        return [v for v in self.verdicts if v != "ok"]

    def gets(self, url: str) -> int:
        """How many times `url` was asked for."""
        return sum(1 for r in self.requests if r.method == "GET" and r.url == url)

    def at(self, index: int, path: str | None = None) -> list[Request]:
        """The POSTs host `index` accepted (at `path`)."""
        port = self.ports[index]
        return [d for d in self.received if d.port == port and (path is None or d.path == path)]

    def of_type(self, kind: str) -> list[Request]:
        """The accepted POSTs of activities of type `kind`."""
        return [d for d in self.received if d.activity.get("type") == kind]

    def answer(
        self,
        target: str,
        status: int | None = None,
        body: bytes | str = b"",
        *,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        times: int | None = None,
    ) -> None:
        """Answer requests for `target` (a URL or an origin) so, after those chosen before."""
        self.answers.setdefault(target, []).append(
            Answer(status, body, headers or {}, delay, times)
        )

    def put(self, document: dict[str, Any]) -> dict[str, Any]:
        """Serve an ActivityStreams document at its id."""
        self.documents[document["id"]] = document
        return document

    def put_file(self, url: str, body: bytes | str, content_type: str) -> str:
        """Serve `body` at `url`; the URL."""
        self.files[url] = (body.encode() if isinstance(body, str) else body, content_type)
        return url

    def actor(
        self,
        name: str,
        *,
        host: str = "127.0.0.1",
        index: int = 0,
        display_name: str | None = None,
        locked: bool = False,
        also_known_as: list[str] | None = None,
        actor_type: str = "Person",
        summary: str = "",
        **extra: Any,
    ) -> RemoteActor:
        """An actor with a fresh key on host `index` (named `host`), served with its
        WebFinger answer; `extra` adds to its document."""
        private_pem, public_pem = generate_rsa_keypair()
        origin = self.origin(index, host)
        uri = f"{origin}/users/{name}"
        document = self.put(
            {
                "@context": CONTEXT,
                "id": uri,
                "type": actor_type,
                "preferredUsername": name,
                "name": name.title() if display_name is None else display_name,
                "summary": summary,
                "inbox": f"{uri}/inbox",
                "outbox": f"{uri}/outbox",
                "followers": f"{uri}/followers",
                "following": f"{uri}/following",
                "endpoints": {"sharedInbox": f"{origin}/inbox"},
                "manuallyApprovesFollowers": locked,
                "alsoKnownAs": also_known_as or [],
                "publicKey": {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": public_pem},
                **extra,
            }
        )
        acct = f"{name}@{origin.partition('://')[2]}"
        links = [{"rel": "self", "type": AP, "href": uri}]
        if "url" in document:
            profile = {"rel": "http://webfinger.net/rel/profile-page", "href": document["url"]}
            links.insert(0, profile)
        self.webfinger[f"acct:{acct}"] = {"subject": f"acct:{acct}", "links": links}
        return RemoteActor(uri, name, private_pem, origin.partition("://")[2])

    def next_id(self, actor: RemoteActor, kind: str) -> str:
        self.counter += 1
        return f"{actor.uri}/{kind}/{self.counter}"

    def note(
        self, actor: RemoteActor, content: str = "<p>Hello</p>", **extra: Any
    ) -> dict[str, Any]:
        """A public Note by `actor` (served, so it can be fetched)."""
        note_id = self.next_id(actor, "statuses")
        note: dict[str, Any] = {
            "id": note_id,
            "type": "Note",
            "attributedTo": actor.uri,
            "content": content,
            "published": "2026-01-01T00:00:00Z",
            "to": [PUBLIC],
            "cc": [actor.followers],
            "url": note_id,
        }
        note.update(extra)
        return self.put(note)

    def activity(self, actor: RemoteActor, kind: str, obj: Any, **extra: Any) -> dict[str, Any]:
        return {
            "@context": CONTEXT,
            "id": self.next_id(actor, "activities"),
            "type": kind,
            "actor": actor.uri,
            "object": obj,
            **extra,
        }


def _app(server: RemoteServer) -> QuartTrio:
    app = QuartTrio("fake-remote")

    @app.route("/", defaults={"path": ""}, methods=["GET", "POST"])
    @app.route("/<path:path>", methods=["GET", "POST"])
    async def handle(path: str) -> Response:
        server.at_once += 1
        server.most_at_once = max(server.most_at_once, server.at_once)
        try:
            return await _answer(server)
        finally:
            server.at_once -= 1

    return app


async def _answer(server: RemoteServer) -> Response:
    host = request.headers.get("Host", "")
    origin = f"{server.scheme}://{host}"
    url = f"{origin}{request.path}"
    seen = Request(
        request.method,
        int(host.rsplit(":", 1)[1]),
        request.path,
        {name.lower(): value for name, value in request.headers.items()},
        await request.get_data(),
        client_port=request.scope["client"][1],
    )
    server.requests.append(seen)
    while url in server.held:
        await trio.sleep(0.02)
    chosen = _chosen(server, url, origin)
    if chosen is not None:
        await trio.sleep(chosen.delay)
        if chosen.status is not None:
            return Response(chosen.body, status=chosen.status, headers=chosen.headers)
    await trio.sleep(server.delay)
    if seen.method == "POST":
        return _take(server, seen, url)
    return await _serve(server, seen, url)


def _chosen(server: RemoteServer, url: str, origin: str) -> Answer | None:
    """The answer chosen for `url` (or else its origin), counted as given."""
    for target in (url, origin):
        queued = server.answers.get(target)
        if queued:
            chosen = queued[0]
            if chosen.times is not None:
                chosen.times -= 1
                if chosen.times == 0:
                    queued.pop(0)
            return chosen
    return None


def _take(server: RemoteServer, seen: Request, url: str) -> Response:
    """A delivery: accepted, or refused for its signature."""
    if server.verify:
        problem = _delivery_problem(server, seen, url)
        server.verdicts.append(problem or "ok")
        if problem is not None:
            return Response(problem, status=server.refusal_status)
    server.received.append(seen)
    return Response("", status=server.accept_status)


def _delivery_problem(server: RemoteServer, seen: Request, url: str) -> str | None:
    """Why a delivery's signature is refused, as Mastodon decides; None when it is not."""
    if server.rfc9421_only and seen.scheme == "cavage":
        return "only RFC 9421 signatures are accepted"
    try:
        key_id = parse_signature("POST", url, seen.headers).key_id
        pem = server.keys.get(key_id)
        if pem is None:
            raise SignatureError(f"unknown key {key_id}")
        verify_request("POST", url, seen.headers, seen.body, public_key=pem)
    except SignatureError as exc:
        return str(exc)
    seen.key_id = key_id
    return None


async def _serve(server: RemoteServer, seen: Request, url: str) -> Response:
    if url in server.files:
        body, content_type = server.files[url]
        return Response(body, content_type=content_type)
    if url in server.documents:
        if server.signed_fetches:
            problem = await _fetch_problem(server, seen, url)
            server.verdicts.append(problem or "ok")
            if problem is not None:
                return Response(json.dumps({"error": problem}), status=server.refusal_status)
        return Response(json.dumps(server.documents[url]), content_type=AP)
    if seen.path in ("/.well-known/webfinger", FINGER):
        found = server.webfinger.get(request.args.get("resource", ""))
        if found is not None:
            return Response(json.dumps(found), content_type=JRD)
    if seen.path == "/.well-known/host-meta":
        origin = url.removesuffix(seen.path)
        xrd = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">'
            f'<Link rel="lrdd" template="{origin}{FINGER}?resource={{uri}}"/></XRD>'
        )
        return Response(xrd, content_type="application/xrd+xml")
    return Response("", status=404)


async def _fetch_problem(server: RemoteServer, seen: Request, url: str) -> str | None:
    """Why a signed GET is refused: its signer's actor is fetched from the signer's server
    for the key; None when it is not refused."""
    try:
        key_id = parse_signature("GET", url, seen.headers).key_id
    except SignatureError as exc:
        return f"not signed: {exc}"
    async with httpx.AsyncClient() as client:
        fetched = await client.get(key_id.split("#")[0], headers={"Accept": AP})
    signer = fetched.json()
    problem = server.signer_rule(signer) if server.signer_rule is not None else None
    if problem is not None:
        return problem
    try:
        verify_request(
            "GET", url, seen.headers, None, public_key=signer["publicKey"]["publicKeyPem"]
        )
    except SignatureError as exc:
        return f"bad signature: {exc}"
    seen.key_id = key_id
    return None


def distinct_ports(count: int) -> list[int]:
    """`count` free ports, all different."""
    return [free_port() for _ in range(count)]


def ca_pem_file(ca: trustme.CA, folder: Path) -> Path:
    """The tests' CA certificate as a PEM file (what `WB_CA_BUNDLE` or `SSL_CERT_FILE` name)."""
    path = folder / "test-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


async def start_remote(
    nursery: trio.Nursery,
    hosts: int = 1,
    *,
    tls: tuple[trustme.CA, Path] | None = None,
    names: tuple[str, ...] = ("127.0.0.1", "localhost"),
    **settings: Any,
) -> RemoteServer:
    """Serve a fake server of `hosts` hosts in `nursery`; `settings` are its fields. With
    `tls` (a CA and a folder for the key files) it serves https with a certificate the CA
    issued for `names`."""
    server = RemoteServer(ports=distinct_ports(hosts), **settings)
    config = HypercornConfig()
    config.bind = [f"127.0.0.1:{port}" for port in server.ports]
    config.accesslog = None
    config.errorlog = None
    if tls is not None:
        ca, folder = tls
        issued = ca.issue_cert(*names)
        config.certfile = str(folder / "server-cert.pem")
        config.keyfile = str(folder / "server-key.pem")
        issued.cert_chain_pems[0].write_to_path(config.certfile)
        for extra in issued.cert_chain_pems[1:]:
            extra.write_to_path(config.certfile, append=True)
        issued.private_key_pem.write_to_path(config.keyfile)
        server.scheme = "https"
    await nursery.start(serve, _app(server), config)
    return server


@pytest.fixture(scope="session")
def tls_ca() -> trustme.CA:
    """The tests' own certificate authority (https servers on 127.0.0.1 carry its certificates;
    the instance under test trusts it only when told to)."""
    return trustme.CA()


@pytest.fixture
async def remote(nursery: trio.Nursery) -> AsyncIterator[RemoteServer]:
    """One fake remote host taking every delivery unchecked."""
    yield await start_remote(nursery)


@pytest.fixture
async def hosts(nursery: trio.Nursery) -> AsyncIterator[RemoteServer]:
    """Four fake remote hosts verifying each delivery's signature with the keys trusted
    (`trust_local_key`)."""
    yield await start_remote(nursery, 4, verify=True)


async def trust_local_key(rt: Runtime, server: RemoteServer, username: str) -> str:
    """Let the server verify a local account's signatures; its public PEM."""
    row = await rt.store.read(account_rows.local_actor, username)
    assert row is not None
    server.keys[f"{row['uri']}#main-key"] = row["public_key_pem"]
    return str(row["public_key_pem"])


async def account_on(
    rt: Runtime,
    server: RemoteServer,
    index: int,
    username: str,
    *,
    shared_inbox: bool = True,
    domain: str | None = None,
    key: tuple[str, str] | None = None,
) -> int:
    """A remote account living on the server's host `index`, known to `rt` (its domain is
    `h<index>.test` unless given); its id."""
    return await rows.remote_account(
        rt,
        username,
        domain or f"h{index}.test",
        origin=server.origin(index),
        shared_inbox=shared_inbox,
        key=key,
    )


async def wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    """Poll until `predicate()` is true (deliveries are asynchronous)."""
    with trio.fail_after(timeout):
        while not predicate():
            await trio.sleep(0.02)


def signed_post(
    url: str, body: bytes, key_id: str, private_pem: str, **options: Any
) -> dict[str, str]:
    """The headers of a POST of `body` to `url`, signed with the key (`options`: those of
    `sign_request`, such as `scheme` and `now`)."""
    headers = {"Content-Type": AP}
    headers.update(
        sign_request("POST", url, headers, body, key_id=key_id, private_key=private_pem, **options)
    )
    return headers


def signed_headers(
    rt: Runtime, path: str, body: bytes, key_id: str, private_pem: str, **options: Any
) -> dict[str, str]:
    """The headers of a signed POST of `body` to `path` on the instance under test."""
    return signed_post(f"{rt.config.base_url}{path}", body, key_id, private_pem, **options)


async def deliver(
    client: Any,
    rt: Runtime,
    actor: RemoteActor,
    activity: dict[str, Any],
    *,
    path: str = "/inbox",
    signer: RemoteActor | None = None,
    **options: Any,
) -> int:
    """POST an activity signed by `signer` (default: its actor); the status code."""
    body = json.dumps(activity).encode()
    by = signer or actor
    headers = signed_headers(rt, path, body, by.key_id, by.private_pem, **options)
    response = await client.post(path, data=body, headers=headers)
    return int(response.status_code)
