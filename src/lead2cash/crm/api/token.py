"""The OAuth2 token endpoint in Entra ID's shape, and its discovery document.

``POST /{tenant}/oauth2/v2.0/token`` answers what Entra ID answers — ``{"token_type": "Bearer",
"expires_in", "access_token"}`` on success, ``{"error", "error_description": "AADSTS…"}`` on failure — so a
client's token code needs no special case for the local server. Client credentials (form fields or HTTP
Basic) sign in application users; the password grant signs in interactive users. Tokens are issued by
:class:`lead2cash.crm.auth.Authenticator`.
"""

from __future__ import annotations

import base64

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from lead2cash.crm.auth import Authenticator

router = APIRouter(tags=["authentication"])


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse(
        {
            "error": error,
            "error_description": description,
            "error_codes": [int(description[6 : description.index(":")])],
        },
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return None
    return client_id, secret


@router.post("/{tenant}/oauth2/v2.0/token")
async def token(tenant: str, request: Request) -> JSONResponse:
    """OAuth2 token endpoint (client credentials; password grant for interactive users)."""
    authenticator: Authenticator = request.app.state.l2c_authenticator
    form = await request.form()
    grant_type = str(form.get("grant_type") or "")
    scope = str(form.get("scope") or "")
    if not grant_type:
        return _oauth_error(
            400,
            "invalid_request",
            "AADSTS900144: The request body must contain the following parameter: 'grant_type'.",
        )
    resource = next((s.rsplit("/", 1)[0] for s in scope.split() if s.endswith("/.default")), "")
    if grant_type == "client_credentials":
        basic = _basic_credentials(request.headers.get("authorization"))
        client_id, secret = basic or (str(form.get("client_id") or ""), str(form.get("client_secret") or ""))
        if not resource:
            return _oauth_error(
                400,
                "invalid_scope",
                f"AADSTS1002012: The provided value for scope {scope!r} is not valid. Client credential "
                "flows must have a scope value with /.default suffixed to the resource identifier.",
            )
        # Secret hashing is deliberately slow: keep it off the event loop.
        caller = await run_in_threadpool(authenticator.client_credentials, client_id, secret)
        if caller is None:
            return _oauth_error(
                401, "invalid_client", "AADSTS7000215: Invalid client secret provided or unknown client id."
            )
    elif grant_type == "password":
        resource = resource or next((s.rsplit("/", 1)[0] for s in scope.split() if "/" in s), "")
        username, password = str(form.get("username") or ""), str(form.get("password") or "")
        caller = await run_in_threadpool(authenticator.password, username, password)
        if caller is None:
            return _oauth_error(
                400,
                "invalid_grant",
                "AADSTS50126: Error validating credentials due to invalid username or password.",
            )
    else:
        return _oauth_error(
            400,
            "unsupported_grant_type",
            f"AADSTS70003: The app requested an unsupported grant type {grant_type!r}.",
        )
    base = str(request.base_url).rstrip("/")
    access_token = authenticator.issue(caller, audience=resource or base, tenant=tenant, issuer=f"{base}/{tenant}/v2.0")
    lifetime = authenticator.token_lifetime
    return JSONResponse(
        {
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": access_token,
        },
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


@router.get("/{tenant}/v2.0/.well-known/openid-configuration")
async def openid_configuration(tenant: str, request: Request) -> dict:
    """Discovery document, so OAuth libraries pointed at this server as authority find the endpoint."""
    base = str(request.base_url).rstrip("/")
    return {
        "issuer": f"{base}/{tenant}/v2.0",
        "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
        "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "grant_types_supported": ["client_credentials", "password"],
        "response_types_supported": ["token"],
        "tenant_region_scope": "local",
    }
