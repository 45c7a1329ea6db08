"""The ERP process's web application: the ERP API plus the integration's routers.

The ERP package must not import the integration, so the two are put together here, outside both. The
top-level CLI's ``lead2cash erp serve`` and ``lead2cash run`` serve this application (the root CLI names
it as the ERP CLI's app factory).
"""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from lead2cash.erp.api.app import API_PREFIX
from lead2cash.erp.api.app import create_app as create_erp_app
from lead2cash.integration.api import fullsync, manual, setup


def create_app(sessions: sessionmaker[Session], *, secret_key: str | None = None) -> FastAPI:
    """The ERP API with the integration's endpoints under ``/api/v1/integration``.

    ``secret_key`` encrypts connection secrets at rest; default: ``Settings.resolved_secret_key()``.
    """
    app = create_erp_app(sessions)
    app.state.secret_key = secret_key
    app.include_router(setup.router(), prefix=API_PREFIX)
    app.include_router(manual.router(), prefix=API_PREFIX)
    app.include_router(fullsync.router(), prefix=API_PREFIX)
    return app
