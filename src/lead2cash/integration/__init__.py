"""The integration between the ERP and the CRM: mappings, couplings, the sync engine, flows and setup.

It lives in the ERP process and uses the ERP's services and models directly, but it reaches the CRM only
over HTTP through :mod:`lead2cash.integration.dataverse` — never by importing ``lead2cash.crm``. The local
CRM server and a real Dynamics 365 org speak the same Dataverse Web API, so switching between them is a
configuration change.
"""
