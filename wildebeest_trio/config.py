"""Settings: environment variables `WB_<NAME>` over an optional TOML file (`WB_CONFIG`).

Every setting is declared once in `SETTINGS`; the README's table is that list.
An invalid value stops start-up with a one-line `ConfigError` naming it.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import ssl
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .private_files import write_once


class ConfigError(Exception):
    """A setting is missing or invalid; the message names it."""


def _parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected a boolean (true/false), got {raw!r}")


def _parse_int(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError(f"expected an integer, got {raw!r}")
    return int(str(raw).strip())


def _parse_float(raw: Any) -> float:
    return float(str(raw).strip())


def _parse_str(raw: Any) -> str:
    return str(raw)


def _parse_listen(raw: Any) -> str:
    text = str(raw).strip()
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"invalid port in {text!r}")
    return text


def _parse_domain(raw: Any) -> str:
    text = str(raw).strip().lower()
    if not text:
        return ""
    if "/" in text or "@" in text or " " in text:
        raise ValueError(f"expected a host name with an optional port, got {text!r}")
    return text


def _choice(*options: str) -> Callable[[Any], str]:
    def parse(raw: Any) -> str:
        text = str(raw).strip().lower()
        if text not in options:
            raise ValueError(f"expected one of {', '.join(options)}, got {raw!r}")
        return text

    return parse


def _parse_origin(raw: Any) -> str:
    """An origin such as an identity provider's issuer: `https://` added, no trailing slash."""
    text = str(raw).strip().rstrip("/")
    if not text:
        return ""
    if "://" not in text:
        text = f"https://{text}"
    if any(c.isspace() for c in text) or not text.startswith(("https://", "http://")):
        raise ValueError(f"expected a host name or an https:// origin, got {raw!r}")
    return text


def _items(raw: Any) -> list[str]:
    """A list from TOML, or from text separated by commas or spaces."""
    if isinstance(raw, list | tuple):
        return [str(item).strip() for item in raw if str(item).strip()]
    return str(raw).replace(",", " ").split()


IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# Rails' default trusted proxies (Mastodon's without TRUSTED_PROXY_IP): loopback, private
# and link-local ranges.
DEFAULT_TRUSTED_PROXIES = (
    "127.0.0.0/8, ::1/128, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7, "
    "169.254.0.0/16, fe80::/10"
)


def parse_networks(raw: Any) -> tuple[IpNetwork, ...]:
    """CIDR ranges (or single addresses): a TOML list, or text separated by commas or spaces."""
    networks = []
    for item in _items(raw):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"expected IP addresses or CIDR ranges, got {item!r}") from None
    return tuple(networks)


def _parse_trusted_proxies(raw: Any) -> str:
    """Kept as normalized text (the README shows it); `parse_networks` reads it back."""
    return ", ".join(str(n) for n in parse_networks(raw))


def _parse_networks(raw: Any) -> tuple[IpNetwork, ...] | None:
    """CIDR networks (`127.0.0.0/8, ::1/128`; a bare address is one host); empty: unset."""
    return parse_networks(raw) or None


def _parse_dns_servers(raw: Any) -> tuple[tuple[str, int], ...] | None:
    """Name servers as `ADDRESS` or `ADDRESS:PORT` (`[IPv6]:PORT`); empty: unset."""
    servers = []
    for item in _items(raw):
        host, port = item, "53"
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            if rest:
                if not rest.startswith(":"):
                    raise ValueError(f"expected ADDRESS or ADDRESS:PORT, got {item!r}")
                port = rest[1:]
        elif item.count(":") == 1:
            host, port = item.split(":")
        try:
            address = str(ipaddress.ip_address(host))
        except ValueError:
            raise ValueError(
                f"expected an IP address (DNS servers are not looked up), got {item!r}"
            ) from None
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError(f"invalid port in {item!r}")
        servers.append((address, int(port)))
    return tuple(servers) or None


def check_ca_file(path: str) -> str:
    """A PEM file of CA certificates that loads; ValueError saying why not."""
    try:
        ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or exc
        raise ValueError(f"cannot load CA certificates from {path!r}: {reason}") from None
    return path


def _parse_ca_bundle(raw: Any) -> str | None:
    """A PEM file of extra CA certificates (checked at start-up); empty: none."""
    text = str(raw).strip()
    return check_ca_file(str(Path(text).expanduser())) if text else None


def _parse_db_url(raw: Any) -> str:
    text = str(raw).strip()
    if not (
        text.startswith("sqlite://")
        or text.startswith("postgresql://")
        or text.startswith("postgres://")
    ):
        raise ValueError("expected sqlite:///PATH or postgresql://...")
    return text


@dataclass(frozen=True)
class Setting:
    """One configuration key: its name, parser, default and meaning."""

    name: str
    parse: Callable[[Any], Any]
    default: Any
    help: str

    @property
    def env(self) -> str:
        return f"WB_{self.name.upper()}"


SETTINGS: tuple[Setting, ...] = (
    Setting("listen", _parse_listen, "127.0.0.1:8080", "Address and port the HTTP server binds"),
    Setting(
        "domain",
        _parse_domain,
        "",
        "Public host[:port]; unset means local mode (domain = listen address, http)",
    ),
    Setting("scheme", _choice("http", "https"), None, "`https` when a domain is set, else `http`"),
    Setting("data_dir", _parse_str, "./data", "Folder for the database, secret key and media"),
    Setting("media_dir", _parse_str, None, "Media folder (default `<data dir>/media`)"),
    Setting(
        "media_storage",
        _choice("auto", "local", "s3"),
        "auto",
        "Where media files live: `local` (the media folder), `s3`, or `auto` (what "
        "`media migrate` last switched to, else `local`)",
    ),
    Setting(
        "media_base_url",
        _parse_str,
        "",
        "Public URL of the bucket or of the CDN in front of it (Mastodon's S3_ALIAS_HOST); "
        "default: the bucket's address at its endpoint",
    ),
    Setting(
        "s3_endpoint",
        _parse_str,
        "",
        "S3-compatible endpoint, e.g. `https://s3.example.com` (empty: AWS for the region)",
    ),
    Setting("s3_bucket", _parse_str, "", "Bucket holding the media (required for `s3`)"),
    Setting(
        "s3_private_bucket",
        _parse_str,
        "",
        "Bucket for private files (archives), which must grant no anonymous read "
        "(empty: the media bucket, under `private/`)",
    ),
    Setting("s3_region", _parse_str, "us-east-1", "Region of the bucket"),
    Setting("s3_access_key_id", _parse_str, "", "Access key id for the bucket"),
    Setting("s3_secret_access_key", _parse_str, "", "Secret access key for the bucket"),
    Setting(
        "s3_path_style",
        _parse_bool,
        False,
        "Address the bucket as `<endpoint>/<bucket>` (SeaweedFS, MinIO) rather than "
        "`<bucket>.<endpoint host>`",
    ),
    Setting(
        "s3_timeout", _parse_float, 60.0, "Seconds one request to the bucket may take (each try)"
    ),
    Setting(
        "media_max_image_bytes", _parse_int, 16 * 1024 * 1024, "Largest image upload, in bytes"
    ),
    Setting(
        "media_max_image_pixels",
        _parse_int,
        33_177_600,
        "Largest image upload, in pixels (width x height, checked before decoding)",
    ),
    Setting(
        "media_max_video_bytes",
        _parse_int,
        99 * 1024 * 1024,
        "Largest video or audio upload (and remote media file), in bytes",
    ),
    Setting(
        "media_max_video_pixels",
        _parse_int,
        8_294_400,
        "Largest video, in pixels per frame (width x height); larger ones are refused",
    ),
    Setting("media_max_video_frame_rate", _parse_int, 120, "Highest video frame rate, per second"),
    Setting("media_ffmpeg_path", _parse_str, "ffmpeg", "ffmpeg program (name or path)"),
    Setting("media_ffprobe_path", _parse_str, "ffprobe", "ffprobe program (name or path)"),
    Setting(
        "media_ffmpeg_timeout",
        _parse_float,
        300.0,
        "Seconds one ffmpeg run may take before it is killed and the file refused",
    ),
    Setting(
        "media_fetch_timeout", _parse_float, 60.0, "Seconds a remote media file may take to fetch"
    ),
    Setting(
        "preview_card_timeout",
        _parse_float,
        10.0,
        "Seconds fetching a linked page (and its oEmbed) for a preview card may take",
    ),
    Setting(
        "preview_card_spread",
        _parse_float,
        60.0,
        "A remote status's card is fetched within this many seconds, at random (as Mastodon "
        "spreads them, so a popular post does not make every server fetch at once); 0: at once",
    ),
    Setting(
        "media_cache_max_bytes",
        _parse_int,
        0,
        "Bound on cached remote attachments, in bytes (oldest dropped first); 0: no bound",
    ),
    Setting(
        "database_url",
        _parse_db_url,
        None,
        "`sqlite:///PATH` (default `<data dir>/wildebeest.db`) or `postgresql://...`",
    ),
    Setting(
        "allow_private_addresses",
        _parse_bool,
        False,
        "Allow fetching and delivering to private/loopback addresses (tests only)",
    ),
    Setting(
        "outbound_allow",
        _parse_networks,
        None,
        "CIDRs every outgoing connection must stay inside (e.g. `127.0.0.0/8,::1/128` for "
        "tests); unset: any address the private-address rule allows",
    ),
    Setting(
        "dns_servers",
        _parse_dns_servers,
        None,
        "DNS servers to ask, `ADDRESS[:PORT]`, comma-separated; unset: those of /etc/resolv.conf",
    ),
    Setting("dns_timeout", _parse_float, 5.0, "Seconds one host name look-up may take"),
    Setting(
        "ca_bundle",
        _parse_ca_bundle,
        None,
        "PEM file of extra CA certificates outgoing https connections trust, beside the "
        "usual ones (`SSL_CERT_FILE`, when set, replaces those); never turns checks off",
    ),
    Setting(
        "authorized_fetch",
        _parse_bool,
        False,
        "Require signed requests for every ActivityPub GET (Mastodon's secure mode)",
    ),
    Setting(
        "limited_federation",
        _parse_bool,
        False,
        "Federate only with the domains admins allow (Mastodon's limited federation mode): "
        "others may not deliver, fetch or be fetched from; public pages and the public API "
        "need a signed-in viewer; implies authorized_fetch",
    ),
    Setting("instance_title", _parse_str, "wildebeest-trio", "Instance name shown to clients"),
    Setting("instance_description", _parse_str, "", "Short instance description"),
    Setting("contact_email", _parse_str, "", "Admin contact e-mail address"),
    Setting(
        "registrations",
        _choice("open", "approval", "closed"),
        "approval",
        "Sign-up mode: `open`, `approval` (an admin approves each sign-up) or `closed`",
    ),
    Setting("workers", _parse_int, 4, "Concurrent job tasks per process"),
    Setting(
        "delivery_concurrency",
        _parse_int,
        64,
        "Deliveries in flight per process (claimed, signed and recorded in batches)",
    ),
    Setting(
        "web_processes",
        _parse_int,
        None,
        "Web processes `serve` runs on its one port, each answering requests and working jobs "
        "(`serve --processes N`); default: one per core (one on an in-memory database)",
    ),
    Setting(
        "delivery_processes",
        _parse_int,
        None,
        "Delivery processes `serve` starts beside itself; default: one per core no web "
        "process uses",
    ),
    Setting(
        "inbox_consumers",
        _parse_int,
        None,
        "Inbox batches a process applies at once; 0 leaves the inbox to other processes "
        "(`worker`s beside a `serve` that only answers requests); default: 4, and none in a "
        "`serve`'s first process that has delivery processes beside it (they apply)",
    ),
    Setting("job_lease", _parse_float, 300.0, "Seconds a claimed job stays leased to its worker"),
    Setting("job_poll_interval", _parse_float, 1.0, "Seconds between job-queue polls when idle"),
    Setting("job_max_attempts", _parse_int, 16, "Attempts before a job is parked"),
    Setting("pg_pool_size", _parse_int, 20, "PostgreSQL connections per process"),
    Setting("streaming_heartbeat", _parse_float, 15.0, "Seconds between SSE heartbeats (`:thump`)"),
    Setting("shutdown_grace", _parse_float, 5.0, "Seconds running work gets to finish on SIGTERM"),
    Setting(
        "oauth_password_grant",
        _parse_bool,
        True,
        "Allow OAuth `grant_type=password` (toot's command-line login)",
    ),
    Setting("rate_limits", _parse_bool, True, "Enforce API, login and sign-up rate limits"),
    Setting(
        "rate_limit_exempt_loopback",
        _parse_bool,
        False,
        "Exempt 127.0.0.1/::1 from rate limits (for tests and benchmarks only)",
    ),
    Setting(
        "trusted_proxies",
        _parse_trusted_proxies,
        DEFAULT_TRUSTED_PROXIES,
        "Reverse proxies whose `X-Forwarded-For`/`Forwarded` and `X-Forwarded-Proto` are "
        "believed (CIDRs, comma-separated; empty: none)",
    ),
    Setting(
        "access_log",
        _parse_bool,
        True,
        "Log every request (logger `wildebeest_trio.access`, level info)",
    ),
    Setting(
        "session_idle_days",
        _parse_int,
        14,
        "Days a browser session may go unused before it ends (sign in again)",
    ),
    Setting("argon2_time_cost", _parse_int, 3, "argon2id iterations for password hashes"),
    Setting("argon2_memory_kib", _parse_int, 65536, "argon2id memory (KiB) for password hashes"),
    Setting("argon2_parallelism", _parse_int, 4, "argon2id lanes for password hashes"),
    Setting("log_level", _choice("debug", "info", "warning", "error"), "info", "Logging level"),
    Setting(
        "log_format",
        _choice("text", "json"),
        "text",
        "Log lines as `text` or `json` (one object a line, with the request id of a request)",
    ),
    Setting(
        "metrics_allow",
        _parse_trusted_proxies,
        "127.0.0.0/8, ::1/128",
        "Client addresses that may read `GET /metrics` (CIDRs; others get 404; empty: none)",
    ),
    Setting(
        "metrics_domains",
        _parse_int,
        20,
        "Remote domains with a delivery metric of their own (the busiest; the rest: `other`)",
    ),
    Setting(
        "otel_endpoint",
        _parse_str,
        "",
        "OpenTelemetry collector (OTLP/HTTP, e.g. `http://127.0.0.1:4318`) to send traces to; "
        "empty: off (needs `pip install 'wildebeest-trio[otel]'`)",
    ),
    Setting(
        "ready_job_delay",
        _parse_float,
        600.0,
        "Seconds a due job may wait, with no job held by any worker, before "
        "`GET /health/ready` says the queue is not being worked",
    ),
    Setting("smtp_host", _parse_str, "", "SMTP server for outgoing e-mail; empty means no e-mail"),
    Setting("smtp_port", _parse_int, 587, "SMTP server port"),
    Setting("smtp_username", _parse_str, "", "SMTP login (empty: no authentication)"),
    Setting("smtp_password", _parse_str, "", "SMTP password"),
    Setting("smtp_from", _parse_str, None, "Sender address (default `notifications@<domain>`)"),
    Setting(
        "smtp_security",
        _choice("starttls", "tls", "none"),
        "starttls",
        "SMTP transport security: `starttls`, `tls` (implicit, port 465) or `none`",
    ),
    Setting("smtp_timeout", _parse_float, 30.0, "Seconds an SMTP operation may take"),
    Setting(
        "translation_url",
        _parse_str,
        "",
        "LibreTranslate server translating statuses (its origin); empty: no LibreTranslate",
    ),
    Setting("translation_api_key", _parse_str, "", "LibreTranslate API key (if it asks for one)"),
    Setting(
        "deepl_api_key",
        _parse_str,
        "",
        "DeepL API key; when set, DeepL translates (not LibreTranslate)",
    ),
    Setting("deepl_plan", _choice("free", "pro"), "free", "DeepL plan: `free` or `pro`"),
    Setting(
        "deepl_url",
        _parse_str,
        None,
        "DeepL API origin (default by plan: `https://api-free.deepl.com` or `https://api.deepl.com`)",
    ),
    Setting("translation_timeout", _parse_float, 10.0, "Seconds a translation request may take"),
    Setting(
        "access_team_domain",
        _parse_origin,
        "",
        "Trusted identity JWT issuer, e.g. `https://team.cloudflareaccess.com`; empty: off",
    ),
    Setting("access_audience", _parse_str, "", "Required `aud` of the identity JWT"),
    Setting(
        "access_jwks",
        _parse_str,
        None,
        "Identity JWT keys: https URL or file (default `<team domain>/cdn-cgi/access/certs`)",
    ),
    Setting(
        "access_header",
        _parse_str,
        "Cf-Access-Jwt-Assertion",
        "Request header carrying the identity JWT",
    ),
)


@dataclass(frozen=True)
class Config:
    """The resolved settings of one process."""

    listen: str
    domain: str
    scheme: str
    data_dir: Path
    media_dir: Path
    media_storage: str
    media_base_url: str
    s3_endpoint: str
    s3_bucket: str
    s3_private_bucket: str
    s3_region: str
    s3_access_key_id: str
    s3_secret_access_key: str
    s3_path_style: bool
    s3_timeout: float
    media_max_image_bytes: int
    media_max_image_pixels: int
    media_max_video_bytes: int
    media_max_video_pixels: int
    media_max_video_frame_rate: int
    media_ffmpeg_path: str
    media_ffprobe_path: str
    media_ffmpeg_timeout: float
    media_fetch_timeout: float
    preview_card_timeout: float
    preview_card_spread: float
    media_cache_max_bytes: int
    database_url: str
    allow_private_addresses: bool
    outbound_allow: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] | None
    dns_servers: tuple[tuple[str, int], ...] | None
    dns_timeout: float
    ca_bundle: str | None
    authorized_fetch: bool
    limited_federation: bool
    instance_title: str
    instance_description: str
    contact_email: str
    registrations: str
    workers: int
    delivery_concurrency: int
    web_processes: int
    delivery_processes: int
    inbox_consumers: int | None
    job_lease: float
    job_poll_interval: float
    job_max_attempts: int
    pg_pool_size: int
    streaming_heartbeat: float
    shutdown_grace: float
    oauth_password_grant: bool
    rate_limits: bool
    rate_limit_exempt_loopback: bool
    trusted_proxies: str
    access_log: bool
    session_idle_days: int
    argon2_time_cost: int
    argon2_memory_kib: int
    argon2_parallelism: int
    log_level: str
    log_format: str
    metrics_allow: str
    metrics_domains: int
    otel_endpoint: str
    ready_job_delay: float
    smtp_host: str
    smtp_port: int
    smtp_username: str
    smtp_password: str
    smtp_from: str
    smtp_security: str
    smtp_timeout: float
    translation_url: str
    translation_api_key: str
    deepl_api_key: str
    deepl_plan: str
    deepl_url: str
    translation_timeout: float
    access_team_domain: str
    access_audience: str
    access_jwks: str
    access_header: str
    local_mode: bool = False
    # The standard `SSL_CERT_FILE` of the environment: the CA file trusted instead of the
    # bundled one, as OpenSSL and httpx read it (None: unset).
    ssl_cert_file: str | None = None
    # The media storage a runtime opened (`local` or `s3`, `WB_MEDIA_STORAGE` resolved
    # against what `media migrate` recorded): where the serializers say files are.
    media_kind: str = "local"
    extras: Mapping[str, Any] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        """The public origin, `scheme://host[:port]`, without a trailing slash."""
        return f"{self.scheme}://{self.domain}"

    @property
    def translation_enabled(self) -> bool:
        """Whether a translation service is configured (DeepL or LibreTranslate)."""
        return bool(self.deepl_api_key or self.translation_url)

    @property
    def listen_host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def listen_port(self) -> int:
        return int(self.listen.rpartition(":")[2])

    @property
    def user_agent(self) -> str:
        """What this server calls itself in outgoing requests (Mastodon's form)."""
        return f"wildebeest-trio/{__version__} (+{self.base_url}/)"

    def secret_key(self) -> bytes:
        """The instance secret, generated into the data folder (0600) on first use.

        Two processes starting together on a fresh folder agree on one key: it is
        created whole or not at all (`private_files.write_once`).
        """
        path = self.data_dir / "secret_key"
        text = write_once(path, secrets.token_bytes(32).hex().encode()).decode("ascii", "replace")
        try:
            key = bytes.fromhex(text.strip())
        except ValueError:
            key = b""
        if len(key) < 32:
            # Never sign with a short or empty key; the admin decides what to do with it.
            raise ConfigError(f"{path}: not a valid secret key (64 hexadecimal digits expected)")
        return key


def load_config(
    env: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Config:
    """Resolve settings from overrides, then `WB_*` variables, then the TOML file."""
    env = os.environ if env is None else env
    file_values: dict[str, Any] = {}
    config_path = env.get("WB_CONFIG")
    if config_path:
        try:
            with open(config_path, "rb") as f:
                file_values = tomllib.load(f)
        except OSError as exc:
            raise ConfigError(f"WB_CONFIG: cannot read {config_path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"WB_CONFIG: {config_path} is not valid TOML: {exc}") from None
        known = {s.name for s in SETTINGS}
        unknown = sorted(set(file_values) - known)
        if unknown:
            raise ConfigError(f"WB_CONFIG: unknown setting {unknown[0]!r} in {config_path}")

    values: dict[str, Any] = {}
    for setting in SETTINGS:
        if overrides and setting.name in overrides:
            raw, where = overrides[setting.name], setting.name
        elif setting.env in env:
            raw, where = env[setting.env], setting.env
        elif setting.name in file_values:
            raw, where = file_values[setting.name], f"{setting.name} in {config_path}"
        else:
            values[setting.name] = setting.default
            continue
        try:
            values[setting.name] = setting.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None

    local_mode = not values["domain"]
    if local_mode:
        host, _, port = values["listen"].rpartition(":")
        if host in {"0.0.0.0", "::", "[::]"}:
            host = "127.0.0.1"
        values["domain"] = f"{host}:{port}"
    if values["scheme"] is None:
        values["scheme"] = "http" if local_mode else "https"
    # Limited federation knows who fetches only from a signature, as Mastodon's.
    values["authorized_fetch"] = values["authorized_fetch"] or values["limited_federation"]
    data_dir = Path(values["data_dir"]).expanduser().resolve()
    values["data_dir"] = data_dir
    values["media_dir"] = Path(values["media_dir"] or data_dir / "media").expanduser().resolve()
    if values["database_url"] is None:
        values["database_url"] = f"sqlite:///{(data_dir / 'wildebeest.db').as_posix()}"
    for name in (
        "workers",
        "delivery_concurrency",
        "pg_pool_size",
        "job_max_attempts",
        "argon2_time_cost",
        "argon2_parallelism",
        "media_max_image_bytes",
        "media_max_image_pixels",
        "media_max_video_bytes",
        "media_max_video_pixels",
        "media_max_video_frame_rate",
        "session_idle_days",
        "metrics_domains",
    ):
        if values[name] < 1:
            raise ConfigError(f"WB_{name.upper()}: must be at least 1")
    if values["argon2_memory_kib"] < 8 * values["argon2_parallelism"]:
        raise ConfigError("WB_ARGON2_MEMORY_KIB: must be at least 8 KiB per lane")
    for name in (
        "job_lease",
        "job_poll_interval",
        "shutdown_grace",
        "smtp_timeout",
        "translation_timeout",
        "streaming_heartbeat",
        "media_ffmpeg_timeout",
        "media_fetch_timeout",
        "s3_timeout",
        "preview_card_timeout",
        "dns_timeout",
        "ready_job_delay",
    ):
        if values[name] <= 0:
            raise ConfigError(f"WB_{name.upper()}: must be positive")
    if values["preview_card_spread"] < 0:
        raise ConfigError("WB_PREVIEW_CARD_SPREAD: must be 0 (at once) or more")
    cores = os.cpu_count() or 1
    if values["web_processes"] is None:
        # Processes share nothing but the database: an in-memory one is a process's own.
        values["web_processes"] = 1 if ":memory:" in values["database_url"] else cores
    if values["web_processes"] < 1:
        raise ConfigError("WB_WEB_PROCESSES: must be 1 or more")
    if values["delivery_processes"] is None:
        values["delivery_processes"] = max(0, cores - values["web_processes"])
    if values["delivery_processes"] < 0:
        raise ConfigError("WB_DELIVERY_PROCESSES: must be 0 (none) or more")
    if values["inbox_consumers"] is not None and values["inbox_consumers"] < 0:
        raise ConfigError("WB_INBOX_CONSUMERS: must be 0 (none in this process) or more")
    if values["media_cache_max_bytes"] < 0:
        raise ConfigError("WB_MEDIA_CACHE_MAX_BYTES: must be 0 (no bound) or more")
    if not 1 <= values["smtp_port"] <= 65535:
        raise ConfigError("WB_SMTP_PORT: must be between 1 and 65535")
    if values["smtp_from"] is None:
        host, sep, port = values["domain"].rpartition(":")
        if not sep or not port.isdigit():
            host = values["domain"]
        values["smtp_from"] = f"notifications@{host}"
    if values["deepl_url"] is None:
        plan_host = "api-free.deepl.com" if values["deepl_plan"] == "free" else "api.deepl.com"
        values["deepl_url"] = f"https://{plan_host}"
    for name in ("s3_endpoint", "media_base_url"):
        values[name] = values[name].strip().rstrip("/")
        if values[name] and not values[name].startswith(("http://", "https://")):
            raise ConfigError(f"WB_{name.upper()}: must be an http or https URL")
    if values["media_storage"] == "s3" and not values["s3_bucket"].strip():
        raise ConfigError("WB_S3_BUCKET: required when WB_MEDIA_STORAGE is s3")
    if not values["media_base_url"] and values["s3_bucket"]:
        # The bucket's own address at its endpoint.
        endpoint = values["s3_endpoint"] or f"https://s3.{values['s3_region']}.amazonaws.com"
        scheme, _, host = endpoint.partition("://")
        values["media_base_url"] = (
            f"{endpoint}/{values['s3_bucket']}"
            if values["s3_path_style"]
            else f"{scheme}://{values['s3_bucket']}.{host}"
        )
    for name in ("translation_url", "deepl_url"):
        values[name] = values[name].strip().rstrip("/")
        if values[name] and not values[name].startswith(("http://", "https://")):
            raise ConfigError(f"WB_{name.upper()}: must be an http or https URL")
    if values["access_team_domain"] and not values["access_audience"].strip():
        # Without an audience any application of the same team could log in here.
        raise ConfigError("WB_ACCESS_AUDIENCE: required when WB_ACCESS_TEAM_DOMAIN is set")
    if values["access_jwks"] is None:
        team = values["access_team_domain"]
        values["access_jwks"] = f"{team}/cdn-cgi/access/certs" if team else ""
    ssl_cert_file = env.get("SSL_CERT_FILE", "").strip() or None
    if ssl_cert_file is not None:
        try:
            check_ca_file(ssl_cert_file)
        except ValueError as exc:
            raise ConfigError(f"SSL_CERT_FILE: {exc}") from None
    return Config(**values, local_mode=local_mode, ssl_cert_file=ssl_cert_file)


def is_ip_literal(host: str) -> bool:
    """Whether a host (without port) is an IP address literal."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def settings_table() -> str:
    """The README's configuration table, generated from `SETTINGS`."""
    rows = ["| Variable | TOML key | Default | Meaning |", "|---|---|---|---|"]
    for s in SETTINGS:
        default = "" if s.default is None else f"`{s.default}`"
        rows.append(f"| `{s.env}` | `{s.name}` | {default} | {s.help} |")
    return "\n".join(rows)


__all__ = ["SETTINGS", "Config", "ConfigError", "load_config", "settings_table"]
