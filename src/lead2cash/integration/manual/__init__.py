"""Manual and bulk operations of the integration: couple, uncouple, match, create, synchronize now, errors.

Each operation is a function taking an ERP session and, where it must look at the CRM, a blocking
Dataverse client; work that synchronizes records is queued as a one-off background job (``schedule``).
The REST API (``integration.api.manual``) and the ``lead2cash couple`` commands call these functions.
"""
