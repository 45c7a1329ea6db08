"""Shared set-up for the security, limits and metadata tests: an org database with one principal per role,
the security layer installed on an app, and tokens minted for those principals."""

from __future__ import annotations

import uuid
from pathlib import Path

from fastapi import FastAPI, Request

from lead2cash.crm import auth, security
from lead2cash.crm.store import Store

SECRET = "test-signing-secret"
APP_ID = uuid.UUID("11111111-1111-1111-1111-111111111111")
SALES_ID = uuid.UUID("22222222-2222-2222-2222-222222222222")
CUSTOMIZER_ID = uuid.UUID("33333333-3333-3333-3333-333333333333")
ADMIN_ID = uuid.UUID("44444444-4444-4444-4444-444444444444")


def make_store(path: Path) -> Store:
    store = Store(f"sqlite:///{path}")
    store.create_schema()
    security.ensure_schema(store.engine)
    with store.engine.begin() as conn:
        security.save_principal(
            conn, systemuserid=APP_ID, fullname="Integration", client_id="app-1", client_secret="s3cret",
            roles=[security.INTEGRATION_ADMINISTRATOR, security.INTEGRATION_USER],
        )  # fmt: skip
        security.save_principal(
            conn, systemuserid=SALES_ID, fullname="Sam Sales", username="sam@example.com",
            password="pw-sam", roles=[security.SALESPERSON],
        )  # fmt: skip
        security.save_principal(
            conn, systemuserid=CUSTOMIZER_ID, fullname="Cus Tomizer", username="cus@example.com",
            password="pw-cus", roles=[security.SOLUTION_CUSTOMIZER],
        )  # fmt: skip
        security.save_principal(
            conn, systemuserid=ADMIN_ID, fullname="Ada Admin", username="ada@example.com",
            password="pw-ada", roles=[security.SYSTEM_ADMINISTRATOR],
        )  # fmt: skip
    return store


def echo_app(store: Store) -> FastAPI:
    """The security layer in front of a stand-in data API: GET reports the caller, POST writes an account."""
    app = FastAPI()
    auth.install(app, store=store, secret=SECRET)

    @app.post("/api/data/v9.2/accounts")
    def create_account(body: dict, request: Request) -> dict:
        caller = auth.current_caller(request)
        with store.unit_of_work(caller) as uow:
            account_id = uow.create(store.registry.get("account"), {"name": body.get("name", "x")})
        return {"accountid": account_id}

    @app.api_route("/api/data/v9.2/{rest:path}", methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
    def echo(rest: str, request: Request) -> dict:
        caller = auth.current_caller(request)
        return {"user": str(caller.systemuserid), "roles": sorted(caller.roles)}

    return app


def token_for(app: FastAPI, user: uuid.UUID, lifetime: int | None = None) -> str:
    authenticator: auth.Authenticator = app.state.l2c_authenticator
    caller = authenticator.caller_by_id(user)
    return authenticator.issue(caller, audience="x", tenant="t", issuer="i", lifetime=lifetime)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
