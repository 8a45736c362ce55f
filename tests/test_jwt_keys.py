"""Tokens from an identity provider: RS256 checked with the keys of a JWKS (a file or a URL),
chosen by `kid`; and everything an attacker could try with them answered 401, never 500."""

import base64
import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from starlette.testclient import TestClient

from graph.app import ConfigurationError, create_app
from graph.auth import mint_token
from graph.ids import encode_id
from models.settings import DEVELOPMENT_JWT_SECRET, Settings
from tests.conftest import TEST_SECRET, World

ME = "{ me { email } }"
EMAIL = "idp-user@home.example"


@pytest.fixture(scope="module")
def provider_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def attacker_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key, kid: str, **extra) -> dict:
    if isinstance(key, rsa.RSAPrivateKey):
        jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    else:
        jwk = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "use": "sig", **extra}


def claims(**overrides) -> dict:
    now = datetime.now(UTC)
    values = {"email": EMAIL, "iat": now, "exp": now + timedelta(minutes=5)}
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


def rs256(key, kid: str | None = "k1", algorithm: str = "RS256", **overrides) -> str:
    headers = {} if kid is None else {"kid": kid}
    return jwt.encode(claims(**overrides), key, algorithm=algorithm, headers=headers)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def hand_signed(header: dict, payload: dict, secret: bytes) -> str:
    """An HS256 token made by hand: PyJWT itself refuses a PEM public key as an HMAC secret,
    an attacker does not."""
    body = {k: int(v.timestamp()) if isinstance(v, datetime) else v for k, v in payload.items()}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(body).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def rs_signed_by_hand(header: dict, payload: dict, key: rsa.RSAPrivateKey) -> str:
    """An RS256 token with a header PyJWT would not write."""
    body = {k: int(v.timestamp()) if isinstance(v, datetime) else v for k, v in payload.items()}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(body).encode())}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture(scope="module")
def jwks_file(tmp_path_factory, provider_key):
    path = tmp_path_factory.mktemp("jwks") / "jwks.json"
    path.write_text(json.dumps({"keys": [public_jwk(provider_key, "k1", alg="RS256")]}))
    return path


def app_client(settings: Settings, engine, **update) -> TestClient:
    return TestClient(create_app(settings.model_copy(update=update), engine=engine))


@pytest.fixture(scope="module")
def shared_settings(database_url) -> Settings:
    return Settings(database_url=database_url, jwt_secret=TEST_SECRET, env="development")


@pytest.fixture(scope="module")
def rs_client(shared_settings, engine, jwks_file):
    """Only RS256, with the provider's keys from a file."""
    with app_client(
        shared_settings, engine, jwt_algorithms=["RS256"], jwt_jwks_file=str(jwks_file)
    ) as client:
        yield client


@pytest.fixture(scope="module")
def mixed_client(shared_settings, engine, jwks_file):
    """HS256 (our own `clientele token`) and RS256 (the provider) side by side."""
    with app_client(
        shared_settings, engine, jwt_algorithms=["HS256", "RS256"], jwt_jwks_file=str(jwks_file)
    ) as client:
        yield client


def post(client: TestClient, token: str):
    return client.post("/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {token}"})


def assert_401(response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert response.headers["www-authenticate"] == "Bearer"


# ------------------------------------------------------------------ accepted


def test_a_token_signed_by_the_provider_is_accepted(rs_client, provider_key):
    # when
    response = post(rs_client, rs256(provider_key))

    # then
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"me": {"email": EMAIL}}}


def test_both_kinds_of_token_work_when_both_are_allowed(mixed_client, settings, provider_key):
    # when: one token from the provider, one minted by the service
    provider = post(mixed_client, rs256(provider_key))
    ours = post(mixed_client, mint_token(World.email("admin"), settings))

    # then
    assert provider.json() == {"data": {"me": {"email": EMAIL}}}
    assert ours.json() == {"data": {"me": {"email": World.email("admin")}}}


def test_an_ec_key_of_the_set_verifies_es256(settings, engine, tmp_path):
    # given: a provider signing with ES256
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "ec.json"
    path.write_text(json.dumps({"keys": [public_jwk(key, "ec1")]}))

    # when
    with app_client(settings, engine, jwt_algorithms=["ES256"], jwt_jwks_file=str(path)) as client:
        response = post(client, rs256(key, kid="ec1", algorithm="ES256"))

    # then
    assert response.json() == {"data": {"me": {"email": EMAIL}}}


# ------------------------------------------------------------------ refused


def _in_an_hour() -> datetime:
    return datetime.now(UTC) + timedelta(hours=1)


# name -> a token from (the provider's key, an attacker's key)
REFUSED = {
    "not yet valid (nbf)": lambda p, a: rs256(p, nbf=_in_an_hour()),
    "expired": lambda p, a: rs256(p, exp=datetime.now(UTC) - timedelta(minutes=5), iat=None),
    "no exp": lambda p, a: rs256(p, exp=None),
    "no kid": lambda p, a: rs256(p, kid=None),
    "unknown kid": lambda p, a: rs256(p, kid="k2"),
    "empty kid": lambda p, a: rs256(p, kid=""),
    "kid not a string": lambda p, a: rs_signed_by_hand({"alg": "RS256", "kid": 1}, claims(), p),
    "right kid, another key": lambda p, a: rs256(a, kid="k1"),
    "another key, sent along as jwk": lambda p, a: jwt.encode(
        claims(), a, algorithm="RS256", headers={"kid": "k1", "jwk": public_jwk(a, "k1")}
    ),
    "another key, with a jku to fetch it from": lambda p, a: jwt.encode(
        claims(), a, algorithm="RS256", headers={"kid": "k1", "jku": "http://127.0.0.1:9/k.json"}
    ),
    "HS256 with the public key as secret": lambda p, a: hand_signed(
        {"alg": "HS256", "typ": "JWT", "kid": "k1"}, claims(), public_pem(p)
    ),
    "HS256 with the public JWK's modulus as secret": lambda p, a: hand_signed(
        {"alg": "HS256", "typ": "JWT", "kid": "k1"}, claims(), public_jwk(p, "k1")["n"].encode()
    ),
    "alg none": lambda p, a: (
        hand_signed({"alg": "none", "kid": "k1"}, claims(), b"").rsplit(".", 1)[0] + "."
    ),
    "RS512, not allowed": lambda p, a: rs256(p, algorithm="RS512"),
    "PS256, not allowed": lambda p, a: rs256(p, algorithm="PS256"),
    "no email": lambda p, a: rs256(p, email=None),
    "header not JSON": lambda p, a: _b64(b"{not json") + "." + rs256(p).split(".", 1)[1],
}


@pytest.mark.parametrize("case", REFUSED.keys())
@pytest.mark.parametrize("configuration", ["RS256 only", "HS256 and RS256"])
def test_bad_tokens_are_401(
    rs_client, mixed_client, provider_key, attacker_key, case, configuration
):
    # given: a token that must not get in, with the provider's key set in place
    client = rs_client if configuration == "RS256 only" else mixed_client
    token = REFUSED[case](provider_key, attacker_key)

    # when
    response = post(client, token)

    # then: 401, never a 500
    assert_401(response)


def test_our_own_tokens_are_refused_when_only_the_provider_may_sign(rs_client, settings):
    # when: a token minted with the service's secret reaches an RS256-only service
    response = post(rs_client, mint_token(World.email("admin"), settings))

    # then
    assert_401(response)


def test_a_key_meant_for_another_algorithm_is_not_used(settings, engine, tmp_path, provider_key):
    # given: the provider's key published for RS384 only
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [public_jwk(provider_key, "k1", alg="RS384")]}))

    # when: an RS256 token names it
    with app_client(
        settings, engine, jwt_algorithms=["RS256", "RS384"], jwt_jwks_file=str(path)
    ) as client:
        wrong = post(client, rs256(provider_key))
        right = post(client, rs256(provider_key, algorithm="RS384"))

    # then
    assert_401(wrong)
    assert right.json() == {"data": {"me": {"email": EMAIL}}}


def test_an_encryption_key_is_not_used_to_verify(settings, engine, tmp_path, provider_key):
    # given: the key published with use "enc"
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [public_jwk(provider_key, "k1", use="enc")]}))

    # when
    with app_client(settings, engine, jwt_algorithms=["RS256"], jwt_jwks_file=str(path)) as client:
        response = post(client, rs256(provider_key))

    # then
    assert_401(response)


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "[]",
        '{"keys": "k1"}',
        '{"keys": [{"kid": "k1", "kty": "RSA", "n": "!!", "e": "AQAB"}]}',
        '{"keys": [{"kid": "k1", "kty": "oct", "k": "c2VjcmV0"}]}',
        '{"keys": [{"kid": "k1", "kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}]}',
    ],
    ids=["not json", "a list", "keys not a list", "bad modulus", "a symmetric key", "bad ec"],
)
def test_a_broken_key_set_refuses_tokens_without_failing(
    settings, engine, tmp_path, provider_key, content
):
    # given: a JWKS file that holds no usable key k1
    path = tmp_path / "jwks.json"
    path.write_text(content)

    # when
    with app_client(settings, engine, jwt_algorithms=["RS256"], jwt_jwks_file=str(path)) as client:
        response = post(client, rs256(provider_key))

    # then
    assert_401(response)


def test_a_rotated_key_file_is_read_again(settings, engine, tmp_path, provider_key, attacker_key):
    # given: a file with k1 only, read again on every use (refresh after 0 seconds)
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [public_jwk(provider_key, "k1")]}))
    with app_client(
        settings,
        engine,
        jwt_algorithms=["RS256"],
        jwt_jwks_file=str(path),
        jwt_jwks_refresh_seconds=0,
    ) as client:
        before = post(client, rs256(attacker_key, kid="k2"))

        # when: the provider rotates k2 in, and k1 out
        path.write_text(json.dumps({"keys": [public_jwk(attacker_key, "k2")]}))
        after = post(client, rs256(attacker_key, kid="k2"))
        retired = post(client, rs256(provider_key, kid="k1"))

    # then
    assert_401(before)
    assert after.json() == {"data": {"me": {"email": EMAIL}}}
    assert_401(retired)


# ------------------------------------------------------------------ a JWKS URL


class _JWKSServer:
    """Serves a JWKS on 127.0.0.1 and counts the fetches."""

    def __init__(self, document: dict):
        self.document = document
        self.fetches = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                owner.fetches += 1
                body = json.dumps(owner.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def test_keys_from_a_url_are_fetched_once_and_unknown_kids_do_not_refetch(
    settings, engine, provider_key, attacker_key
):
    # given: the provider's JWKS served over HTTP, kept for the default 300 seconds
    with (
        _JWKSServer({"keys": [public_jwk(provider_key, "k1")]}) as jwks,
        app_client(settings, engine, jwt_algorithms=["RS256"], jwt_jwks_url=jwks.url) as client,
    ):
        # when: two good tokens, then a burst of tokens naming keys nobody published
        good = [post(client, rs256(provider_key)) for _ in range(2)]
        made_up = [post(client, rs256(attacker_key, kid=f"nope-{i}")) for i in range(5)]

    # then: the good ones in, the others out, and the set fetched once
    assert [r.json() for r in good] == [{"data": {"me": {"email": EMAIL}}}] * 2
    for response in made_up:
        assert_401(response)
    assert jwks.fetches == 1


def test_an_unreachable_jwks_url_refuses_tokens_without_failing(settings, engine, provider_key):
    # given: a URL where nothing listens (the server is started and stopped again)
    with _JWKSServer({"keys": []}) as gone:
        url = gone.url

    # when
    with app_client(settings, engine, jwt_algorithms=["RS256"], jwt_jwks_url=url) as client:
        response = post(client, rs256(provider_key))

    # then
    assert_401(response)


def test_exports_accept_the_providers_tokens(rs_client, provider_key, world: World):
    # given: the provider vouches for Home's admin
    token = rs256(provider_key, email=World.email("admin"))

    # when
    response = rs_client.get(
        "/exports/customers.csv",
        params={"workgroupId": encode_id("Workgroup", world.home.id)},
        headers={"Authorization": f"Bearer {token}"},
    )

    # then
    assert response.status_code == 200, response.text
    assert "Home Customer 0" in response.text


# ------------------------------------------------------------------ configuration


@pytest.mark.parametrize(
    ("update", "complaint"),
    [
        ({"jwt_algorithms": ["RS256"]}, "CLIENTELE_JWT_JWKS_URL or CLIENTELE_JWT_JWKS_FILE"),
        ({"jwt_algorithms": ["none"]}, "unsupported none"),
        ({"jwt_algorithms": []}, "names no algorithm"),
        ({"jwt_jwks_url": "https://id.example/jwks"}, "allows no public-key algorithm"),
        (
            {"jwt_algorithms": ["RS256"], "jwt_jwks_file": "/nonexistent/jwks.json"},
            "is not a file",
        ),
        (
            {
                "jwt_algorithms": ["RS256"],
                "jwt_jwks_url": "https://id.example/jwks",
                "jwt_jwks_file": __file__,
            },
            "not both",
        ),
        ({"jwt_algorithms": ["RS256"], "jwt_jwks_url": "file:///etc/passwd"}, "http(s) URL"),
        (
            {
                "env": "production",
                "jwt_algorithms": ["RS256"],
                "jwt_jwks_url": "http://id.example/",
            },
            "must use https in production",
        ),
    ],
    ids=[
        "RS256 without keys",
        "alg none",
        "no algorithm",
        "keys without RS256",
        "missing file",
        "file and URL",
        "file URL",
        "plain http in production",
    ],
)
def test_a_bad_token_configuration_refuses_to_start(settings, engine, update, complaint):
    # when / then
    with pytest.raises(ConfigurationError, match=complaint.replace("(", r"\(").replace(")", r"\)")):
        create_app(settings.model_copy(update=update), engine=engine)


def test_production_with_only_the_provider_needs_no_secret_and_takes_no_hs_token(
    database_url, engine, jwks_file, provider_key
):
    # given: production, RS256 only, and the well-known development secret left in place
    settings = Settings(
        env="production",
        database_url=database_url,
        jwt_algorithms=["RS256"],
        jwt_jwks_file=str(jwks_file),
    )
    assert settings.jwt_secret == DEVELOPMENT_JWT_SECRET

    # when: it starts, and is sent a token signed with that development secret
    with TestClient(create_app(settings, engine=engine)) as client:
        forged = post(client, mint_token(World.GLOBAL_ADMIN, settings))
        provider = post(client, rs256(provider_key))

    # then: the secret is not a way in; the provider's tokens are
    assert_401(forged)
    assert provider.json() == {"data": {"me": {"email": EMAIL}}}


def test_algorithms_are_read_comma_separated_from_the_environment(monkeypatch, jwks_file):
    # given
    monkeypatch.setenv("CLIENTELE_JWT_ALGORITHMS", "HS256, RS256")
    monkeypatch.setenv("CLIENTELE_JWT_JWKS_FILE", str(jwks_file))
    monkeypatch.setenv("CLIENTELE_JWT_SECRET", TEST_SECRET)

    # when
    settings = Settings(_env_file=None)

    # then
    assert settings.jwt_algorithms == ["HS256", "RS256"]
    assert settings.problems() == []
