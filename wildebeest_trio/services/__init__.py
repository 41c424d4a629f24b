"""What the server does, independent of HTTP: each module one area of behaviour."""
