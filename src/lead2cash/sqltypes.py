"""Column types that keep money exact and times UTC-aware on every database.

SQLite has neither a decimal nor a timezone-aware timestamp type. ``DecimalType`` therefore stores a
scaled integer on SQLite (exact, sortable and summable in SQL) and ``NUMERIC`` on PostgreSQL;
``UTCDateTime`` stores naive UTC on SQLite and ``timestamptz`` on PostgreSQL, and always hands back an
aware ``datetime`` in UTC. Naive datetimes are refused rather than guessed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sqlalchemy import BigInteger, DateTime, Numeric
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


def _tidy(value: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation (1000.50000 → 1000.5, 1000 → 1000)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


class DecimalType(TypeDecorator):
    """An exact decimal with a fixed number of fractional digits (``scale``)."""

    impl = Numeric
    cache_ok = True

    def __init__(self, scale: int = 5, precision: int = 28):
        super().__init__()
        self.scale = scale
        self.precision = precision
        self._quantum = Decimal(1).scaleb(-scale)
        self._factor = 10**scale

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def _coerce(self, value) -> Decimal:
        if isinstance(value, float):
            value = repr(value)
        try:
            return Decimal(value).quantize(self._quantum, rounding=ROUND_HALF_UP)
        except (InvalidOperation, TypeError) as exc:
            raise ValueError(f"not a decimal number: {value!r}") from exc

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = self._coerce(value)
        if dialect.name == "sqlite":
            return int(value.scaleb(self.scale))
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        exact = Decimal(int(value)).scaleb(-self.scale) if dialect.name == "sqlite" else Decimal(value)
        return _tidy(exact)

    def __repr__(self) -> str:
        return f"DecimalType(scale={self.scale})" if self.scale != 5 else "DecimalType()"

    @property
    def python_type(self):
        return Decimal


class UTCDateTime(TypeDecorator):
    """A point in time, always timezone-aware UTC in Python."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: pass a timezone-aware value")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @property
    def python_type(self):
        return datetime
