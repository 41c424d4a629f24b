"""The HTTP layer: parse and validate, call a service, serialize. No SQL, no business rules.

Blueprints live in rooms, one per kind of client: `api/` (the Mastodon client API),
`activitypub/` (other servers: documents, inboxes, discovery), `oauth/` (the
authorization server) and `web/` (browsers: pages, media files). No room imports another;
what several need (auth, context, errors, params, paging, the browser plumbing in
`browser`, the ASGI middlewares) sits here at the top. Nothing here imports `store`: reads
and writes go through the services (and `federation` for ActivityPub documents), and the
store's types through `services.types`.
"""

from .app import create_app

__all__ = ["create_app"]
