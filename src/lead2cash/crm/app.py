"""The CRM server's FastAPI application factory.

``create_app`` wires one org: its ``Store`` (database + metadata registry), seed data, the bearer-token
check with the service-protection limiter and fault switches, and the Web API routers. Order matters:
specific routes (token endpoint, ``WhoAmI``, ``$batch``, actions, metadata) are included before the
generic entity-set routes of ``crm/api/data.py``, which match any ``/api/data/v9.2/<segment>``.
Every failure leaves as Dataverse error JSON, including validation errors and unexpected exceptions.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from lead2cash.config import Settings, get_settings
from lead2cash.crm import auth
from lead2cash.crm.limits import FaultConfig, LimitConfig
from lead2cash.crm.odata.errors import BAD_REQUEST, QUERY_SYNTAX, DataverseError, dataverse_error_handler
from lead2cash.crm.seed import SeedCredentials, seed_org
from lead2cash.crm.store import Store

log = logging.getLogger(__name__)
INTERNAL_ERROR = "0x80040216"


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    seed: bool = True,
    limits: LimitConfig | None = None,
    faults: FaultConfig | None = None,
    token_lifetime: int | None = None,
    seed_options: dict | None = None,
) -> FastAPI:
    """Build the app for the org in ``settings`` (or the given ``store``); creates and seeds its database."""
    settings = settings or get_settings()
    store = store or Store(settings.crm_db_url())
    store.create_schema()
    credentials = seed_org(store, **(seed_options or {})) if seed else SeedCredentials()

    app = FastAPI(title="lead2cash CRM (Dataverse Web API)", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.l2c_store = store
    app.state.l2c_seed_credentials = credentials
    app.add_exception_handler(DataverseError, dataverse_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)

    extra = {"token_lifetime": token_lifetime} if token_lifetime is not None else {}
    limits = limits or LimitConfig.from_settings(settings)
    auth.install(app, store=store, secret=settings.resolved_secret_key(), limits=limits, faults=faults, **extra)

    from lead2cash.crm import sales, sales_actions
    from lead2cash.crm.api import batch, bulk, data, metadata_read, metadata_write, navigation, roles

    sales.install(store)  # Sales rules as write hooks
    # Specific routes first; the generic entity-set routes of ``data`` match any segment, so they go last.
    for router in (metadata_read.router, roles.router, metadata_write.router, batch.router, bulk.router,
                   sales_actions.router, navigation.router, data.router):  # fmt: skip
        app.include_router(router)
    return app


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    return DataverseError(400, BAD_REQUEST, f"Invalid request: {exc}").response()


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = QUERY_SYNTAX if exc.status_code == 404 else BAD_REQUEST
    return DataverseError(exc.status_code, code, str(exc.detail), dict(exc.headers or {})).response()


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error in %s %s", request.method, request.url.path)
    return DataverseError(500, INTERNAL_ERROR, "An unexpected error occurred.").response()
