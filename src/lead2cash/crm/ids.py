"""Record ids: the GUIDs the server assigns, and the one spelling every GUID is stored and compared in."""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from typing import Any

_SEQUENCE_BITS = 74  # the random bits of a version-7 UUID, used here as a per-millisecond sequence
_id_lock = threading.Lock()
_last_id = (0, 0)


def new_id() -> str:
    """A server-assigned GUID; ids assigned later sort after earlier ones (as text and as UUIDs).

    Dataverse assigns sequential GUIDs for the same reason: every insert then lands at the end of the
    primary-key index instead of on a random page of it, so the pages a write dirties (and the database
    writes back) do not grow with the table. Layout of a version-7 UUID: 48 bits of Unix time in
    milliseconds, then a sequence that starts at a random point and counts up within the millisecond.
    """
    global _last_id
    with _id_lock:
        # A random start in the lower half of the sequence leaves room to count up within the millisecond.
        candidate = (time.time_ns() // 1_000_000, secrets.randbits(_SEQUENCE_BITS - 1))
        _last_id = candidate if candidate > _last_id else (_last_id[0], _last_id[1] + 1)
        ms, seq = _last_id
    value = (ms << 80) | (0x7 << 76) | ((seq >> 62) << 64) | (0b10 << 62) | (seq & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


def normalise_guid(value: Any) -> str:
    """Any GUID spelling (braces, upper case, ``uuid.UUID``) → lowercase text; ``ValueError`` if invalid."""
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value).strip("{}")))
