"""lead2cash: the lead-to-cash integration between a Dataverse-compatible CRM and an ERP back office.

The package holds three components that only meet over HTTP: ``erp`` (the back office), ``crm`` (a local
Dynamics 365 Sales server speaking the Dataverse Web API) and ``integration`` (inside the ERP process).
"""

__version__ = "0.1.0"
