"""A blocking facade over the asynchronous :class:`~.client.DataverseClient`, for synchronous callers.

The sync engine is synchronous code around SQLAlchemy sessions and per-record rules; it needs the CRM
calls to block. Instead of a second, synchronous client (and two retry/throttling paths to keep alike),
this facade runs the one asynchronous client on an event loop in a background thread (an ``anyio``
blocking portal) and forwards each call to it. Concurrency still happens where it pays — inside one call,
such as the chunks of a bulk write — and the connection pool, token cache and back-off gate are shared by
every call made through the facade.

Coroutine methods become blocking methods; async iterators (``pages``, ``rows``, ``changes.pages``) become
ordinary iterators that fetch one page per step. Use one facade per thread of work, or share it: calls
from several threads are serialised onto the one loop and run concurrently there.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any

from anyio.from_thread import BlockingPortal, start_blocking_portal

from lead2cash.integration.dataverse.client import DataverseClient
from lead2cash.integration.dataverse.settings import DataverseSettings


class _Blocking:
    """Forwards attribute access to an object living on the portal's loop, blocking on coroutines."""

    def __init__(self, target: Any, portal: BlockingPortal):
        self._target = target
        self._portal = portal

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if inspect.isasyncgenfunction(value):
            return functools.wraps(value)(functools.partial(_iterate, self._portal, value))
        if inspect.iscoroutinefunction(value):
            portal = self._portal

            @functools.wraps(value)
            def blocking(*args: Any, **kwargs: Any) -> Any:
                return portal.call(functools.partial(value, *args, **kwargs))

            return blocking
        return value


def _iterate(portal: BlockingPortal, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Iterator[Any]:
    iterator = method(*args, **kwargs)

    async def step() -> tuple[bool, Any]:
        try:
            return True, await iterator.__anext__()
        except StopAsyncIteration:
            return False, None

    try:
        while True:
            more, item = portal.call(step)
            if not more:
                return
            yield item
    finally:
        portal.call(iterator.aclose)


class SyncDataverseClient(_Blocking):
    """``DataverseClient`` with blocking methods (``with SyncDataverseClient(settings) as dv: dv.get(…)``)."""

    def __init__(self, settings: DataverseSettings, **client_options: Any):
        self._portal_context = start_blocking_portal()
        portal = self._portal_context.__enter__()
        try:
            client = portal.call(functools.partial(_make_client, settings, client_options))
        except BaseException:
            self._portal_context.__exit__(None, None, None)
            raise
        super().__init__(client, portal)
        self.client: DataverseClient = client
        self.metadata = _Blocking(client.metadata, portal)
        self.changes = _Blocking(client.changes, portal)

    def close(self) -> None:
        try:
            self._portal.call(self.client.aclose)
        finally:
            self._portal_context.__exit__(None, None, None)

    def __enter__(self) -> SyncDataverseClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


async def _make_client(settings: DataverseSettings, options: dict[str, Any]) -> DataverseClient:
    return DataverseClient(settings, **options)  # built on the portal's loop, where it will run
