"""The ERP's REST API (FastAPI, OpenAPI at /docs): master data, setup and users, authenticated and role-checked."""
