"""Job handlers by name: the only way business code plugs work into the queue.

The queue stores a job's name and JSON payload, never code. Components register a handler under a name at
import time (``register_handler("integration.sync", run_mapping)``); a worker imports those modules
(``--import-module`` or ``L2C_JOB_MODULES``) and looks handlers up when it runs a job. A handler receives a
``JobContext`` and the payload and returns ``Outcome.IDLE`` when there was nothing to do (a recurring entry
then goes on hold with inactivity timeout) or ``None``/``Outcome.DONE`` otherwise. Raising fails the
attempt; the queue retries it after the rerun delay until the maximum number of attempts.
"""

from __future__ import annotations

import importlib
import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session, sessionmaker


class Outcome(StrEnum):
    DONE = "done"
    IDLE = "idle"


@dataclass
class JobContext:
    """What a handler knows about the run it is part of."""

    job_id: int
    run_id: uuid.UUID  # the job queue log row of this run (the integration stores it on its sync jobs)
    name: str
    attempt: int
    entry_key: str | None
    sessions: sessionmaker[Session]
    worker: str = ""
    links: list[str] = field(default_factory=list)

    def link(self, reference: str) -> None:
        """Record what this run produced (for example a synchronization job id) on its log row."""
        self.links.append(str(reference))


Handler = Callable[[JobContext, dict[str, Any]], Outcome | str | None]

_HANDLERS: dict[str, Handler] = {}

#: modules imported by a worker by default when they exist (they register the project's handlers)
DEFAULT_MODULES = ("lead2cash.integration.jobs",)


class UnknownJob(LookupError):
    pass


def register_handler(name: str, fn: Handler) -> Handler:
    """Register ``fn`` as the handler of jobs named ``name`` (re-registering replaces it)."""
    _HANDLERS[name] = fn
    return fn


def handler(name: str) -> Handler:
    try:
        return _HANDLERS[name]
    except KeyError:
        raise UnknownJob(f"no handler is registered for job '{name}'; is its module imported by the worker?") from None


def registered() -> list[str]:
    return sorted(_HANDLERS)


def import_modules(extra: Iterable[str] = ()) -> list[str]:
    """Import the default handler modules that exist, ``L2C_JOB_MODULES`` and ``extra``; returns those loaded."""
    wanted = [*DEFAULT_MODULES, *os.environ.get("L2C_JOB_MODULES", "").split(","), *extra]
    loaded = []
    for name in filter(None, (m.strip() for m in wanted)):
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if name in DEFAULT_MODULES and exc.name == name:
                continue
            raise
        loaded.append(name)
    return loaded
