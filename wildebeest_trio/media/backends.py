"""Which `MediaStore` a process uses: the settings, and what `media migrate` recorded.

The runtime records the backend it opened (`local` or `s3`) as `Config.media_kind`,
so the serializers, which see only the config, name files where they are
(`serializers.media_urls.stored_url`).

`WB_MEDIA_STORAGE` names the backend (`local` or `s3`); its default, `auto`, takes the
one `media migrate` last switched to (the `media_storage` instance setting in the
database, shared by every process and machine), else `local`.

Each store carries a private one (`MediaStore.private`) for files only their owner may
fetch (archives): locally the folder `<data dir>/private`, which `/system/` never
serves; on S3 the bucket `WB_S3_PRIVATE_BUCKET`, or, when it is not set, the media
bucket under `private/` (see `open_media_store`).
"""

from __future__ import annotations

from ..config import Config, ConfigError
from .store import PRIVATE_PREFIX, LocalMediaStore, MediaStore

KINDS = ("local", "s3")
# The instance setting `media migrate` writes once every file is in the new store.
RECORDED_SETTING = "media_storage"


def chosen_kind(config: Config, recorded: str | None) -> str:
    """`local` or `s3`: the setting when it names one, else the recorded switch, else local."""
    if config.media_storage in KINDS:
        return config.media_storage
    return recorded if recorded in KINDS else "local"


def open_media_store(config: Config, kind: str) -> MediaStore:
    """The store of `kind` as the settings describe it; `ConfigError` when S3 lacks a bucket."""
    if kind == "local":
        return LocalMediaStore(
            config.media_dir, config.base_url, private_root=config.data_dir / "private"
        )
    if kind != "s3":
        raise ConfigError(f"WB_MEDIA_STORAGE: unknown media storage {kind!r}")
    if not config.s3_bucket:
        raise ConfigError("WB_S3_BUCKET: required to keep media on S3-compatible storage")
    # Only then: obstore is loaded by the processes that use S3.
    from .s3 import S3MediaStore

    def bucket(name: str, prefix: str) -> S3MediaStore:
        return S3MediaStore(
            bucket=name,
            endpoint=config.s3_endpoint,
            region=config.s3_region,
            access_key_id=config.s3_access_key_id,
            secret_access_key=config.s3_secret_access_key,
            path_style=config.s3_path_style,
            base_url=config.media_base_url,
            timeout=config.s3_timeout,
            prefix=prefix,
        )

    public = bucket(config.s3_bucket, "")
    # Private files are fetched only through short-lived signed URLs. A bucket of their
    # own is safe whatever the media bucket's policy; sharing the media bucket (the
    # default, as Mastodon keeps backups beside the media) puts them under `private/`,
    # which no public key uses, under names of 256 random bits that nothing publishes:
    # the bucket's policy should leave that prefix out of its anonymous reads.
    if config.s3_private_bucket:
        public.private = bucket(config.s3_private_bucket, "")
    else:
        public.private = bucket(config.s3_bucket, PRIVATE_PREFIX)
    return public
