"""OAuth2 client credentials for the Dataverse client: bearer tokens, cached until shortly before expiry.

Two providers with one small interface (:class:`TokenProvider`):

- :class:`ClientCredentials` posts ``grant_type=client_credentials`` to an Entra-shaped token endpoint
  (``{authority}/{tenant}/oauth2/v2.0/token``, scope ``<org>/.default``) with httpx. The local CRM server
  exposes exactly that endpoint; Entra ID accepts the same form.
- :class:`MsalClientCredentials` goes through ``msal`` — what a real Dynamics 365 org should use (instance
  discovery, regional endpoints, the library's token cache and its retry rules). ``msal`` is synchronous,
  so its calls run in a worker thread.

Both keep the current token until ``refresh_margin`` before it expires, fetch at most one new token at a
time however many requests need one, and forget a token when the org answers 401 with it
(:meth:`TokenProvider.invalidate`), so the transport can retry that request once with a fresh token.
Secrets are never logged or put into error messages.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import anyio
import anyio.to_thread
import httpx
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from lead2cash.integration.dataverse.errors import AuthenticationError

MICROSOFT_AUTHORITY = "https://login.microsoftonline.com"
_MICROSOFT_HOSTS = (
    "login.microsoftonline.com",
    "login.microsoftonline.us",
    "login.chinacloudapi.cn",
    "login.partner.microsoftonline.cn",
    "login.windows.net",
)


class TokenProvider(Protocol):
    """Hands out bearer tokens for the org; ``invalidate`` drops one the org refused."""

    async def token(self) -> str: ...

    def invalidate(self, token: str) -> None: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class _Token:
    value: str
    refresh_at: float  # clock seconds: shortly before it expires


def scope_for(org_url: str) -> str:
    """The client-credentials scope of an org: ``https://org.crm.dynamics.com/.default``."""
    parts = urlsplit(org_url)
    return f"{parts.scheme}://{parts.netloc}/.default"


def is_microsoft_authority(authority: str) -> bool:
    return (urlsplit(authority).hostname or "").lower() in _MICROSOFT_HOSTS


class _CachedTokens:
    """The shared part: one current token, refreshed under a lock, dropped when refused."""

    def __init__(self, refresh_margin: float, clock: Callable[[], float]):
        self.refresh_margin = refresh_margin
        self.clock = clock
        self._current: _Token | None = None
        self._lock = anyio.Lock()
        self.fetches = 0

    def _valid(self) -> str | None:
        current = self._current
        if current is None:
            return None
        return current.value if current.refresh_at > self.clock() else None

    async def token(self) -> str:
        value = self._valid()
        if value is not None:
            return value
        async with self._lock:
            value = self._valid()  # another task may have fetched while this one waited
            if value is not None:
                return value
            value, lifetime = await self._fetch()
            self.fetches += 1
            # refresh ahead by the margin, but never by more than a tenth of a short-lived token's life
            margin = min(self.refresh_margin, lifetime / 10)
            self._current = _Token(value, self.clock() + lifetime - margin)
            return value

    def invalidate(self, token: str) -> None:
        if self._current is not None and self._current.value == token:
            self._current = None

    async def _fetch(self) -> tuple[str, float]:
        raise NotImplementedError


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, httpx.TransportError):
        return True
    return isinstance(exc, AuthenticationError) and exc.status in (429, 500, 502, 503, 504)


class ClientCredentials(_CachedTokens):
    """Client credentials against an Entra-shaped token endpoint, over httpx."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str,
        *,
        verify: Any = True,
        timeout: float = 30.0,
        refresh_margin: float = 300.0,
        clock: Callable[[], float] = time.time,
        http: httpx.AsyncClient | None = None,
    ):
        super().__init__(refresh_margin, clock)
        self.token_url = token_url
        self.client_id = client_id
        self._secret = client_secret
        self.scope = scope
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(verify=verify, timeout=timeout)

    @classmethod
    def for_org(
        cls, authority: str, tenant: str, org_url: str, client_id: str, client_secret: str, **kwargs: Any
    ) -> ClientCredentials:
        """Token endpoint ``{authority}/{tenant}/oauth2/v2.0/token``, scope ``{org}/.default``."""
        token_url = f"{authority.rstrip('/')}/{tenant}/oauth2/v2.0/token"
        return cls(token_url, client_id, client_secret, scope_for(org_url), **kwargs)

    def _form(self) -> dict[str, str]:
        return {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._secret,
            "scope": self.scope,
        }

    async def _fetch(self) -> tuple[str, float]:
        form = self._form()
        retrying = AsyncRetrying(
            stop=stop_after_attempt(3),
            wait=wait_random_exponential(multiplier=0.2, max=5),
            retry=retry_if_exception(_transient),
            reraise=True,
        )
        try:
            body = await self._post(form, retrying)
        except httpx.TransportError as exc:
            raise AuthenticationError(
                0,
                "",
                f"Could not reach the token endpoint {self.token_url}: {exc!r}",
                method="POST",
                url=self.token_url,
            ) from exc
        return str(body["access_token"]), float(body.get("expires_in") or 3600)

    async def _post(self, form: dict[str, str], retrying: AsyncRetrying) -> dict[str, Any]:
        async for attempt in retrying:
            with attempt:
                response = await self._http.post(self.token_url, data=form, headers={"Accept": "application/json"})
                body = _json(response)
                if response.status_code != 200 or "access_token" not in body:
                    raise AuthenticationError(
                        response.status_code,
                        str(body.get("error") or ""),
                        f"The token endpoint refused {self._principal()}: "
                        f"{body.get('error_description') or response.reason_phrase}",
                        method="POST",
                        url=self.token_url,
                    )
                return body
        raise AssertionError("unreachable")  # pragma: no cover - tenacity re-raises the last error

    def _principal(self) -> str:
        return f"client {self.client_id}"

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()


class PasswordCredentials(ClientCredentials):
    """A user's name and password (OAuth2 password grant) — for the local server's administrator account,
    which the setup uses to deploy metadata. Entra ID discourages this grant; real orgs should give the
    setup an application user with the System Customizer role and use client credentials instead."""

    def __init__(self, token_url: str, username: str, password: str, scope: str, **kwargs: Any):
        super().__init__(token_url, "", "", scope, **kwargs)
        self.username = username
        self._password = password

    def _form(self) -> dict[str, str]:
        return {"grant_type": "password", "username": self.username, "password": self._password, "scope": self.scope}

    def _principal(self) -> str:
        return f"user {self.username}"


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


class MsalClientCredentials(_CachedTokens):
    """Client credentials through ``msal.ConfidentialClientApplication`` (Entra ID; any Entra-shaped authority).

    ``authority`` is the full authority including the tenant (``https://login.microsoftonline.com/<tenant>``).
    Instance discovery is only used for Microsoft's own login hosts, so a local authority works offline.
    """

    def __init__(
        self,
        authority: str,
        client_id: str,
        client_secret: str,
        scope: str,
        *,
        verify: Any = True,
        timeout: float = 30.0,
        refresh_margin: float = 300.0,
        clock: Callable[[], float] = time.time,
    ):
        super().__init__(refresh_margin, clock)
        self.authority = authority.rstrip("/")
        self.client_id = client_id
        self._secret = client_secret
        self.scope = scope
        self._verify = verify
        self._timeout = timeout
        self._app: Any = None  # built on first use: msal resolves the authority over the network

    def _application(self) -> Any:
        if self._app is None:
            import msal

            self._app = msal.ConfidentialClientApplication(
                self.client_id,
                client_credential=self._secret,
                authority=self.authority,
                # msal's HTTP goes through httpx so that ``verify`` holds (requests lets the
                # REQUESTS_CA_BUNDLE environment variable override a session's CA bundle)
                http_client=httpx.Client(verify=_ssl_verify(self._verify), timeout=self._timeout),
                instance_discovery=is_microsoft_authority(self.authority),
            )
        return self._app

    def _acquire(self) -> dict[str, Any]:
        return self._application().acquire_token_for_client(scopes=[self.scope])

    async def _fetch(self) -> tuple[str, float]:
        try:
            result = await anyio.to_thread.run_sync(self._acquire)
        except Exception as exc:  # msal raises for unreachable or invalid authorities
            raise AuthenticationError(0, "", f"Could not reach the authority {self.authority}: {exc}") from exc
        if "access_token" not in result:
            raise AuthenticationError(
                401,
                str(result.get("error") or ""),
                f"The authority refused client {self.client_id}: {result.get('error_description') or result}",
            )
        return str(result["access_token"]), float(result.get("expires_in") or 3600)

    def invalidate(self, token: str) -> None:
        was_current = self._current is not None and self._current.value == token
        super().invalidate(token)
        if was_current and self._app is not None:
            self._app.remove_tokens_for_client()  # msal would hand the refused token out again

    async def aclose(self) -> None:
        return None


def _ssl_verify(verify: Any) -> Any:
    """httpx's ``verify``: a CA bundle path becomes an SSL context trusting it."""
    return ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify


class StaticToken:
    """A fixed bearer token (tests, or a token obtained elsewhere); cannot be refreshed."""

    def __init__(self, value: str):
        self._value = value

    async def token(self) -> str:
        return self._value

    def invalidate(self, token: str) -> None:
        return None

    async def aclose(self) -> None:
        return None
