"""The Mastodon Application entity."""

from __future__ import annotations

from typing import Any

from ..views import Application


def application_entity(
    app: Application, vapid_key: str | None, *, with_secret: bool
) -> dict[str, Any]:
    """`POST /api/v1/apps` (with the secret, once) and `GET /api/v1/apps/verify_credentials`."""
    entity: dict[str, Any] = {
        "id": str(app.id),
        "name": app.name,
        "website": app.website,
        "scopes": app.scopes,
        "redirect_uri": "\n".join(app.redirect_uris),
        "redirect_uris": app.redirect_uris,
    }
    if vapid_key:
        entity["vapid_key"] = vapid_key
    if with_secret:
        entity["client_id"] = app.client_id
        entity["client_secret"] = app.client_secret
        entity["client_secret_expires_at"] = 0
    return entity
