"""Dataverse-shaped errors: every failure leaves the server as ``{"error": {"code", "message"}}``.

Clients (the integration, Microsoft's Python client) branch on the hexadecimal Dataverse code, so each
failure carries the code a real organization would send with the same HTTP status.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

# Codes a client may branch on (see reference/dataverse.md §5).
NOT_FOUND = "0x80040217"
ETAG_MISMATCH = "0x80060882"
ALREADY_EXISTS = "0x80040237"
DUPLICATE_KEY = "0x80040237"
BAD_REQUEST = "0x80040203"
QUERY_SYNTAX = "0x80060888"
UNKNOWN_PROPERTY = "0x80060888"
PRIVILEGE_DENIED = "0x80040220"
UNAUTHORIZED = "0x80072560"
INVALID_STATE = "0x80040203"
LIMIT_REQUESTS = "0x80072322"
LIMIT_EXECUTION_TIME = "0x80072321"
LIMIT_CONCURRENCY = "0x80072326"
SERVICE_UNAVAILABLE = "0x80044155"
REQUIRED_MISSING = "0x80040200"


class DataverseError(Exception):
    """An error that is sent to the client as Dataverse error JSON."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def not_found(entity: str, key: str) -> DataverseError:
    return DataverseError(404, NOT_FOUND, f"{entity} With Id = {key} Does Not Exist")


def bad_request(message: str, code: str = BAD_REQUEST) -> DataverseError:
    return DataverseError(400, code, message)


async def dataverse_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DataverseError)
    return exc.response()
