"""Outgoing https trusts the usual CAs plus `WB_CA_BUNDLE`, or `SSL_CERT_FILE` instead of the
usual ones; certificates and host names are always checked. Served on 127.0.0.1 by a fake
server whose certificate the tests' own CA (`trustme`) issued."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
import trio
import trustme

from tests.conftest import loopback_outbound, make_config
from tests.fakes.remote import RemoteServer, ca_pem_file, start_remote
from wildebeest_trio.config import ConfigError, load_config
from wildebeest_trio.delivery_pool import DeliveryPool
from wildebeest_trio.net import FetchError, Outbound, safe_get, tls_context

pytest_plugins = ("tests.fakes.fixtures",)


async def _https_site(
    nursery: trio.Nursery, ca: trustme.CA, folder: Path, *names: str
) -> RemoteServer:
    site = await start_remote(nursery, tls=(ca, folder), names=names or ("127.0.0.1",))
    site.put_file(f"{site.base}/hello", "<p>hello</p>", "text/html")
    return site


def _config(tmp_path: Path, env: dict[str, str] | None = None, **overrides: object) -> Outbound:
    config = make_config(
        tmp_path, f"sqlite:///{tmp_path / 'db'}", allow_private_addresses=True, **overrides
    )
    if env:
        # The environment's SSL_CERT_FILE is read by load_config; make_config passes none.
        config = type(config)(**{**config.__dict__, "ssl_cert_file": env["SSL_CERT_FILE"]})
    return Outbound.from_config(config)


async def test_a_ca_named_by_wb_ca_bundle_is_trusted(
    nursery: trio.Nursery, tls_ca: trustme.CA, tmp_path: Path
) -> None:
    site = await _https_site(nursery, tls_ca, tmp_path)
    outbound = _config(tmp_path, ca_bundle=str(ca_pem_file(tls_ca, tmp_path)))
    fetched = await safe_get(f"{site.base}/hello", outbound=outbound)
    assert (fetched.status, fetched.body) == (200, b"<p>hello</p>")
    assert site.requests[-1].path == "/hello"


async def test_without_the_ca_the_certificate_is_refused(
    nursery: trio.Nursery, tls_ca: trustme.CA, tmp_path: Path
) -> None:
    site = await _https_site(nursery, tls_ca, tmp_path)
    with pytest.raises(FetchError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        await safe_get(f"{site.base}/hello", outbound=_config(tmp_path))
    assert site.requests == []


async def test_ssl_cert_file_replaces_the_usual_cas(
    nursery: trio.Nursery, tls_ca: trustme.CA, tmp_path: Path
) -> None:
    site = await _https_site(nursery, tls_ca, tmp_path)
    ca_file = str(ca_pem_file(tls_ca, tmp_path))
    outbound = _config(tmp_path, env={"SSL_CERT_FILE": ca_file})
    fetched = await safe_get(f"{site.base}/hello", outbound=outbound)
    assert fetched.status == 200


def test_load_config_reads_ssl_cert_file_and_refuses_bad_ca_files(
    tls_ca: trustme.CA, tmp_path: Path
) -> None:
    ca_file = str(ca_pem_file(tls_ca, tmp_path))
    env = {"WB_DATA_DIR": str(tmp_path), "SSL_CERT_FILE": ca_file}
    assert load_config(env=env).ssl_cert_file == ca_file
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    with pytest.raises(ConfigError, match="WB_CA_BUNDLE"):
        load_config(env={"WB_DATA_DIR": str(tmp_path), "WB_CA_BUNDLE": str(junk)})
    with pytest.raises(ConfigError, match="WB_CA_BUNDLE"):
        load_config(env={"WB_DATA_DIR": str(tmp_path), "WB_CA_BUNDLE": str(tmp_path / "none")})
    with pytest.raises(ConfigError, match="SSL_CERT_FILE"):
        load_config(env={"WB_DATA_DIR": str(tmp_path), "SSL_CERT_FILE": str(junk)})


async def test_a_trusted_certificate_for_another_name_is_refused(
    nursery: trio.Nursery, tls_ca: trustme.CA, tmp_path: Path
) -> None:
    # Issued for `localhost` only: fetching https://127.0.0.1 must fail the host name check.
    site = await _https_site(nursery, tls_ca, tmp_path, "localhost")
    outbound = _config(tmp_path, ca_bundle=str(ca_pem_file(tls_ca, tmp_path)))
    with pytest.raises(FetchError, match=r"IP address mismatch|hostname|match"):
        await safe_get(f"{site.base}/hello", outbound=outbound)
    by_name = site.put_file(f"{site.origin(host='localhost')}/hello", "hi", "text/plain")
    fetched = await safe_get(by_name, outbound=outbound)
    assert (fetched.status, fetched.body) == (200, b"hi")


async def test_deliveries_trust_the_same_cas(
    nursery: trio.Nursery, tls_ca: trustme.CA, tmp_path: Path
) -> None:
    site = await _https_site(nursery, tls_ca, tmp_path)
    tls = tls_context(ca_bundle=str(ca_pem_file(tls_ca, tmp_path)))
    pool = DeliveryPool()
    try:
        parts = urlsplit(f"{site.base}/inbox")
        headers = [(b"host", parts.netloc.encode()), (b"content-type", b"application/json")]
        answer = await pool.post(parts, headers, b"{}", loopback_outbound(tls=tls))
        assert answer.status == 202
    finally:
        await pool.aclose()
