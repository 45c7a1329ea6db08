"""Connection settings of the Dataverse client: where the org is, how to sign in, how hard to push.

The same settings describe the local CRM server (``url=https://127.0.0.1:8443``, ``authority`` = the same
server, ``ca_bundle`` = its self-signed certificate) and a real Dynamics 365 org
(``url=https://<org>.crm.dynamics.com``, Entra ID authority, ``msal``). Nothing else changes between them.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Literal

from lead2cash.integration.dataverse.auth import (
    MICROSOFT_AUTHORITY,
    ClientCredentials,
    MsalClientCredentials,
    PasswordCredentials,
    TokenProvider,
    is_microsoft_authority,
    scope_for,
)


@dataclass(frozen=True)
class DataverseSettings:
    """Everything the client needs to reach one org. ``client_secret`` is never shown in ``repr``."""

    url: str  # org root, e.g. https://contoso.crm4.dynamics.com (no /api/data suffix)
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    tenant_id: str = ""
    username: str = ""  # instead of client credentials: a user's password grant (the local administrator)
    password: str = field(default="", repr=False)
    authority: str = MICROSOFT_AUTHORITY  # the local CRM server: its own base URL
    auth: Literal["auto", "oauth", "msal"] = "auto"  # auto: msal for Microsoft's login hosts
    api_version: str = "v9.2"
    ca_bundle: str | None = None  # PEM file to trust (the local server's self-signed certificate)
    verify_tls: bool = True
    connect_timeout: float = 10.0
    read_timeout: float = 120.0  # bulk writes of a few hundred rows can take a while on a busy org
    max_concurrency: int = 16  # requests in flight at once (Dataverse allows 52 per user)
    # the org's request budget, kept by the client (a sliding window as the org's; see pacing.py): Dataverse
    # allows 6,000 per user in 300 s; the local server with L2C_CRM_LIMITS_SCALE=s: round(6000 * s) in 300 * s seconds
    budget_requests: int | None = None  # None: no budget of its own (429 + Retry-After still honoured)
    budget_window: float = 300.0
    max_rate: float | None = None  # requests per second, evenly spread (a fixed interval; slots not used are lost)
    page_size: int = 5000  # Prefer: odata.maxpagesize (Dataverse maximum)
    bulk_chunk_size: int = 100  # targets per CreateMultiple/UpdateMultiple/UpsertMultiple request
    max_attempts: int = 6  # per request, for failures other than throttling
    max_throttled_attempts: int = 40  # per request, 429s alone (each waits Retry-After)
    max_retry_wait: float = 300.0  # longest single wait, whatever Retry-After says
    backoff_initial: float = 0.5  # exponential back-off with full jitter (no Retry-After)
    backoff_max: float = 30.0
    user_agent: str = "lead2cash-dataverse/0.1"

    @property
    def service_root(self) -> str:
        return f"{self.url.rstrip('/')}/api/data/{self.api_version}/"

    def tls_verify(self) -> ssl.SSLContext | bool:
        """What httpx gets as ``verify``: a context trusting ``ca_bundle``, the system store, or off."""
        if not self.verify_tls:
            return False
        if self.ca_bundle:
            return ssl.create_default_context(cafile=self.ca_bundle)
        return True

    def uses_msal(self) -> bool:
        return self.auth == "msal" or (self.auth == "auto" and is_microsoft_authority(self.authority))

    def token_provider(self) -> TokenProvider:
        """The sign-in for these settings (client credentials; msal for Entra ID)."""
        tenant = self.tenant_id or "organizations"
        scope = scope_for(self.url)
        verify = self.tls_verify()
        if self.username:
            token_url = f"{self.authority.rstrip('/')}/{tenant}/oauth2/v2.0/token"
            return PasswordCredentials(token_url, self.username, self.password, scope, verify=verify)
        if not self.client_id or not self.client_secret:
            raise ValueError("Dataverse settings need a client id and a client secret (or a user name).")
        if self.uses_msal():
            return MsalClientCredentials(
                f"{self.authority.rstrip('/')}/{tenant}",
                self.client_id,
                self.client_secret,
                scope,
                verify=verify,
                timeout=self.connect_timeout + 20,
            )
        return ClientCredentials.for_org(
            self.authority, tenant, self.url, self.client_id, self.client_secret, verify=verify
        )
