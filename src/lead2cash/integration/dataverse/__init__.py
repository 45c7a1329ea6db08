"""Dataverse Web API client: the integration's only path to the CRM (local server or Dynamics 365).

``DataverseClient`` (asynchronous) and ``SyncDataverseClient`` (blocking facade) speak the Web API over
HTTPS with OAuth2 client credentials; ``DataverseSettings`` says which org and how. Errors are typed
(:mod:`.errors`). This package must never import ``lead2cash.crm``: a real org works by configuration.
"""

from lead2cash.integration.dataverse.auth import (
    ClientCredentials,
    MsalClientCredentials,
    PasswordCredentials,
    StaticToken,
    TokenProvider,
)
from lead2cash.integration.dataverse.batch import Batch, BatchResponse, BatchResult, ChangeSet
from lead2cash.integration.dataverse.bulk import BulkWriteError, ChunkFailure
from lead2cash.integration.dataverse.changes import ChangePage
from lead2cash.integration.dataverse.client import DataverseClient, Page, WhoAmI
from lead2cash.integration.dataverse.errors import (
    AccessDenied,
    AuthenticationError,
    ChangeTrackingExpired,
    ChangeTrackingNotEnabled,
    DataverseError,
    GatewayError,
    NotFound,
    PreconditionFailed,
    RequestFailed,
    ServiceUnavailable,
    Throttled,
)
from lead2cash.integration.dataverse.metadata import TableInfo, column, label
from lead2cash.integration.dataverse.odata import bind, filter_in, literal
from lead2cash.integration.dataverse.settings import DataverseSettings
from lead2cash.integration.dataverse.sync import SyncDataverseClient

__all__ = [
    "AccessDenied",
    "AuthenticationError",
    "Batch",
    "BatchResponse",
    "BatchResult",
    "BulkWriteError",
    "ChangePage",
    "ChangeSet",
    "ChangeTrackingExpired",
    "ChangeTrackingNotEnabled",
    "ChunkFailure",
    "ClientCredentials",
    "DataverseClient",
    "DataverseError",
    "DataverseSettings",
    "GatewayError",
    "MsalClientCredentials",
    "NotFound",
    "Page",
    "PasswordCredentials",
    "PreconditionFailed",
    "RequestFailed",
    "ServiceUnavailable",
    "StaticToken",
    "SyncDataverseClient",
    "TableInfo",
    "Throttled",
    "TokenProvider",
    "WhoAmI",
    "bind",
    "column",
    "filter_in",
    "label",
    "literal",
]
