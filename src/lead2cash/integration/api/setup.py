"""``/api/v1/integration/setup``: the connection setup page as an API (administrators only).

``GET`` shows the setup (the client secret only as ``***`` with ``has_secret``) and where synchronization
stands (mappings, active scheduled jobs, full synchronization); ``PUT``/``PATCH`` change
the fields given; ``POST …/test`` runs the connection checks; ``POST …/deploy`` deploys the integration
solution with an administrator account sent in the body and never stored; ``POST …/enable`` and
``…/disable``; ``POST …/use-default-synchronization-setup`` recreates the standard mappings.

The handlers that call the CRM authenticate the caller in a short transaction of their own and keep no
transaction open while the org answers.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from lead2cash.config import get_settings
from lead2cash.db import transaction
from lead2cash.erp.api.auth import ADMINS, current_user, require
from lead2cash.integration.setup import service
from lead2cash.integration.setup.status import synchronization_status

PREFIX = "/integration/setup"
TAGS = ["Integration connection setup"]


class SetupIn(BaseModel):
    """Fields to change; absent fields keep their value. ``client_secret`` ``***`` keeps the stored secret."""

    model_config = ConfigDict(extra="forbid")
    server_address: str | None = Field(None, max_length=250)
    authority: str | None = Field(None, max_length=250)
    tenant_id: str | None = Field(None, max_length=100)
    client_id: str | None = Field(None, max_length=100)
    client_secret: str | None = Field(None, max_length=500)
    ca_bundle: str | None = Field(None, max_length=500)
    auto_create_sales_orders: bool | None = None
    auto_process_quotes: bool | None = None
    bidirectional_sales_orders: bool | None = None
    sales_order_user: str | None = Field(None, max_length=50)
    item_availability_enabled: bool | None = None
    odata_web_service_user: str | None = Field(None, max_length=50)


class DeployIn(BaseModel):
    """The administrator account for this deployment only: user name + password, or client id + secret."""

    model_config = ConfigDict(extra="forbid")
    admin_username: str = ""
    admin_password: str = ""
    admin_client_id: str = ""
    admin_client_secret: str = ""


class DisableIn(BaseModel):
    reason: str = Field("", max_length=250)


def _admin(request: Request) -> str:
    """The calling administrator's user name (authenticated in its own short transaction)."""
    with transaction(request.app.state.sessions) as session:
        user = require(ADMINS)(current_user(request, session))
        return user.user_name


def _secret_key(request: Request) -> str:
    key = getattr(request.app.state, "secret_key", None)
    return key or get_settings().resolved_secret_key()


def router() -> APIRouter:
    api = APIRouter(prefix=PREFIX, tags=TAGS)

    @api.get("", operation_id="get_connection_setup", summary="The connection setup (secrets masked)")
    def read(request: Request, _: str = Depends(_admin)) -> dict[str, Any]:
        with transaction(request.app.state.sessions) as session:
            return {**service.view(service.get_setup(session)), "synchronization": synchronization_status(session)}

    @api.put("", operation_id="put_connection_setup", summary="Change connection setup fields")
    @api.patch("", operation_id="patch_connection_setup", summary="Change connection setup fields")
    def write(body: SetupIn, request: Request, _: str = Depends(_admin)) -> dict[str, Any]:
        changes = body.model_dump(exclude_unset=True)
        with transaction(request.app.state.sessions) as session:
            return service.view(service.update(session, changes, _secret_key(request)))

    @api.post("/test", operation_id="test_connection", summary="Test connection: each check with its message")
    def test(request: Request, _: str = Depends(_admin)) -> dict[str, Any]:
        return service.test_connection(request.app.state.sessions, _secret_key(request)).as_dict()

    @api.post("/deploy", operation_id="deploy_solution", summary="Deploy (or redeploy) the integration solution")
    def deploy(body: DeployIn, request: Request, _: str = Depends(_admin)) -> dict[str, Any]:
        admin = service.AdminCredentials(
            body.admin_username, body.admin_password, body.admin_client_id, body.admin_client_secret
        )
        return service.deploy_solution(request.app.state.sessions, _secret_key(request), admin).as_dict()

    @api.post("/enable", operation_id="enable_connection", summary="Enable (after a passing connection test)")
    def enable(request: Request, _: str = Depends(_admin)) -> dict[str, Any]:
        return service.view(service.set_enabled(request.app.state.sessions, _secret_key(request), True))

    @api.post("/disable", operation_id="disable_connection", summary="Disable the connection")
    def disable(request: Request, body: DisableIn | None = None, user: str = Depends(_admin)) -> dict[str, Any]:
        reason = (body.reason if body else "") or f"Disabled by {user}."
        setup = service.set_enabled(request.app.state.sessions, _secret_key(request), False, reason)
        return service.view(setup)

    @api.post(
        "/use-default-synchronization-setup",
        operation_id="use_default_synchronization_setup",
        summary="Recreate the standard integration table mappings",
    )
    def use_defaults(request: Request, _: str = Depends(_admin)) -> dict[str, Any]:
        from lead2cash.integration.recurring import use_default_setup  # mappings and their recurring entries

        with transaction(request.app.state.sessions) as session:
            mappings = use_default_setup(session)
            return {"mappings": [m.name for m in mappings]}

    return api
