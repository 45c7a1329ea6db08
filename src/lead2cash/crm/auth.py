"""Sign-in for the CRM server: access tokens and the bearer check on every Web API call.

Clients of a real Dynamics 365 org get an OAuth2 access token from Entra ID (client credentials for the
integration's application user, a user sign-in for people) and send it as ``Authorization: Bearer``. The
local server offers the same shape — ``POST /{tenant}/oauth2/v2.0/token`` with ``scope=<org url>/.default``
— so one client code path (including MSAL-style clients) works against both (the endpoint itself is in
``crm/api/token.py``). Tokens are JWTs signed with
a key derived from the settings' secret; they name the principal (``oid``), and the principal's current
roles are read from the CRM database (briefly cached), so a role change or a disabled user takes effect
without waiting for tokens to expire.

A missing, expired or forged token is a 401 with Dataverse error JSON and a ``WWW-Authenticate``
challenge; a valid token without the needed privilege is a 403 (see ``crm/access.py``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jwt
from fastapi import FastAPI, Request
from sqlalchemy import Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from lead2cash.crm import security
from lead2cash.crm.access import API_PREFIX, authorize
from lead2cash.crm.odata.errors import UNAUTHORIZED, DataverseError, dataverse_error_handler
from lead2cash.crm.security import Caller

if TYPE_CHECKING:
    from lead2cash.crm.limits import FaultConfig, LimitConfig

DEFAULT_TENANT = "6f1c3c2e-8b5a-4a2b-9d8e-0c1d2e3f4a5b"
TOKEN_LIFETIME_SECONDS = 3599
# In-process sub-requests (``$batch`` parts) carry the outer request's Caller under this scope key; the
# bearer check and the limiter trust it and let the part through (a network client cannot set it).
INNER_CALLER_KEY = "l2c.caller"
_ALGORITHM = "HS256"


class AuthError(Exception):
    """A token that cannot be accepted; ``message`` is safe to show the client."""


@dataclass
class Authenticator:
    """Issues and checks access tokens; resolves a token's principal to a :class:`Caller`."""

    engine: Engine
    secret: str
    token_lifetime: int = TOKEN_LIFETIME_SECONDS
    cache_seconds: float = 5.0
    entity_for_set: Callable[[str], str | None] = lambda _name: None

    def __post_init__(self) -> None:
        # A key of its own, so a leaked token key says nothing about other uses of the secret.
        self._key = hmac.new(self.secret.encode(), b"lead2cash crm access tokens", hashlib.sha256).digest()
        self._cache: dict[uuid.UUID, tuple[float, Caller | None]] = {}

    # ---- tokens ----

    def issue(self, caller: Caller, *, audience: str, tenant: str, issuer: str, lifetime: int | None = None) -> str:
        now = int(time.time())
        claims = {
            "aud": audience,
            "iss": issuer,
            "tid": tenant,
            "oid": str(caller.systemuserid),
            "sub": str(caller.systemuserid),
            "name": caller.name,
            "idtyp": "app" if caller.is_application_user else "user",
            "iat": now,
            "nbf": now,
            "exp": now + (self.token_lifetime if lifetime is None else lifetime),
            "ver": "2.0",
        }
        return jwt.encode(claims, self._key, algorithm=_ALGORITHM)

    def caller_for_token(self, token: str) -> Caller:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[_ALGORITHM],
                options={"verify_aud": False, "require": ["exp", "oid"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("The access token has expired. Acquire a new token.") from exc
        except jwt.PyJWTError as exc:
            raise AuthError("The access token is invalid: its signature or format was not accepted.") from exc
        try:
            systemuserid = uuid.UUID(claims["oid"])
        except (TypeError, ValueError) as exc:
            raise AuthError("The access token does not name a user.") from exc
        caller = self.caller_by_id(systemuserid)
        if caller is None:
            raise AuthError(f"The user with Id = {systemuserid} does not exist or is disabled.")
        return caller

    # ---- principals ----

    def caller_by_id(self, systemuserid: uuid.UUID) -> Caller | None:
        now = time.monotonic()
        hit = self._cache.get(systemuserid)
        if hit is not None and now - hit[0] < self.cache_seconds:
            return hit[1]
        with self.engine.connect() as conn:
            principal = security.principal_by_id(conn, systemuserid)
        caller = None if principal is None or principal.disabled else principal.caller
        self._cache[systemuserid] = (now, caller)
        return caller

    def forget(self, systemuserid: uuid.UUID | None = None) -> None:
        """Drop cached principals after their roles or status changed."""
        if systemuserid is None:
            self._cache.clear()
        else:
            self._cache.pop(systemuserid, None)

    def client_credentials(self, client_id: str, client_secret: str) -> Caller | None:
        with self.engine.connect() as conn:
            return _checked(security.principal_by_client_id(conn, client_id), client_secret)

    def password(self, username: str, password: str) -> Caller | None:
        with self.engine.connect() as conn:
            return _checked(security.principal_by_username(conn, username), password)


_DUMMY_HASH = security.hash_secret(secrets.token_urlsafe(16))


def _checked(principal: security.Principal | None, secret: str) -> Caller | None:
    """The principal's caller if ``secret`` is right; unknown names cost the same time as wrong secrets."""
    stored = principal.secret_hash if principal is not None else _DUMMY_HASH
    valid = security.verify_secret(secret, stored)
    if principal is None or principal.disabled or not valid:
        return None
    return principal.caller


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def challenge(base_url: str) -> str:
    base = base_url.rstrip("/")
    return f"Bearer authorization_uri={base}/{DEFAULT_TENANT}/oauth2/authorize, resource_id={base}/"


def unauthorized(message: str, base_url: str) -> DataverseError:
    return DataverseError(401, UNAUTHORIZED, message, headers={"WWW-Authenticate": challenge(base_url)})


def _base_url(scope: Scope) -> str:
    headers = dict(scope.get("headers") or [])
    host = headers.get(b"host", b"").decode("latin-1")
    if not host:
        server = scope.get("server") or ("localhost", 80)
        host = f"{server[0]}:{server[1]}"
    return f"{scope.get('scheme', 'http')}://{host}"


def authenticate(authenticator: Authenticator, authorization: str | None, base_url: str) -> Caller:
    """The caller behind an ``Authorization`` header, or the 401 to send."""
    token = bearer_token(authorization)
    if token is None:
        raise unauthorized("Authentication is required: send an 'Authorization: Bearer <token>' header.", base_url)
    try:
        return authenticator.caller_for_token(token)
    except AuthError as exc:
        raise unauthorized(str(exc), base_url) from exc


class BearerAuthMiddleware:
    """Requires a valid bearer token on every ``/api/data/v9.x/`` request and checks its privilege.

    On success ``request.state.caller`` holds the :class:`Caller`. Other paths (token endpoint, pages)
    pass untouched.
    """

    def __init__(self, app: ASGIApp, authenticator: Authenticator):
        self.app = app
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not API_PREFIX.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        inner = scope.get(INNER_CALLER_KEY)
        try:
            if isinstance(inner, Caller):
                caller = inner
            else:
                headers = dict(scope.get("headers") or [])
                authorization = headers.get(b"authorization", b"").decode("latin-1") or None
                caller = authenticate(self.authenticator, authorization, _base_url(scope))
            authorize(caller, scope["method"], scope["path"], self.authenticator.entity_for_set)
        except DataverseError as exc:
            await exc.response()(scope, receive, send)
            return
        state["caller"] = caller
        await self.app(scope, receive, send)


def current_caller(request: Request) -> Caller:
    """FastAPI dependency: the signed-in caller (set by :class:`BearerAuthMiddleware`)."""
    caller = getattr(request.state, "caller", None)
    if not isinstance(caller, Caller):
        raise unauthorized("Authentication is required.", str(request.base_url))
    return caller


def require_administrator(request: Request) -> Caller:
    """FastAPI dependency for control endpoints outside the Web API: an administrator's bearer token."""
    authenticator: Authenticator = request.app.state.l2c_authenticator
    caller = authenticate(authenticator, request.headers.get("authorization"), str(request.base_url))
    if not caller.is_administrator:
        raise DataverseError(403, security.PRIVILEGE_DENIED, "Only a System Administrator may do this.")
    return caller


class UserStatusHook:
    """Store write hook: disabling (or deleting) a ``systemuser`` row disables its sign-in at once."""

    def __init__(self, authenticator: Authenticator):
        self.authenticator = authenticator

    def before(self, uow: Any, change: Any) -> None:
        return None

    def after(self, uow: Any, change: Any) -> None:
        if change.entity.logical_name != "systemuser":
            return
        if change.op == "delete":
            disabled = True
        elif "isdisabled" in change.values:
            disabled = bool(change.values["isdisabled"])
        else:
            return
        user_id = uuid.UUID(str(change.id))
        security.set_disabled(uow.conn, user_id, disabled)
        self.authenticator.forget(user_id)


def install(
    app: FastAPI,
    *,
    store: Any,
    secret: str,
    limits: LimitConfig | None = None,
    faults: FaultConfig | None = None,
    token_lifetime: int = TOKEN_LIFETIME_SECONDS,
) -> Authenticator:
    """Protect ``app``: token endpoint, WhoAmI, the limiter/faults and the bearer check on ``/api/data``.

    ``store`` is the org's ``crm.store.Store`` (its engine holds the principals; its registry maps entity
    sets to tables for the privilege checks). Include the data routers after calling this, so the
    specific routes here take precedence over generic entity-set routes.
    """
    from lead2cash.crm import limits as limits_module  # imports this module; installed first, runs inside
    from lead2cash.crm.api import token, whoami

    security.ensure_schema(store.engine)

    def entity_for_set(name: str) -> str | None:
        entity = store.registry.by_entity_set(name)
        return entity.logical_name if entity is not None else None

    authenticator = Authenticator(store.engine, secret, token_lifetime=token_lifetime, entity_for_set=entity_for_set)
    app.state.l2c_authenticator = authenticator
    store.hooks.append(UserStatusHook(authenticator))
    app.state.l2c_store = store
    app.add_exception_handler(DataverseError, dataverse_error_handler)  # control endpoints raise it too
    limits_module.install(app, limits, faults)
    app.add_middleware(BearerAuthMiddleware, authenticator=authenticator)
    app.include_router(token.router)
    app.include_router(whoami.router)
    return authenticator
