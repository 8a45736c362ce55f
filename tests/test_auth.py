"""Authentication: who the bearer token says the viewer is, and the 401 for everything else."""

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from graph.app import create_app
from graph.auth import MAX_TOKEN_BYTES, mint_token
from models.accounts.tables import User
from tests.conftest import TEST_SECRET, World

ME = "{ me { email roles { role workgroup { name } } } }"
ME_AND_CUSTOMERS = """
query { me { email } customers { totalCount edges { node { companyName rank } } } }
"""


def claims(**overrides) -> dict:
    now = datetime.now(UTC)
    values = {"email": World.email("admin"), "iat": now, "exp": now + timedelta(hours=1)}
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


def signed(payload: dict, secret: str = TEST_SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(payload, secret, algorithm=algorithm)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unsigned(payload: dict) -> str:
    """A token with `alg: none` and an empty signature, as an attacker would send it."""
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    body = _b64(json.dumps(payload, default=lambda d: int(d.timestamp())).encode())
    return f"{header}.{body}."


def oversized() -> str:
    """A correctly signed token that is only wrong in being too large."""
    token = signed(claims(padding="p" * MAX_TOKEN_BYTES))
    assert len(token) > MAX_TOKEN_BYTES
    return token


def user_count(session) -> int:
    session.expire_all()
    return session.execute(select(func.count()).select_from(User)).scalar_one()


def post(client, authorization: str | None, query: str = ME):
    headers = {} if authorization is None else {"Authorization": authorization}
    return client.post("/graphql", json={"query": query}, headers=headers)


REFUSED = {
    "no header": lambda: None,
    "empty header": lambda: "",
    "basic scheme": lambda: "Basic YWRtaW46c2VjcmV0",
    "token scheme": lambda: "Token " + signed(claims()),
    "bare token without scheme": lambda: signed(claims()),
    "bearer without token": lambda: "Bearer ",
    "expired": lambda: (
        "Bearer " + signed(claims(exp=datetime.now(UTC) - timedelta(minutes=5), iat=None))
    ),
    "other secret": lambda: "Bearer " + signed(claims(), secret="another-secret-" + "y" * 40),
    "alg none": lambda: "Bearer " + unsigned(claims()),
    "other algorithm, right secret": lambda: "Bearer " + signed(claims(), algorithm="HS384"),
    "malformed": lambda: "Bearer not-a-jwt",
    "three garbage segments": lambda: "Bearer aaa.bbb.ccc",
    "tampered payload": lambda: (
        "Bearer "
        + ".".join(
            [
                signed(claims()).split(".")[0],
                _b64(json.dumps({"email": "root@clientele.example", "exp": 9999999999}).encode()),
                signed(claims()).split(".")[2],
            ]
        )
    ),
    "no exp": lambda: "Bearer " + signed(claims(exp=None)),
    "not yet valid": lambda: "Bearer " + signed(claims(nbf=datetime.now(UTC) + timedelta(hours=1))),
    "no email or sub": lambda: "Bearer " + signed(claims(email=None)),
    "email is not an address": lambda: "Bearer " + signed(claims(email="admin")),
    "email is a number": lambda: "Bearer " + signed(claims(email=12345)),
    "email with a NUL byte": lambda: "Bearer " + signed(claims(email="ad\x00min@home.example")),
    "email with a space": lambda: "Bearer " + signed(claims(email="ad min@home.example")),
    "email too long": lambda: "Bearer " + signed(claims(email="a" * 250 + "@home.example")),
    "oversized": lambda: "Bearer " + oversized(),
}


@pytest.mark.parametrize("authorization", REFUSED.values(), ids=REFUSED.keys())
def test_unusable_credentials_get_401_unauthenticated(client, session, authorization):
    # given: no users yet, and a header that does not prove who the caller is
    assert user_count(session) == 0

    # when: the caller asks who they are
    response = post(client, authorization())

    # then: 401 with the UNAUTHENTICATED code, no data, and nobody was signed in or created
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "data" not in body
    assert response.headers["www-authenticate"] == "Bearer"
    assert user_count(session) == 0


def test_the_401_never_reveals_the_data_even_with_a_query_for_it(client, world: World):
    # given: a token signed with another secret, for the global admin
    token = signed(claims(email=World.GLOBAL_ADMIN), secret="wrong-" + "z" * 40)

    # when: it asks for customers
    response = post(client, f"Bearer {token}", ME_AND_CUSTOMERS)

    # then: refused without any customer name in the answer
    assert response.status_code == 401
    assert "Customer" not in response.text


def test_the_scheme_is_case_insensitive_and_surrounding_space_ignored(client):
    # given: a good token sent with a lower-case scheme and extra spaces
    authorization = "bearer   " + signed(claims()) + "  "

    # when
    response = post(client, authorization)

    # then: accepted
    assert response.status_code == 200, response.text
    assert response.json()["data"]["me"]["email"] == World.email("admin")


def test_identity_comes_from_the_email_claim_before_sub(client):
    # given: a token whose email and sub name different users
    token = signed(claims(email=World.email("admin"), sub=World.NOBODY))

    # when
    response = post(client, f"Bearer {token}")

    # then: the viewer is the e-mail's user
    assert response.status_code == 200, response.text
    assert response.json()["data"]["me"]["email"] == World.email("admin")


@pytest.mark.parametrize("email", [None, ""], ids=["no email claim", "empty email claim"])
def test_identity_falls_back_to_sub(client, world: World, email):
    # given: a token that names the user only in `sub`
    token = signed(claims(email=email, sub=World.email("sales_agent")))

    # when
    response = post(client, f"Bearer {token}")

    # then: the viewer is sub's user, with sub's role
    assert response.status_code == 200, response.text
    me = response.json()["data"]["me"]
    assert me["email"] == World.email("sales_agent")
    assert {"role": "SALES_AGENT", "workgroup": {"name": "Home"}} in me["roles"]


@pytest.mark.parametrize(
    "spelling", ["ADMIN@HOME.EXAMPLE", "Admin@Home.Example", " admin@home.example "]
)
def test_email_is_case_insensitive(client, world: World, session, spelling):
    # given: the home admin's address spelled differently in the token
    users_before = user_count(session)
    token = signed(claims(email=spelling))

    # when: the customers are read
    response = post(client, f"Bearer {token}", ME_AND_CUSTOMERS)

    # then: it is the home admin, sees what they see, and no second user appeared
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body
    assert body["data"]["me"]["email"] == "admin@home.example"
    assert body["data"]["customers"]["totalCount"] == 3
    assert [e["node"]["rank"] for e in body["data"]["customers"]["edges"]] == [0, 1, 2]
    assert user_count(session) == users_before


def test_first_sign_in_creates_the_user_once(client, settings, session):
    # given: an address nobody has seen yet
    email = "First.Timer@Elsewhere.example"
    assert session.execute(select(User).where(User.email == email.lower())).first() is None

    # when: they sign in twice
    first = post(client, f"Bearer {mint_token(email, settings)}")
    second = post(client, f"Bearer {mint_token(email, settings)}")

    # then: one user, with the address in lower case and no roles, and no customers to see
    assert first.status_code == second.status_code == 200
    assert first.json()["data"]["me"] == {"email": "first.timer@elsewhere.example", "roles": []}
    session.expire_all()
    rows = session.execute(select(User).where(User.email == email.lower())).scalars().all()
    assert len(rows) == 1


def test_token_minted_by_the_service_round_trips(client, settings, world: World):
    # given: a token from mint_token with the service's settings
    token = mint_token(World.email("customer_activity"), settings)

    # when
    response = post(client, f"Bearer {token}")

    # then: the named user, with their role in Home
    assert response.status_code == 200
    me = response.json()["data"]["me"]
    assert me["email"] == World.email("customer_activity")
    assert {"role": "CUSTOMER_ACTIVITY", "workgroup": {"name": "Home"}} in me["roles"]


@pytest.fixture
def strict_client(settings, engine):
    """An app that also checks the issuer and the audience."""
    strict = settings.model_copy(
        update={"jwt_issuer": "https://id.example", "jwt_audience": "clientele"}
    )
    with TestClient(create_app(strict, engine=engine)) as client:
        yield client


ISSUER_CASES = {
    "right issuer and audience": ({"iss": "https://id.example", "aud": "clientele"}, 200),
    "no issuer": ({"aud": "clientele"}, 401),
    "wrong issuer": ({"iss": "https://evil.example", "aud": "clientele"}, 401),
    "no audience": ({"iss": "https://id.example"}, 401),
    "wrong audience": ({"iss": "https://id.example", "aud": "other"}, 401),
}


@pytest.mark.parametrize(("extra", "status"), ISSUER_CASES.values(), ids=ISSUER_CASES.keys())
def test_issuer_and_audience_are_checked_when_configured(strict_client, extra, status):
    # given: a service that expects one issuer and audience, and a token with `extra` claims
    token = signed(claims(**extra))

    # when
    response = post(strict_client, f"Bearer {token}")

    # then
    assert response.status_code == status, response.text
    if status == 401:
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    else:
        assert response.json()["data"]["me"]["email"] == World.email("admin")


def test_a_token_with_an_audience_is_refused_when_none_is_configured(client):
    # given: a service without an audience setting and a token meant for some other service
    token = signed(claims(aud="some-other-service"))

    # when
    response = post(client, f"Bearer {token}")

    # then: not accepted here
    assert response.status_code == 401
