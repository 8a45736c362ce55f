"""The one settings object, read from CLIENTELE_* environment variables (or a .env file)."""

import importlib.util
import logging
from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from models.mail.smtp import parse_smtp_url

DEVELOPMENT_JWT_SECRET = "clientele-development-secret-change-me"
HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
PUBLIC_KEY_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def _comma_separated(value: object) -> object:
    """`a, b,c` from the environment; a list when given in code."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLIENTELE_", env_file=".env", extra="ignore")

    env: Literal["development", "production"] = "development"
    database_url: str = "sqlite:///var/clientele.db"
    log_level: str = "INFO"

    # Tokens: HS* are checked with jwt_secret; RS*/PS*/ES*/EdDSA with the JWKS key named by `kid`.
    jwt_secret: str = DEVELOPMENT_JWT_SECRET
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_algorithms: Annotated[list[str], NoDecode] = ["HS256"]
    jwt_jwks_url: str | None = None
    jwt_jwks_file: str | None = None
    jwt_jwks_refresh_seconds: int = 300

    # Browser origins (scheme://host[:port]) allowed to call the API; none by default.
    cors_origins: Annotated[list[str], NoDecode] = []

    max_page_size: int = 1000
    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 4000
    max_body_bytes: int = 1_000_000
    max_directives: int = 5  # on one field, fragment or operation
    max_operations: int = 10  # operation definitions in one document
    max_query_cost: int = 20_000_000  # estimated field resolutions, see graph/validation.py
    # Selections (fields and fragments, each fragment counted wherever it is spread) in one
    # document, and how often one response name may be selected in one place.
    max_selections: int = 1500
    max_repeated_fields: int = 30

    # CSV imports: the largest file accepted, its most data rows, and rows per batch.
    import_max_bytes: int = 50_000_000
    import_max_rows: int = 200_000
    import_batch_size: int = 1000

    # Outgoing mail (contact invitations): queued in the outbox, sent only when smtp_url is set,
    # e.g. smtp://user:password@host:587, smtps://host, smtp+starttls://host.
    smtp_url: str | None = None
    smtp_from: str = "Clientele <no-reply@localhost>"
    smtp_poll_seconds: float = 2.0
    smtp_max_attempts: int = 5
    smtp_retry_seconds: float = 60.0  # the first retry's delay; it doubles with every attempt
    smtp_timeout_seconds: float = 30.0

    @field_validator("jwt_algorithms", "cors_origins", mode="before")
    @classmethod
    def _split_lists(cls, value: object) -> object:
        return _comma_separated(value)

    @field_validator("smtp_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def hmac_allowed(self) -> bool:
        return any(alg in HMAC_ALGORITHMS for alg in self.jwt_algorithms)

    def problems(self) -> list[str]:
        """Reasons this configuration must not serve requests."""
        found = []
        if self.production and self.hmac_allowed:
            if not self.jwt_secret or self.jwt_secret == DEVELOPMENT_JWT_SECRET:
                found.append(
                    "CLIENTELE_JWT_SECRET must be set to a secret of your own in production"
                )
            if len(self.jwt_secret or "") < 32:
                found.append("CLIENTELE_JWT_SECRET must be at least 32 characters in production")
        found.extend(self._jwt_problems())
        found.extend(self._cors_problems())
        found.extend(self._smtp_problems())
        if logging.getLevelName(self.log_level.upper()) not in range(0, 51):
            found.append(f"CLIENTELE_LOG_LEVEL {self.log_level!r} is not a logging level")
        for name in (
            "max_directives",
            "max_operations",
            "max_query_cost",
            "max_page_size",
            "max_selections",
            "max_repeated_fields",
            "import_max_bytes",
            "import_max_rows",
            "import_batch_size",
        ):
            if getattr(self, name) < 1:
                found.append(f"CLIENTELE_{name.upper()} must be at least 1")
        return found

    def _jwt_problems(self) -> list[str]:
        found = []
        algorithms = set(self.jwt_algorithms)
        unknown = algorithms - HMAC_ALGORITHMS - PUBLIC_KEY_ALGORITHMS
        if not algorithms:
            found.append("CLIENTELE_JWT_ALGORITHMS names no algorithm")
        if unknown:
            found.append(
                f"CLIENTELE_JWT_ALGORITHMS: unsupported {', '.join(sorted(unknown))} (use "
                f"{', '.join(sorted(HMAC_ALGORITHMS | PUBLIC_KEY_ALGORITHMS))})"
            )
        public = algorithms & PUBLIC_KEY_ALGORITHMS
        if self.jwt_jwks_url and self.jwt_jwks_file:
            found.append("Set CLIENTELE_JWT_JWKS_URL or CLIENTELE_JWT_JWKS_FILE, not both")
        if public and not (self.jwt_jwks_url or self.jwt_jwks_file):
            found.append(
                f"CLIENTELE_JWT_ALGORITHMS allows {', '.join(sorted(public))}: set "
                "CLIENTELE_JWT_JWKS_URL or CLIENTELE_JWT_JWKS_FILE for the public keys"
            )
        if (self.jwt_jwks_url or self.jwt_jwks_file) and not public:
            found.append(
                "A JWKS is configured but CLIENTELE_JWT_ALGORITHMS allows no public-key "
                "algorithm (e.g. RS256)"
            )
        if public and importlib.util.find_spec("cryptography") is None:
            found.append("Public-key token algorithms need the `cryptography` package")
        if self.jwt_jwks_file and not Path(self.jwt_jwks_file).is_file():
            found.append(f"CLIENTELE_JWT_JWKS_FILE {self.jwt_jwks_file!r} is not a file")
        if self.jwt_jwks_url:
            url = urlsplit(self.jwt_jwks_url)
            if url.scheme not in ("https", "http") or not url.hostname:
                found.append("CLIENTELE_JWT_JWKS_URL must be an http(s) URL")
            elif self.production and url.scheme != "https" and url.hostname not in _LOOPBACK:
                found.append("CLIENTELE_JWT_JWKS_URL must use https in production")
        if self.jwt_jwks_refresh_seconds < 0:
            found.append("CLIENTELE_JWT_JWKS_REFRESH_SECONDS must not be negative")
        return found

    def _cors_problems(self) -> list[str]:
        found = []
        for origin in self.cors_origins:
            url = urlsplit(origin)
            if (
                url.scheme not in ("http", "https")
                or not url.hostname
                or url.path
                or url.query
                or url.fragment
                or "*" in origin
            ):
                found.append(
                    f"CLIENTELE_CORS_ORIGINS: {origin!r} is not an origin like "
                    "https://app.example.com (no path, no wildcard)"
                )
        return found

    def _smtp_problems(self) -> list[str]:
        found = []
        if self.smtp_url is not None:
            try:
                target = parse_smtp_url(self.smtp_url)
            except ValueError as error:
                found.append(f"CLIENTELE_SMTP_URL is not usable: {error}")
            else:
                if (
                    self.production
                    and target.password
                    and target.scheme == "smtp"
                    and target.host not in _LOOPBACK
                ):
                    found.append(
                        "CLIENTELE_SMTP_URL would send a password unencrypted: use smtps:// or "
                        "smtp+starttls:// in production"
                    )
        if "@" not in parseaddr(self.smtp_from)[1]:
            found.append(f"CLIENTELE_SMTP_FROM {self.smtp_from!r} names no e-mail address")
        for name in ("smtp_poll_seconds", "smtp_timeout_seconds"):
            if getattr(self, name) <= 0:
                found.append(f"CLIENTELE_{name.upper()} must be positive")
        if self.smtp_max_attempts < 1:
            found.append("CLIENTELE_SMTP_MAX_ATTEMPTS must be at least 1")
        if self.smtp_retry_seconds < 0:
            found.append("CLIENTELE_SMTP_RETRY_SECONDS must not be negative")
        return found


@lru_cache
def get_settings() -> Settings:
    return Settings()
