"""Web API routers of the CRM server."""
