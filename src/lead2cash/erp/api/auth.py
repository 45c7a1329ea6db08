"""Who is calling the ERP API, and may they do this?

Callers authenticate with their web service access key, either as HTTP Basic (user name + key, the way
Business Central web services take it) or as ``Authorization: Bearer <key>``. The web client's session
is a signed cookie holding the user's id (added with the web pages). Roles: administrators may do
everything; order processors and the integration user maintain master data; only administrators manage
users and setup.
"""

from __future__ import annotations

import base64
import binascii

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from lead2cash.erp.errors import Forbidden, Unauthorized
from lead2cash.erp.model import ErpUser
from lead2cash.erp.model.enums import Role
from lead2cash.erp.services.users import authenticate

ALL_ROLES = frozenset(Role)
MASTER_DATA_WRITERS = frozenset({Role.ADMINISTRATOR, Role.ORDER_PROCESSOR, Role.INTEGRATION})
ADMINS = frozenset({Role.ADMINISTRATOR})


def db_session(request: Request):
    """One transaction per request: committed when the handler returns, rolled back on any error."""
    factory = request.app.state.sessions
    with factory() as session, session.begin():
        yield session


def _credentials(request: Request) -> tuple[str | None, str]:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return None, value.strip()
    if scheme.lower() == "basic" and value.strip():
        try:
            user_name, sep, key = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthorized("The Basic authorization header is malformed.") from None
        if sep and key:
            return user_name, key
    raise Unauthorized(
        "Authentication required.",
        fix="Send 'Authorization: Basic <user:web service key>' or 'Bearer <web service key>'.",
    )


def current_user(request: Request, session: Session = Depends(db_session)) -> ErpUser:
    session_user = getattr(request.state, "session_user_id", None)
    if session_user is not None:
        user = session.get(ErpUser, session_user)
        if user is not None and user.enabled:
            return user
    user_name, key = _credentials(request)
    return authenticate(session, key, user_name)


def require(roles: frozenset[Role]):
    def dependency(user: ErpUser = Depends(current_user)) -> ErpUser:
        if user.role not in roles:
            allowed = ", ".join(sorted(r.value for r in roles))
            raise Forbidden(
                f"User {user.user_name} ({user.role.value}) may not do this; it needs: {allowed}.",
                fix="Ask an administrator for a user with the right role.",
            )
        return user

    return dependency
