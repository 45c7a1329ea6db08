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


def create_app(sessions: sessionmaker[Session]) -> FastAPI:
    app = FastAPI(
        title="lead2cash ERP",
        version=__version__,
        description="Business Central-style back office: master data, setup and users.",
    )
    app.state.sessions = sessions
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
