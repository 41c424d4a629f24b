"""Ports for the tests' servers, which never collide with each other or with connections."""

from __future__ import annotations

import os
import random
import socket

# Ports for the tests' servers: below the kernel's ephemeral range (32768 and up here), which
# every outgoing connection draws from, and a slice of their own for each xdist worker. A
# port the kernel handed out as free was sometimes taken by a connection (or another worker)
# before the server bound it ("Address already in use").
_PORTS_FROM, _PORTS_PER_WORKER = 10_000, 1_250
_next_port: list[int] = []


def free_port() -> int:
    """A port of 127.0.0.1 nothing is bound to, from this worker's slice, not handed out
    before by this process (until its slice wraps around after 1,250)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    first = _PORTS_FROM + (int(worker) % 8 if worker.isdigit() else 0) * _PORTS_PER_WORKER
    if not _next_port:
        # From a random place in the slice: two test runs at once seldom walk in step.
        _next_port.append(random.randrange(_PORTS_PER_WORKER))
    for _ in range(_PORTS_PER_WORKER):
        port = first + _next_port[0] % _PORTS_PER_WORKER
        _next_port[0] += 1
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port left in this worker's slice")
