"""Sign-in identity is exact: an address is compared after lower-casing its ASCII letters and
nothing else, and an address that Unicode compatibility normalisation (NFKC) or case mapping
could turn into another address is refused; `email_verified: false` is refused; the demo
data is never loaded in production."""

import os
import unicodedata
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from sqlalchemy import func, select

import models
from graph.cli import main
from graph.ids import encode_id
from models.accounts.emails import normalize_email
from models.accounts.tables import User
from models.db import make_engine
from models.settings import get_settings
from tests.conftest import TEST_SECRET, grant, make_customer, make_workgroup

FABRIKAM_ADMIN = "admin@fabrikam.example"
FABRIKAM_SECRET = "Fabrikam Secret Customer"
JORG = "jorg@example.de"
JOERG = "j\u00f6rg@example.de"  # "jörg", composed (NFC and NFKC)

ME_AND_CUSTOMERS = """
query { me { email roles { role workgroup { name } } } customers { totalCount edges { node {
  companyName } } } }
"""
GRANT_ROLE = """
mutation Grant($email: String!, $workgroupId: ID!) {
  grantRole(email: $email, role: SALES_AGENT, workgroupId: $workgroupId) {
    errors { field code message }
  }
}
"""
ADD_CONTACT = """
mutation Add($input: AddContactInput!) {
  addContact(input: $input) { contact { email } errors { field code message } }
}
"""
ACTIVITY_BY_ACTOR = """
query Activity($actorEmail: String!) {
  activity(actorEmail: $actorEmail) { totalCount edges { node { action actorEmail } } }
}
"""
EXPLAIN = """
query Explain($email: String!, $workgroupId: ID!) {
  explainAccess(email: $email, coordinate: "Customer.rank", workgroupId: $workgroupId) {
    allowed role
  }
}
"""

# Each of these becomes "admin@fabrikam.example" under NFKC, full Unicode case mapping or
# Unicode whitespace stripping, but is not that address.
LOOKALIKES = {
    "kelvin sign": "admin@fabri\u212aam.example",
    "kelvin sign, upper case around it": "ADMIN@FABRI\u212aAM.EXAMPLE",
    "fullwidth a": "\uff41dmin@fabrikam.example",
    "fullwidth domain": "admin@\uff46\uff41\uff42\uff52\uff49\uff4b\uff41\uff4d.example",
    "mathematical bold a": "\U0001d41admin@fabrikam.example",
    "dotless i (upper-cases to I)": "adm\u0131n@fabrikam.example",
    "capital I with dot (lower-cases to i + dot)": "adm\u0130n@fabrikam.example",
    "no-break space around it": "\u00a0admin@fabrikam.example\u00a0",
    "ideographic space before it": "\u3000admin@fabrikam.example",
}


# ---------------------------------------------------------------- helpers


def token(email: str | None = None, **extra) -> str:
    now = datetime.now(UTC)
    claims = {"email": email, "iat": now, "exp": now + timedelta(hours=1), **extra}
    return jwt.encode(
        {k: v for k, v in claims.items() if v is not None}, TEST_SECRET, algorithm="HS256"
    )


def post(client, bearer: str, query: str = ME_AND_CUSTOMERS, variables: dict | None = None):
    return client.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {bearer}"},
    )


def user_emails(session) -> list[str]:
    session.expire_all()
    return sorted(session.execute(select(User.email)).scalars())


def assert_refused(response, *words: str) -> str:
    assert response.status_code == 401, response.text
    body = response.json()
    assert "data" not in body
    error = body["errors"][0]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    for word in words:
        assert word in error["message"], error["message"]
    assert FABRIKAM_SECRET not in response.text
    return error["message"]


@pytest.fixture
def fabrikam(session):
    """Fabrikam with its admin and one customer only Fabrikam's people may see."""
    workgroup = make_workgroup(session, "Fabrikam")
    grant(session, FABRIKAM_ADMIN, "admin", workgroup)
    make_customer(session, workgroup, index="fab", company_name=FABRIKAM_SECRET)
    return workgroup


# ---------------------------------------------------------------- look-alike addresses


@pytest.mark.parametrize("lookalike", LOOKALIKES.values(), ids=LOOKALIKES.keys())
def test_a_look_alike_address_is_refused_and_never_the_user(client, session, fabrikam, lookalike):
    # given: Fabrikam's admin, and a token for an address that only becomes theirs through
    # Unicode normalisation or case mapping
    assert lookalike != FABRIKAM_ADMIN
    users_before = user_emails(session)

    # when: the token asks who it is and for the customers
    response = post(client, token(lookalike))

    # then: refused with a message that says why, nothing of Fabrikam's revealed, and nobody
    # was signed in or created
    assert_refused(response, "e-mail address")
    assert user_emails(session) == users_before


def test_the_kelvin_sign_in_sub_is_refused_too(client, session, fabrikam):
    # given: a token that names the look-alike only in `sub`
    users_before = user_emails(session)

    # when
    response = post(client, token(None, sub="admin@fabri\u212aam.example"))

    # then
    assert_refused(response, "e-mail address")
    assert user_emails(session) == users_before


@pytest.mark.parametrize(
    "spelling",
    ["ADMIN@FABRIKAM.EXAMPLE", "Admin@Fabrikam.Example", " admin@fabrikam.example\t"],
)
def test_ascii_case_and_surrounding_ascii_space_still_reach_the_same_user(
    client, session, fabrikam, spelling
):
    # given: Fabrikam's admin, spelled with other ASCII case or surrounding ASCII blanks
    users_before = user_emails(session)

    # when
    response = post(client, token(spelling))

    # then: it is Fabrikam's admin, who sees Fabrikam's customer, and no second user appeared
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    assert body["data"]["me"] == {
        "email": FABRIKAM_ADMIN,
        "roles": [{"role": "ADMIN", "workgroup": {"name": "Fabrikam"}}],
    }
    assert body["data"]["customers"]["edges"] == [{"node": {"companyName": FABRIKAM_SECRET}}]
    assert user_emails(session) == users_before


def test_normalize_email_folds_only_ascii_letters():
    # given: an address with ASCII and non-ASCII capitals and a Kelvin sign

    # when
    folded = normalize_email("  J\u00d6RG.Fabri\u212aam@Example.DE ")

    # then: only the ASCII letters are lower-cased; nothing else is mapped
    assert folded == "j\u00d6rg.fabri\u212aam@example.de"


# ---------------------------------------------------------------- internationalised addresses


def test_an_internationalised_address_signs_in_as_a_user_of_its_own(client, session, fabrikam):
    # given: "jorg" is an admin of Fabrikam; "jörg" (NFKC already) has no role
    grant(session, JORG, "admin", fabrikam)
    assert unicodedata.normalize("NFKC", JOERG) == JOERG

    # when: jörg signs in
    response = post(client, token(JOERG))

    # then: accepted as jörg — a user distinct from jorg, with no role and nothing to see
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"]["me"] == {"email": JOERG, "roles": []}
    assert body["data"]["customers"]["totalCount"] == 0
    assert FABRIKAM_SECRET not in response.text
    assert JOERG in user_emails(session)
    assert JORG in user_emails(session)


def test_an_internationalised_address_reaches_its_roles_with_ascii_case_changed(
    client, session, fabrikam
):
    # given: jörg is a sales agent of Fabrikam
    grant(session, JOERG, "sales_agent", fabrikam)
    users_before = user_emails(session)

    # when: jörg signs in with the ASCII letters in upper case
    response = post(client, token("J\u00f6RG@EXAMPLE.DE"))

    # then: the same user, with the role
    assert response.status_code == 200, response.text
    assert response.json()["data"]["me"] == {
        "email": JOERG,
        "roles": [{"role": "SALES_AGENT", "workgroup": {"name": "Fabrikam"}}],
    }
    assert user_emails(session) == users_before


def test_a_non_ascii_capital_is_not_case_mapped_onto_another_user(client, session, fabrikam):
    # given: jörg is an admin of Fabrikam
    grant(session, JOERG, "admin", fabrikam)

    # when: a token names "jÖrg" (the Ö is not an ASCII letter, so it is not folded)
    response = post(client, token("j\u00d6rg@example.de"))

    # then: not jörg — a user of its own, without roles, who sees nothing
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"]["me"] == {"email": "j\u00d6rg@example.de", "roles": []}
    assert body["data"]["customers"]["totalCount"] == 0


def test_a_decomposed_spelling_of_an_internationalised_address_is_refused(
    client, session, fabrikam
):
    # given: jörg is an admin of Fabrikam, and a token with "jörg" spelled o + combining
    # diaeresis (NFKC composes it into jörg's address)
    grant(session, JOERG, "admin", fabrikam)
    users_before = user_emails(session)

    # when
    response = post(client, token("jo\u0308rg@example.de"))

    # then
    assert_refused(response, "e-mail address")
    assert user_emails(session) == users_before


# ---------------------------------------------------------------- every other place e-mails meet


def test_grant_role_refuses_a_look_alike_address(client, session, fabrikam):
    # given: Fabrikam's admin
    users_before = user_emails(session)

    # when: they grant a role to the Kelvin-sign spelling of their own address
    response = post(
        client,
        token(FABRIKAM_ADMIN),
        GRANT_ROLE,
        {
            "email": "admin@fabri\u212aam.example",
            "workgroupId": encode_id("Workgroup", fabrikam.id),
        },
    )

    # then: an INVALID error on the e-mail, and no user created
    assert response.status_code == 200, response.text
    errors = response.json()["data"]["grantRole"]["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [("email", "INVALID")]
    assert user_emails(session) == users_before


def test_add_contact_refuses_a_look_alike_address(client, session, fabrikam):
    # given: Fabrikam's admin

    # when: they add a contact with a fullwidth letter in the address
    response = post(
        client,
        token(FABRIKAM_ADMIN),
        ADD_CONTACT,
        {
            "input": {
                "workgroupId": encode_id("Workgroup", fabrikam.id),
                "firstName": "Eve",
                "lastName": "Mallory",
                "email": "\uff41dmin@fabrikam.example",
            }
        },
    )

    # then: an INVALID error on the e-mail, and no contact
    assert response.status_code == 200, response.text
    payload = response.json()["data"]["addContact"]
    assert payload["contact"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("email", "INVALID")]


def test_add_contact_folds_only_ascii_letters(client, fabrikam):
    # given: Fabrikam's admin

    # when: they add a contact whose address has ASCII capitals around an "ö"
    response = post(
        client,
        token(FABRIKAM_ADMIN),
        ADD_CONTACT,
        {
            "input": {
                "workgroupId": encode_id("Workgroup", fabrikam.id),
                "firstName": "J\u00f6rg",
                "lastName": "Example",
                "email": "J\u00f6rg@Example.DE",
            }
        },
    )

    # then: stored with the ASCII letters lower-cased
    assert response.status_code == 200, response.text
    assert response.json()["data"]["addContact"] == {"contact": {"email": JOERG}, "errors": []}


def test_activity_by_actor_does_not_match_a_look_alike_address(client, session, fabrikam):
    # given: Fabrikam's admin has acted once (granted a role)
    workgroup_id = encode_id("Workgroup", fabrikam.id)
    granted = post(
        client, token(FABRIKAM_ADMIN), GRANT_ROLE, {"email": JORG, "workgroupId": workgroup_id}
    )
    assert granted.json()["data"]["grantRole"]["errors"] == []
    by_admin = post(
        client, token(FABRIKAM_ADMIN), ACTIVITY_BY_ACTOR, {"actorEmail": "ADMIN@fabrikam.example"}
    )
    assert by_admin.json()["data"]["activity"]["totalCount"] == 1

    # when: the activity is filtered by the Kelvin-sign spelling of the admin's address
    response = post(
        client,
        token(FABRIKAM_ADMIN),
        ACTIVITY_BY_ACTOR,
        {"actorEmail": "admin@fabri\u212aam.example"},
    )

    # then: nothing of the admin's
    assert response.status_code == 200, response.text
    assert response.json()["data"]["activity"] == {"totalCount": 0, "edges": []}


def test_explain_access_does_not_explain_a_look_alike_as_the_user(client, fabrikam):
    # given: Fabrikam's admin may read Customer.rank
    workgroup_id = encode_id("Workgroup", fabrikam.id)
    own = post(
        client,
        token(FABRIKAM_ADMIN),
        EXPLAIN,
        {"email": FABRIKAM_ADMIN, "workgroupId": workgroup_id},
    )
    assert own.json()["data"]["explainAccess"] == {"allowed": True, "role": "ADMIN"}

    # when: access is explained for the Kelvin-sign spelling
    response = post(
        client,
        token(FABRIKAM_ADMIN),
        EXPLAIN,
        {"email": "admin@fabri\u212aam.example", "workgroupId": workgroup_id},
    )

    # then: that address holds no role, so it may not
    assert response.status_code == 200, response.text
    assert response.json()["data"]["explainAccess"]["allowed"] is False


# ---------------------------------------------------------------- email_verified


@pytest.mark.parametrize("verified", [False, "false", None], ids=["false", "'false'", "null"])
def test_an_unverified_email_claim_is_refused(client, session, fabrikam, verified):
    # given: a token for Fabrikam's admin whose provider says the address is not verified
    users_before = user_emails(session)
    bearer = jwt.encode(
        {
            "email": FABRIKAM_ADMIN,
            "email_verified": verified,
            "exp": datetime.now(UTC) + timedelta(hours=1),
        },
        TEST_SECRET,
        algorithm="HS256",
    )

    # when
    response = post(client, bearer)

    # then: refused, saying why
    assert_refused(response, "email_verified")
    assert user_emails(session) == users_before


@pytest.mark.parametrize("verified", [True, "true", None], ids=["true", "'true'", "absent"])
def test_a_verified_or_unstated_email_claim_is_accepted(client, fabrikam, verified):
    # given: a token for Fabrikam's admin that says the address is verified, or says nothing
    bearer = token(FABRIKAM_ADMIN, email_verified=verified)
    assert ("email_verified" in jwt.decode(bearer, options={"verify_signature": False})) == (
        verified is not None
    )

    # when
    response = post(client, bearer)

    # then: it is Fabrikam's admin
    assert response.status_code == 200, response.text
    assert response.json()["data"]["me"]["email"] == FABRIKAM_ADMIN
    assert response.json()["data"]["customers"]["totalCount"] == 1


# ---------------------------------------------------------------- seed --demo in production


@pytest.fixture
def cli_env(monkeypatch, tmp_path):
    """A clean CLIENTELE_* environment in a directory without a .env file; returns a function
    that points the CLI at a database in a mode."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("CLIENTELE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CLIENTELE_JWT_SECRET", TEST_SECRET)

    def use(database_url: str, env: str) -> None:
        monkeypatch.setenv("CLIENTELE_DATABASE_URL", database_url)
        monkeypatch.setenv("CLIENTELE_ENV", env)
        get_settings.cache_clear()

    get_settings.cache_clear()
    yield use
    get_settings.cache_clear()


def row_counts(database_url: str) -> dict[str, int]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return {
                table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
                for table in models.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def test_seed_demo_refuses_production_and_creates_nothing(cli_env, tmp_path, capsys):
    # given: a migrated, empty temporary SQLite database, used in production mode
    url = f"sqlite:///{tmp_path / 'production.db'}"
    cli_env(url, "development")
    assert main(["migrate"]) == 0
    capsys.readouterr()
    cli_env(url, "production")

    # when: the demo data is asked for
    code = main(["seed", "--demo"])
    output = capsys.readouterr()

    # then: exit code 2, a message on stderr that names production, and no row at all —
    # in particular no global admin root@clientele.example
    assert code == 2
    assert "production" in output.err
    assert "loaded" not in output.out
    counts = row_counts(url)
    assert counts["app_user"] == 0
    assert sum(counts.values()) == 0


def test_seed_demo_still_loads_in_development(cli_env, tmp_path, capsys):
    # given: the same kind of database, in development mode
    url = f"sqlite:///{tmp_path / 'development.db'}"
    cli_env(url, "development")
    assert main(["migrate"]) == 0

    # when
    code = main(["seed", "--demo"])

    # then: loaded, with the demo users
    assert code == 0
    assert "loaded" in capsys.readouterr().out
    assert row_counts(url)["app_user"] > 0
