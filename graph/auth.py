"""Bearer tokens: HS256 JWTs signed with the configured secret; identity from `email` or `sub`."""

import re
from datetime import UTC, datetime, timedelta

import jwt

from models.settings import Settings

ALGORITHM = "HS256"
MAX_TOKEN_BYTES = 8192
# One "@" between non-empty parts, no whitespace or control characters (PostgreSQL refuses NUL).
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+")


class Unauthenticated(Exception):
    """No usable credentials; answered with HTTP 401."""


def bearer_token(header: str | None) -> str:
    if not header:
        raise Unauthenticated("Sign in: send `Authorization: Bearer <token>`.")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("The Authorization header must be `Bearer <token>`.")
    token = token.strip()
    if len(token) > MAX_TOKEN_BYTES:
        raise Unauthenticated("The token is too large.")
    return token


def identity_from_token(token: str, settings: Settings) -> str:
    """The e-mail address the token was issued for; raises Unauthenticated otherwise."""
    options = {"require": ["exp"]}
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=[ALGORITHM],  # pins the algorithm: "none" and RS/HS confusion fail here
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            options=options,
            leeway=10,
        )
    except jwt.ExpiredSignatureError as error:
        raise Unauthenticated("The token has expired.") from error
    except jwt.PyJWTError as error:
        raise Unauthenticated("The token is not valid.") from error
    identity = claims.get("email") or claims.get("sub")
    if isinstance(identity, str):
        identity = identity.strip()
    if not isinstance(identity, str) or len(identity) > 254 or not _EMAIL.fullmatch(identity):
        raise Unauthenticated("The token names no e-mail address (`email` or `sub`).")
    return identity.lower()


def mint_token(email: str, settings: Settings, ttl: timedelta = timedelta(hours=12)) -> str:
    now = datetime.now(UTC)
    claims = {"sub": email, "email": email, "iat": now, "exp": now + ttl}
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    return jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM)
