"""ERP users and their web service access keys (the key is shown once, stored only as a SHA-256 hash).

Keys are 256-bit random tokens, so a fast hash is enough to make a stolen database useless for signing
in, and it lets the API find the user of a bare key with one indexed lookup.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from lead2cash.erp.errors import Unauthorized
from lead2cash.erp.model import ErpUser
from lead2cash.sqltypes import utcnow


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def change_web_service_key(user: ErpUser) -> str:
    """Generate a new key for ``user`` (the old one stops working at commit) and return it, once."""
    key = secrets.token_urlsafe(32)
    user.web_service_key_hash = hash_key(key)
    user.web_service_key_changed_at = utcnow()
    return key


def authenticate(session: Session, key: str, user_name: str | None = None) -> ErpUser:
    """The enabled user owning ``key`` (and named ``user_name`` when given), else 401."""
    digest = hash_key(key)
    user = session.scalars(select(ErpUser).where(ErpUser.web_service_key_hash == digest)).first()
    if user is None or not hmac.compare_digest(user.web_service_key_hash or "", digest):
        raise Unauthorized(
            "The web service access key is not valid.",
            fix="Use the key shown by 'Change web service key' for your user.",
        )
    if user_name is not None and user.user_name.lower() != user_name.lower():
        raise Unauthorized("The user name does not match the web service access key.")
    if not user.enabled:
        raise Unauthorized(f"User {user.user_name} is disabled.", fix="Ask an administrator to enable the user.")
    return user
