"""The HTTP layer: parse and validate, call a service, serialize. No SQL, no business rules."""

from .app import create_app

__all__ = ["create_app"]
