"""The CRM server: a local Dynamics 365 Sales organization, wire-compatible with the Dataverse Web API.

It is a standalone component (it imports nothing from ``erp``, ``integration`` or ``jobs``): clients,
including the integration, reach it only over HTTP(S) at ``/api/data/v9.2/``.
"""
