"""ERP errors that tell the user which record, which field, and how to fix it.

Services raise these; the REST API turns them into JSON bodies with the matching HTTP status, and the CLI
prints them. Nothing is written when one is raised inside a unit of work.
"""

from __future__ import annotations


class ErpError(Exception):
    status = 400
    code = "error"

    def __init__(self, message: str, *, record: str | None = None, field: str | None = None, fix: str | None = None):
        super().__init__(message)
        self.message = message
        self.record = record
        self.field = field
        self.fix = fix

    def as_dict(self) -> dict:
        body = {"code": self.code, "message": self.message}
        for name in ("record", "field", "fix"):
            if getattr(self, name):
                body[name] = getattr(self, name)
        return body

    def __str__(self) -> str:
        return f"{self.message} {self.fix}" if self.fix else self.message


class ValidationFailed(ErpError):
    status = 422
    code = "validation_error"


class NotFound(ErpError):
    status = 404
    code = "not_found"


class Conflict(ErpError):
    status = 409
    code = "conflict"


class PreconditionFailed(ErpError):
    status = 412
    code = "precondition_failed"


class Unauthorized(ErpError):
    status = 401
    code = "unauthorized"


class Forbidden(ErpError):
    status = 403
    code = "forbidden"


def invalid(record: str, field: str, message: str, fix: str) -> ValidationFailed:
    """The usual shape: '<Record>: <field> <what is wrong>.' plus the fix."""
    return ValidationFailed(f"{record}: {field} {message}.", record=record, field=field, fix=fix)
