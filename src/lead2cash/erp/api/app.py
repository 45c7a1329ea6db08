"""The ERP API application: routers under ``/api/v1``, JSON errors for every failure, OpenAPI at ``/docs``."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session, sessionmaker

from lead2cash import __version__
from lead2cash.erp.api import admin, documents, master
from lead2cash.erp.errors import ErpError

API_PREFIX = "/api/v1"


class RefuseNul:
    """Refuse a URL carrying a NUL character (422) before any route sees it.

    PostgreSQL can neither store nor compare text holding NUL, so such a path segment or query value would end
    in a database error wherever it reaches a query; no valid key, code or filter ever contains one.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            query = scope.get("query_string", b"")
            if "\x00" in scope.get("path", "") or b"%00" in query or b"\x00" in query:
                body = {
                    "code": "validation_error",
                    "message": "The request URL contains a NUL character.",
                    "fix": "Remove the NUL character (%00) from the path and query.",
                }
                await JSONResponse({"error": body}, status_code=422)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(sessions: sessionmaker[Session]) -> FastAPI:
    app = FastAPI(
        title="lead2cash ERP",
        version=__version__,
        description="Business Central-style back office: master data, setup and users.",
    )
    app.state.sessions = sessions
    app.add_middleware(RefuseNul)
    app.include_router(master.router(), prefix=API_PREFIX)
    app.include_router(admin.router(), prefix=API_PREFIX)
    app.include_router(documents.router(), prefix=API_PREFIX)

    @app.exception_handler(ErpError)
    async def erp_error(_request: Request, exc: ErpError):
        headers = {"WWW-Authenticate": 'Basic realm="lead2cash ERP"'} if exc.status == 401 else None
        return JSONResponse({"error": exc.as_dict()}, status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(_request: Request, exc: RequestValidationError):
        problems = [
            {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"]} for e in exc.errors()
        ]
        first = problems[0] if problems else {"field": "", "message": "invalid request"}
        return JSONResponse(
            {
                "error": {
                    "code": "validation_error",
                    "message": f"{first['field']}: {first['message']}",
                    "field": first["field"],
                    "fix": "Correct the listed fields and send the request again.",
                    "problems": problems,
                }
            },
            status_code=422,
        )

    @app.get("/health", include_in_schema=False)
    def health():
        return {"status": "ok"}

    return app
