"""Secrets at rest: the connection's client secret is stored encrypted with Fernet.

The key is derived (HKDF-SHA256) from the installation's secret key (``Settings.resolved_secret_key()``),
so a copy of the database alone does not reveal the secret, and the secret key never appears in the
database. If the secret key changes, stored secrets cannot be read any more: the user is told to enter the
client secret again.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from lead2cash.erp.errors import ErpError

_INFO = b"lead2cash integration connection secrets"


class SecretUnreadable(ErpError):
    status = 409
    code = "secret_unreadable"


def _fernet(secret_key: str) -> Fernet:
    if not secret_key:
        raise ValueError("an encryption key is needed (Settings.resolved_secret_key())")
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt(plaintext: str, secret_key: str) -> str:
    return _fernet(secret_key).encrypt(plaintext.encode()).decode()


def decrypt(token: str, secret_key: str) -> str:
    try:
        return _fernet(secret_key).decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "The stored client secret cannot be decrypted with this installation's secret key.",
            field="client_secret",
            fix="Enter the client secret again (the secret key L2C_SECRET_KEY has changed).",
        ) from None
