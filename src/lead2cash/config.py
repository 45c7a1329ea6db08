"""Settings for every component, read from the environment (prefix ``L2C_``) and an optional ``.env``.

One settings object keeps the defaults in one place: a fresh machine runs on SQLite files under
``data_dir`` with no configuration at all, and PostgreSQL is one ``L2C_DATABASE_URL`` away.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="L2C_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Where SQLite files, keys and certificates live.")
    database_url: str | None = Field(default=None, description="ERP database; default: SQLite in data_dir.")
    crm_database_url: str | None = Field(default=None, description="CRM server database; default: SQLite.")
    secret_key: str | None = Field(default=None, description="Signs sessions and encrypts secrets at rest.")
    erp_host: str = "127.0.0.1"
    erp_port: int = 8000
    crm_host: str = "127.0.0.1"
    crm_port: int = 8100
    crm_https_port: int = 8443
    crm_limits: bool = Field(default=False, description="Service-protection limits on the CRM server.")
    crm_limits_scale: float = Field(default=1.0, gt=0, description="Scale of the limit window (rate unchanged).")

    def erp_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'erp.db').resolve()}"

    def crm_db_url(self) -> str:
        return self.crm_database_url or f"sqlite:///{(self.data_dir / 'crm.db').resolve()}"

    def resolved_secret_key(self) -> str:
        """The configured key, or one generated once and kept in ``data_dir`` (never logged)."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret.key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
