"""The OAuth 2 authorization server: app registration, authorize, token, revoke, metadata."""
