"""Signing in: client credentials against the CRM server's Entra-shaped token endpoint and through msal,
token caching and refresh, one retry with a fresh token on 401, TLS trust of the self-signed certificate."""

from __future__ import annotations

import dataclasses

import anyio
import pytest

from lead2cash.crm import seed
from lead2cash.integration.dataverse import (
    AuthenticationError,
    ClientCredentials,
    DataverseClient,
    DataverseSettings,
    MsalClientCredentials,
    RequestFailed,
)
from lead2cash.integration.dataverse.auth import scope_for

pytestmark = pytest.mark.anyio


class FakeClock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def credentials(settings: DataverseSettings, **options) -> ClientCredentials:
    return ClientCredentials.for_org(settings.authority, settings.tenant_id, settings.url, settings.client_id,
                                     settings.client_secret, verify=settings.tls_verify(), **options)  # fmt: skip


class RefusedFirst:
    """Hands out a token the org refuses until told it was refused, then the real one."""

    def __init__(self, real):
        self.real = real
        self.invalidated: list[str] = []

    async def token(self) -> str:
        return "not-a-valid-token" if not self.invalidated else await self.real.token()

    def invalidate(self, token: str) -> None:
        self.invalidated.append(token)

    async def aclose(self) -> None:
        await self.real.aclose()


class AlwaysRefused(RefusedFirst):
    async def token(self) -> str:
        return "not-a-valid-token"


async def test_one_token_serves_many_requests(dv):
    for _ in range(5):
        await dv.who_am_i()
    assert dv.transport.tokens.fetches == 1


async def test_concurrent_requests_fetch_one_token(dv_settings):
    async with DataverseClient(dv_settings) as dv:
        async with anyio.create_task_group() as group:
            for _ in range(10):
                group.start_soon(dv.who_am_i)
        assert dv.transport.tokens.fetches == 1


async def test_token_is_renewed_shortly_before_it_expires(dv_settings):
    clock = FakeClock()
    tokens = credentials(dv_settings, clock=clock, refresh_margin=300)
    first = await tokens.token()
    clock.now += 3000  # the local server issues one-hour tokens
    assert await tokens.token() == first and tokens.fetches == 1
    clock.now += 600 - 301  # within five minutes of expiry: renewed before it lapses
    await tokens.token()
    assert tokens.fetches == 2
    await tokens.aclose()


async def test_a_refused_token_is_replaced_once_and_the_request_succeeds(dv_settings):
    tokens = RefusedFirst(credentials(dv_settings))
    async with DataverseClient(dv_settings, tokens=tokens) as dv:
        assert (await dv.who_am_i()).user_id == seed.INTEGRATION_USER_ID
        assert tokens.invalidated == ["not-a-valid-token"] and dv.transport.stats.token_refreshes == 1


async def test_a_token_refused_twice_is_an_authentication_error(dv_settings):
    tokens = AlwaysRefused(credentials(dv_settings))
    async with DataverseClient(dv_settings, tokens=tokens) as dv:
        with pytest.raises(AuthenticationError) as caught:
            await dv.who_am_i()
        assert caught.value.status == 401
        assert dv.transport.stats.sent == 2  # the original and one retry with a new token, no more


async def test_a_wrong_secret_is_reported_without_the_secret(dv_settings):
    wrong = dataclasses.replace(dv_settings, client_secret="wrong-secret-value")
    async with DataverseClient(wrong) as dv:
        with pytest.raises(AuthenticationError) as caught:
            await dv.who_am_i()
    assert caught.value.status == 401 and caught.value.code == "invalid_client"
    assert "wrong-secret-value" not in str(caught.value)
    assert "wrong-secret-value" not in repr(wrong) and dv_settings.client_secret not in repr(dv_settings)


async def test_msal_signs_in_against_the_local_authority(dv_settings, crm_cert):
    tokens = MsalClientCredentials(f"{dv_settings.authority}/{dv_settings.tenant_id}", dv_settings.client_id,
                                   dv_settings.client_secret, scope_for(dv_settings.url), verify=crm_cert)  # fmt: skip
    async with DataverseClient(dv_settings, tokens=tokens) as dv:
        assert (await dv.who_am_i()).user_id == seed.INTEGRATION_USER_ID
        await dv.who_am_i()
        assert tokens.fetches == 1


async def test_settings_choose_msal_for_microsoft_authorities_only(dv_settings):
    assert not dv_settings.uses_msal()
    assert isinstance(dv_settings.token_provider(), ClientCredentials)
    real = DataverseSettings(url="https://contoso.crm4.dynamics.com", client_id="app", client_secret="s",
                             tenant_id="contoso.onmicrosoft.com")  # fmt: skip
    assert real.uses_msal() and isinstance(real.token_provider(), MsalClientCredentials)
    assert real.service_root == "https://contoso.crm4.dynamics.com/api/data/v9.2/"
    forced = dataclasses.replace(dv_settings, auth="msal")
    assert isinstance(forced.token_provider(), MsalClientCredentials)


async def test_the_self_signed_certificate_must_be_trusted(dv_settings):
    untrusted = dataclasses.replace(dv_settings, ca_bundle=None, max_attempts=1)
    async with DataverseClient(untrusted) as dv:
        with pytest.raises(AuthenticationError, match="Could not reach the token endpoint"):
            await dv.who_am_i()
    async with DataverseClient(untrusted, tokens=RefusedFirst(credentials(dv_settings))) as dv:
        with pytest.raises(RequestFailed) as caught:
            await dv.who_am_i()
        assert not caught.value.outcome_unknown  # refused at connect: the request never ran
