"""Settings: environment over TOML file over defaults; bad values name the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from wildebeest_trio.config import ConfigError, load_config, settings_table


def test_local_mode_defaults(tmp_path: Path) -> None:
    config = load_config(env={"WB_DATA_DIR": str(tmp_path)})
    assert config.local_mode
    assert config.domain == "127.0.0.1:8080"
    assert config.scheme == "http"
    assert config.base_url == "http://127.0.0.1:8080"
    assert config.database_url == f"sqlite:///{tmp_path / 'wildebeest.db'}"
    assert config.media_dir == tmp_path / "media"
    # A fresh server on the internet does not hand out accounts to any script.
    assert config.registrations == "approval"


def test_domain_means_https(tmp_path: Path) -> None:
    config = load_config(env={"WB_DOMAIN": "Social.Example", "WB_DATA_DIR": str(tmp_path)})
    assert not config.local_mode
    assert config.domain == "social.example"
    assert config.base_url == "https://social.example"


def test_toml_file_under_environment(tmp_path: Path) -> None:
    toml = tmp_path / "wb.toml"
    toml.write_text('instance_title = "From file"\nregistrations = "closed"\n')
    env = {"WB_CONFIG": str(toml), "WB_REGISTRATIONS": "approval", "WB_DATA_DIR": str(tmp_path)}
    config = load_config(env=env)
    assert config.instance_title == "From file"
    assert config.registrations == "approval"


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"WB_LISTEN": "nope"}, "WB_LISTEN"),
        ({"WB_LISTEN": "127.0.0.1:99999"}, "WB_LISTEN"),
        ({"WB_REGISTRATIONS": "sometimes"}, "WB_REGISTRATIONS"),
        ({"WB_DATABASE_URL": "mysql://x"}, "WB_DATABASE_URL"),
        ({"WB_ALLOW_PRIVATE_ADDRESSES": "maybe"}, "WB_ALLOW_PRIVATE_ADDRESSES"),
        ({"WB_WORKERS": "0"}, "WB_WORKERS"),
        ({"WB_WORKERS": "many"}, "WB_WORKERS"),
        ({"WB_DOMAIN": "https://x.example/"}, "WB_DOMAIN"),
        ({"WB_CONFIG": "/nonexistent/wb.toml"}, "WB_CONFIG"),
        ({"WB_OUTBOUND_ALLOW": "127.0.0.0/33"}, "WB_OUTBOUND_ALLOW"),
        ({"WB_DNS_SERVERS": "dns.example"}, "WB_DNS_SERVERS"),
        ({"WB_DNS_SERVERS": "127.0.0.1:0"}, "WB_DNS_SERVERS"),
        ({"WB_DNS_TIMEOUT": "0"}, "WB_DNS_TIMEOUT"),
        ({"WB_INBOX_CONSUMERS": "-1"}, "WB_INBOX_CONSUMERS"),
    ],
)
def test_invalid_settings_name_themselves(env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(env=env)
    message = str(info.value)
    assert names in message
    assert "\n" not in message


def test_unknown_or_broken_toml(tmp_path: Path) -> None:
    toml = tmp_path / "wb.toml"
    toml.write_text("no_such_setting = 1\n")
    with pytest.raises(ConfigError, match="no_such_setting"):
        load_config(env={"WB_CONFIG": str(toml)})
    toml.write_text("this is = not toml [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(env={"WB_CONFIG": str(toml)})


def test_secret_key_is_generated_once(tmp_path: Path) -> None:
    config = load_config(env={"WB_DATA_DIR": str(tmp_path / "d")})
    first = config.secret_key()
    assert len(first) == 32
    assert config.secret_key() == first
    assert (tmp_path / "d" / "secret_key").stat().st_mode & 0o077 == 0


def test_settings_table_lists_every_variable() -> None:
    table = settings_table()
    for name in (
        "WB_LISTEN",
        "WB_DOMAIN",
        "WB_SCHEME",
        "WB_DATA_DIR",
        "WB_MEDIA_DIR",
        "WB_DATABASE_URL",
        "WB_ALLOW_PRIVATE_ADDRESSES",
        "WB_INSTANCE_TITLE",
        "WB_INSTANCE_DESCRIPTION",
        "WB_CONTACT_EMAIL",
        "WB_REGISTRATIONS",
    ):
        assert f"`{name}`" in table


def test_outbound_settings(tmp_path: Path) -> None:
    config = load_config(env={"WB_DATA_DIR": str(tmp_path)})
    assert (config.outbound_allow, config.dns_servers, config.dns_timeout) == (None, None, 5.0)
    config = load_config(
        env={
            "WB_DATA_DIR": str(tmp_path),
            "WB_OUTBOUND_ALLOW": "127.0.0.0/8, ::1",
            "WB_DNS_SERVERS": "127.0.0.1:5353 ::1 [::1]:54",
            "WB_DNS_TIMEOUT": "1.5",
        }
    )
    assert [str(n) for n in config.outbound_allow or ()] == ["127.0.0.0/8", "::1/128"]
    assert config.dns_servers == (("127.0.0.1", 5353), ("::1", 53), ("::1", 54))
    assert config.dns_timeout == 1.5
