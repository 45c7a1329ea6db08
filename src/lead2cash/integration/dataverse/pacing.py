"""The org's request budget kept on the client, so the client uses all of it without being refused.

Dataverse allows each user N requests in any sliding window of W seconds (6,000 / 300 s). A fixed minimum
interval between requests (``max_rate``) wastes every slot the caller did not use on time: when the sync
engine spends a moment mapping rows between two pages, those slots are gone. :class:`WindowBudget` instead
mirrors the server's window: a request may start whenever fewer than N requests are in flight or were
answered within the last W seconds, so a client that idled may catch up in a burst, as the server allows.

Two details keep it from ever overshooting the server's count:

- an answered request is remembered from the moment its *answer* arrived, which is never earlier than
  the moment the server counted it, so it leaves the client's window no earlier than the server's;
  requests still in flight occupy a slot until then. No safety margin on N or W is needed;
- the server's ``x-ms-ratelimit-burst-remaining-xrm-requests`` header (:meth:`WindowBudget.finish`'s
  ``remaining``) corrects the count when the server knows of more requests than the client sent — another
  client signed in as the same user, or a budget configured above the server's. The difference is booked
  as requests answered just now (they leave the window last, so the correction errs on the safe side).

The class is pure bookkeeping on an injected clock; :class:`~.transport.Transport` does the waiting.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class WindowBudget:
    """At most ``requests`` requests started in any ``seconds``-long window, counting those in flight."""

    def __init__(self, requests: int, seconds: float, clock: Callable[[], float] = time.monotonic):
        if requests < 1 or seconds <= 0:
            raise ValueError("a request budget needs at least one request per window of positive length")
        self.requests = requests
        self.seconds = seconds
        self._clock = clock
        self._answered: deque[float] = deque()  # when each counted answer arrived, oldest first
        self.in_flight = 0
        self.corrections = 0  # requests booked from the server's remaining-budget header

    def _expire(self, now: float) -> None:
        horizon = now - self.seconds
        while self._answered and self._answered[0] <= horizon:
            self._answered.popleft()

    def used(self) -> int:
        """Requests that count against the window now (answered within it, or still in flight)."""
        self._expire(self._clock())
        return len(self._answered) + self.in_flight

    def delay(self) -> float | None:
        """Seconds until a request may start (0: now); ``None`` when only an answer in flight can free a slot."""
        now = self._clock()
        self._expire(now)
        must_leave = len(self._answered) + self.in_flight - self.requests + 1
        if must_leave <= 0:
            return 0.0
        if must_leave > len(self._answered):
            return None
        return max(0.0, self._answered[must_leave - 1] + self.seconds - now)

    def start(self) -> None:
        """A request is being sent (call right after :meth:`delay` said 0, without waiting in between)."""
        self.in_flight += 1

    def finish(self, *, counted: bool = True, remaining: int | None = None) -> None:
        """Its answer arrived. ``counted=False`` for a 429 (refused before it ran: the server did not count
        it); ``remaining`` is the server's remaining budget reported with the answer, if any."""
        now = self._clock()
        self.in_flight = max(0, self.in_flight - 1)
        if counted:
            self._answered.append(now)
        if remaining is not None:
            self._expire(now)
            unknown = self.requests - len(self._answered) - self.in_flight - max(0, remaining)
            unknown = min(unknown, self.requests - len(self._answered))
            if unknown > 0:
                self._answered.extend([now] * unknown)
                self.corrections += unknown
