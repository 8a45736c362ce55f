"""Bearer tokens: JWTs, checked against an allow-list of algorithms; identity from `email`
or `sub`.

HS256/384/512 tokens are checked with CLIENTELE_JWT_SECRET. Public-key tokens (RS*, PS*, ES*,
EdDSA — what an identity provider signs with) are checked with the key of their `kid` from a
JWKS (a file or a URL). The key is chosen by the token's algorithm *family*, and verification
is pinned to that one algorithm, so a token "signed" with HS256 and the provider's public key
as the secret is checked against our secret (or refused when HS is not allowed), never
against the public key. Every failure is Unauthenticated (HTTP 401), never an exception.

The identity is exact: only its ASCII letters are lower-cased, and an address that Unicode
compatibility normalisation or case mapping could turn into another one is refused (see
models.accounts.emails.ambiguity_problem), as is a token whose `email_verified` is present and not
true.
"""

import logging
import re
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import orjson

from models.accounts.emails import ambiguity_problem, normalize_email
from models.accounts.tables import EMAIL_MAX
from models.settings import HMAC_ALGORITHMS, PUBLIC_KEY_ALGORITHMS, Settings

ALGORITHM = "HS256"  # what mint_token signs with
MAX_TOKEN_BYTES = 8192
MAX_JWKS_BYTES = 1_000_000
JWKS_TIMEOUT_SECONDS = 5
# An unknown `kid` reloads the key set (the provider may have rotated), at most this often.
MIN_RELOAD_SECONDS = 10
LEEWAY_SECONDS = 10
# One "@" between non-empty parts, no whitespace or control characters (PostgreSQL refuses NUL).
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+")

log = logging.getLogger("clientele.auth")


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
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as error:
        raise Unauthenticated("The token is not valid.") from error
    algorithm = header.get("alg")
    if not isinstance(algorithm, str) or algorithm not in settings.jwt_algorithms:
        raise Unauthenticated("The token is not valid.")
    if algorithm in HMAC_ALGORITHMS:
        key: Any = settings.jwt_secret
    elif algorithm in PUBLIC_KEY_ALGORITHMS:
        key = key_set_for(settings).key(header.get("kid"), algorithm)
    else:  # pragma: no cover - settings.problems() refuses other names at start-up
        raise Unauthenticated("The token is not valid.")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[algorithm],  # exactly the one the key was chosen for
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            options={"require": ["exp"]},
            leeway=LEEWAY_SECONDS,
        )
    except jwt.ExpiredSignatureError as error:
        raise Unauthenticated("The token has expired.") from error
    except jwt.ImmatureSignatureError as error:
        raise Unauthenticated("The token is not valid yet.") from error
    except jwt.PyJWTError as error:
        raise Unauthenticated("The token is not valid.") from error
    verified = claims.get("email_verified", True)  # absent: the issuer makes no such claim
    if verified is not True and verified != "true":
        # Present and not true (false, "false", null...): the provider has not checked that
        # the holder owns the address.
        raise Unauthenticated("The token's e-mail address is not verified (`email_verified`).")
    identity = claims.get("email") or claims.get("sub")
    if isinstance(identity, str):
        identity = normalize_email(identity)
    if not isinstance(identity, str) or len(identity) > EMAIL_MAX:
        raise Unauthenticated("The token names no e-mail address (`email` or `sub`).")
    # Exact identity: only ASCII letters were lower-cased above; an address that NFKC or
    # Unicode case mapping could turn into another one (the Kelvin sign for "k", fullwidth
    # letters, a no-break space around it...) is refused rather than taken for anybody.
    ambiguity = ambiguity_problem(identity)
    if ambiguity:
        raise Unauthenticated(f"The token's e-mail address is not accepted: {ambiguity}.")
    if not _EMAIL.fullmatch(identity):
        raise Unauthenticated("The token names no e-mail address (`email` or `sub`).")
    return identity


def mint_token(email: str, settings: Settings, ttl: timedelta = timedelta(hours=12)) -> str:
    now = datetime.now(UTC)
    claims = {"sub": email, "email": email, "iat": now, "exp": now + ttl}
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    return jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM)


# ------------------------------------------------------------------ public keys (JWKS)


class KeySet:
    """The public keys of a JWKS file or URL, by `kid`.

    Loaded on first use and again after `refresh_seconds`; a `kid` it does not know reloads it
    (a rotation at the provider) at most every MIN_RELOAD_SECONDS, so tokens with made-up kids
    cannot make us fetch the set on every request. A failed load keeps the keys already known.
    """

    def __init__(self, *, url: str | None, path: str | None, refresh_seconds: int):
        self.url = url
        self.path = path
        self.refresh_seconds = refresh_seconds
        self._keys: dict[str, dict[str, Any]] = {}
        self._verifiers: dict[tuple[str, str], Any] = {}  # (kid, alg) -> parsed key
        self._loaded_at: float | None = None
        self._lock = threading.Lock()

    def key(self, kid: object, algorithm: str) -> Any:
        """The verifying key for a token's `kid` and `alg`; raises Unauthenticated."""
        if not isinstance(kid, str) or not kid:
            raise Unauthenticated("The token names no key (`kid`).")
        jwk = self._jwk(kid)
        verifier = self._verifiers.get((kid, algorithm))
        if verifier is not None and jwk is not None:
            return verifier
        if jwk is None:
            raise Unauthenticated("The token's key (`kid`) is not one we trust.")
        if jwk.get("use", "sig") != "sig" or jwk.get("alg", algorithm) != algorithm:
            raise Unauthenticated("The token's key (`kid`) is not for this algorithm.")
        if "d" in jwk:  # a private key published by mistake: refuse to rely on that set
            raise Unauthenticated("The token's key (`kid`) is not usable.")
        try:
            # from_jwk checks that the key type fits the algorithm (RSA for RS*, EC for ES*…).
            verifier = jwt.get_algorithm_by_name(algorithm).from_jwk(jwk)
        except Exception as error:  # malformed numbers, wrong key type, unknown curve
            raise Unauthenticated("The token's key (`kid`) is not usable.") from error
        self._verifiers[(kid, algorithm)] = verifier
        return verifier

    def _jwk(self, kid: str) -> dict[str, Any] | None:
        with self._lock:
            now = time.monotonic()
            age = None if self._loaded_at is None else now - self._loaded_at
            if age is None or age >= self.refresh_seconds:
                self._reload(now)
            elif kid not in self._keys and age >= min(MIN_RELOAD_SECONDS, self.refresh_seconds):
                self._reload(now)  # perhaps a key the provider has just rotated in
            return self._keys.get(kid)

    def _reload(self, now: float) -> None:
        self._loaded_at = now
        try:
            document = orjson.loads(self._read())
            keys = document["keys"]
            if not isinstance(keys, list):
                raise ValueError("`keys` is not a list")
        except Exception as error:  # unreachable, unreadable, not a JWKS: keep what we had
            log.warning("could not load the JWKS from %s: %s", self.url or self.path, error)
            return
        self._keys = {
            jwk["kid"]: jwk
            for jwk in keys
            if isinstance(jwk, dict) and isinstance(jwk.get("kid"), str) and jwk["kid"]
        }
        self._verifiers = {}

    def _read(self) -> bytes:
        if self.path is not None:
            raw = Path(self.path).read_bytes()
        else:
            request = urllib.request.Request(
                self.url,  # type: ignore[arg-type]
                headers={"Accept": "application/json", "User-Agent": "clientele"},
            )
            with urllib.request.urlopen(request, timeout=JWKS_TIMEOUT_SECONDS) as response:
                raw = response.read(MAX_JWKS_BYTES + 1)
        if len(raw) > MAX_JWKS_BYTES:
            raise ValueError(f"larger than {MAX_JWKS_BYTES} bytes")
        return raw


_key_sets: dict[tuple[str | None, str | None, int], KeySet] = {}
_key_sets_lock = threading.Lock()


def key_set_for(settings: Settings) -> KeySet:
    """One KeySet per configured source, shared by every request of the process."""
    source = (settings.jwt_jwks_url, settings.jwt_jwks_file, settings.jwt_jwks_refresh_seconds)
    if source[0] is None and source[1] is None:
        raise Unauthenticated("The token is not valid.")
    with _key_sets_lock:
        key_set = _key_sets.get(source)
        if key_set is None:
            key_set = _key_sets[source] = KeySet(
                url=source[0], path=source[1], refresh_seconds=source[2]
            )
        return key_set
