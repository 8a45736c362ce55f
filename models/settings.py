"""The one settings object, read from CLIENTELE_* environment variables (or a .env file)."""

from functools import lru_cache
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_JWT_SECRET = "clientele-development-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLIENTELE_", env_file=".env", extra="ignore")

    env: Literal["development", "production"] = "development"
    database_url: str = "sqlite:///var/clientele.db"
    jwt_secret: str = DEVELOPMENT_JWT_SECRET
    jwt_issuer: str | None = None
    jwt_audience: str | None = None

    max_page_size: int = 1000
    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 4000
    max_body_bytes: int = 1_000_000

    @property
    def production(self) -> bool:
        return self.env == "production"

    def problems(self) -> list[str]:
        """Reasons this configuration must not serve requests."""
        found = []
        if self.production and (not self.jwt_secret or self.jwt_secret == DEVELOPMENT_JWT_SECRET):
            found.append("CLIENTELE_JWT_SECRET must be set to a secret of your own in production")
        if self.production and len(self.jwt_secret or "") < 32:
            found.append("CLIENTELE_JWT_SECRET must be at least 32 characters in production")
        return found


@lru_cache
def get_settings() -> Settings:
    return Settings()
