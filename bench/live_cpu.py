"""Server CPU per request on the live server, path by path, beside the bare hello.

Seeds the web pages' data (`bench.pages.seed`: two accounts, 40 posts, a thread of 10
replies, a browser session), starts `wildebeest-trio serve` (one web process, rate limits
exempted for loopback) and the hello baseline, then loads each path with wrk (20
connections, 2 s warm-up, 5 s measured) and divides the server's CPU time (its process
tree) by the requests answered. `ROOT` in a path is replaced by the thread's root id;
`/home` and `/notifications` are sent with the session cookie. A diagnostic, not a
target: it says where a ratio's gap is, whatever the machine's load does to rates.
`off-loop` is the part of it that the web process's other threads used (SQLite's reader
threads, mostly: reads that left the Trio thread) and `others` the other processes'.

    .venv/bin/python bench/live_cpu.py /api/v1/instance /@alice /@alice/ROOT /home
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.pages import seed
from bench.support import cpu_seconds, hello_server, tree_cpu_seconds, wildebeest_server, wrk

SIGNED_IN = ("/home", "/notifications")


def loop_cpu_seconds(pid: int) -> float:
    """CPU time used so far by a process's main thread (the Trio thread, for the server)."""
    fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        root, token = trio.run(seed, data)
        cookie = {"Cookie": f"wb_session={token}"}
        exempt = {"WB_RATE_LIMIT_EXEMPT_LOOPBACK": "true"}
        with wildebeest_server(data, **exempt) as (url, proc), hello_server() as (hello, h):
            for path in ["HELLO", *sys.argv[1:]]:
                if path == "HELLO":
                    target, pid = f"{hello}/", h.pid
                else:
                    target, pid = url + path.replace("ROOT", str(root)), proc.pid
                headers = cookie if path in SIGNED_IN else None
                wrk(target, seconds=2, connections=20, headers=headers)
                before = (tree_cpu_seconds(pid), cpu_seconds(pid), loop_cpu_seconds(pid))
                result = wrk(target, seconds=5, connections=20, headers=headers)
                used = tree_cpu_seconds(pid) - before[0]
                own = cpu_seconds(pid) - before[1]
                off_loop = own - (loop_cpu_seconds(pid) - before[2])
                answered = result.requests_per_second * 5
                print(
                    f"{path:40s} {result.requests_per_second:6.0f} req/s "
                    f"non-2xx {result.non_2xx} server CPU {used / 5 * 100:4.0f}% "
                    f"{used / answered * 1000:.2f} ms/request (off-loop "
                    f"{off_loop / answered * 1000:.2f}, "
                    f"others {(used - own) / answered * 1000:.2f}) "
                    f"p50 {result.p50_ms} ms",
                    flush=True,
                )


if __name__ == "__main__":
    main()
