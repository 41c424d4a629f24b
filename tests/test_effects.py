"""After-commit effects: recorded in a unit, run once it commits, never after a rollback."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass

import pytest

import wildebeest_trio
from wildebeest_trio.assembly import effect_handlers
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.store import Connection, Effect, StoreMisuse


@dataclass(frozen=True)
class Seen(Effect):
    """A test effect carrying a label."""

    label: str


class Boom(Exception):
    pass


def _recording(rt: Runtime) -> list[str]:
    seen: list[str] = []

    async def handler(_rt: Runtime, effects: list[Seen]) -> None:
        seen.extend(e.label for e in effects)

    rt.effects.register(Seen, handler)
    return seen


async def test_effects_run_after_the_commit_once_each(rt: Runtime) -> None:
    seen = _recording(rt)

    async def unit(conn: Connection) -> int:
        conn.effects.add(Seen("a"))
        conn.effects.add(Seen("b"))
        conn.effects.add(Seen("a"))  # the same effect twice runs once
        assert seen == []  # nothing runs inside the unit
        return 7

    assert await rt.store.write(unit) == 7
    assert seen == ["a", "b"]


async def test_a_rolled_back_unit_runs_no_effects(rt: Runtime) -> None:
    seen = _recording(rt)

    async def unit(conn: Connection) -> None:
        conn.effects.add(Seen("never"))
        raise Boom()

    with pytest.raises(Boom):
        await rt.store.write(unit)
    assert seen == []


async def test_a_read_unit_may_not_record_effects(rt: Runtime) -> None:
    seen = _recording(rt)

    async def unit(conn: Connection) -> None:
        conn.effects.add(Seen("read"))

    with pytest.raises(StoreMisuse):
        await rt.store.read(unit)
    assert seen == []


async def test_a_failing_handler_does_not_fail_the_committed_write(rt: Runtime) -> None:
    async def handler(_rt: Runtime, effects: list[Seen]) -> None:
        raise RuntimeError("handler broke")

    rt.effects.register(Seen, handler)

    async def unit(conn: Connection) -> str:
        conn.effects.add(Seen("x"))
        return "committed"

    assert await rt.store.write(unit) == "committed"


async def test_queued_work_wakes_the_workers(rt: Runtime) -> None:
    from wildebeest_trio.jobs import JobKind

    kind = JobKind("test.effects")
    woken = rt.job_signal._event  # the event the next notify() sets

    async def unit(conn: Connection) -> None:
        await kind.enqueue(conn, rt.ids, {})

    await rt.store.write(unit)
    assert woken.is_set()


def test_every_effect_type_has_a_handler_in_the_composition_root() -> None:
    for module in pkgutil.walk_packages(wildebeest_trio.__path__, "wildebeest_trio."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    declared = {
        kind for kind in _subclasses(Effect) if kind.__module__.startswith("wildebeest_trio.")
    }
    assert declared, "no effect types found"
    missing = declared - effect_handlers().kinds()
    assert not missing, f"effects without a handler: {sorted(k.__name__ for k in missing)}"


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found
