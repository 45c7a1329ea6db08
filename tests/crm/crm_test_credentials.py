"""Known passwords of the test orgs, importable by name from any test module (``conftest`` is not)."""

CRM_PASSWORD = "test-password"
CRM_CLIENT_SECRET = "test-client-secret"
