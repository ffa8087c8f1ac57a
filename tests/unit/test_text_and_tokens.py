"""Text people type refuses what does not show as what it is; bearer tokens of any claim shape verify or are
refused (401), never a crash."""

import json
import time
import unicodedata
from typing import TYPE_CHECKING, Any

import jwt
import pytest
from case_domain import case_domain
from caseline_common import fields
from caseline_common.auth import AuthenticationError, TokenVerifier
from caseline_common.contracts import TemplateDefinition
from caseline_common.errors import InvalidInputError
from caseline_common.tenant import Principal
from caseline_common.text import FileName, MultiLineText, SingleLineText
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jwt.algorithms import RSAAlgorithm
from pydantic import BaseModel, TypeAdapter, ValidationError
from service_modules import loaded_module, loaded_namespace

if TYPE_CHECKING:
    import case_domain as domain

    from services.automations.chalicelib.domain import webhooks
else:
    domain = loaded_namespace("case_domain", case_domain, "cases")
    webhooks = loaded_module("automations", "chalicelib.domain.webhooks")

ONE_LINE = TypeAdapter(SingleLineText)
LINES = TypeAdapter(MultiLineText)

# Format characters (Cf) that writing needs, and so stay allowed; every other one is refused.
WRITING_NEEDS = {0xAD, 0x200C, 0x200D, 0x200E, 0x200F, 0x61C}
WRITING_NEEDS |= {*range(0x600, 0x606), 0x6DD, 0x70F, 0x890, 0x891, 0x8E2, 0x110BD, 0x110CD}
WRITING_NEEDS |= {*range(0x13430, 0x13440), *range(0x1BCA0, 0x1BCA4), *range(0x1D173, 0x1D17B)}
WRITING_NEEDS |= set(range(0xE0020, 0xE0080))  # the tag characters of subdivision flags


def refused(adapter: TypeAdapter[str], value: str) -> bool:
    try:
        adapter.validate_python(value)
    except ValidationError:
        return True
    return False


# Text


@pytest.mark.parametrize(
    "value",
    [
        "Onboarding\x00Sam",  # NUL
        "\x1b[31mURGENT\x1b[0m",  # an ANSI escape
        "invoice\u202efdp.exe",  # right-to-left override
        "a\u2066b\u2069",  # isolates
        "a\u202ab",  # embedding
        "zero\u200bwidth",
        "byte order\ufeffmark",
        "two\nlines",
        "tab\there",
        "line\u2028separator",
        "C1\x85control",
        "DEL\x7f",
        "lone \ud800 surrogate",
    ],
)
def test_single_line_text_refuses_controls_overrides_and_line_breaks(value: str) -> None:
    assert refused(ONE_LINE, value)


@pytest.mark.parametrize(
    "value",
    [
        "Onboarding: Lena Fischer",
        "Straße 5, 1010 Wien",
        "שלום\u200f, עולם",  # Hebrew with a right-to-left mark
        "नमस्\u200dते",  # Devanagari with a zero width joiner
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian with a zero width non-joiner
        "family 👨\u200d👩\u200d👧 and flag 🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
        "soft\u00adhyphen",
    ],
)
def test_single_line_text_keeps_what_writing_needs(value: str) -> None:
    assert ONE_LINE.validate_python(value) == value


def test_multi_line_text_keeps_line_breaks_and_tabs_and_refuses_the_rest() -> None:
    assert LINES.validate_python("first\n\tsecond\r\nthird\rfourth") == "first\n\tsecond\nthird\nfourth"
    for value in ("a\x00b", "a\x1bb", "a\u202eb", "a\u2067b", "a\x0bb", "a\u2028b"):
        assert refused(LINES, value), repr(value)


def test_every_format_character_is_refused_unless_writing_needs_it() -> None:
    """A newer Unicode (a newer Python) adds format characters: each must be decided on, not let through."""
    for code in range(0x110000):
        char = chr(code)
        if unicodedata.category(char) == "Cf":
            assert refused(ONE_LINE, f"a{char}b") is (code not in WRITING_NEEDS), f"U+{code:04X}"


def test_the_refusal_says_which_character_and_where() -> None:
    with pytest.raises(ValidationError) as raised:
        ONE_LINE.validate_python("invoice\u202efdp.exe")
    [error] = raised.value.errors()
    assert error["type"] == "hidden_character"
    assert "U+202E at character 7" in error["msg"]


def test_file_names_are_one_line_without_folders() -> None:
    names = TypeAdapter(FileName)
    assert names.validate_python("Résumé (final).pdf") == "Résumé (final).pdf"
    for bad in ("../etc/passwd", "a\\b", "invoice\u202efdp.exe", "a\x00.pdf", "", "x" * 256):
        assert refused(names, bad), bad


def test_a_template_refuses_hidden_characters_with_a_pointer_to_each() -> None:
    template = {
        "key": "hidden",
        "name": "Claims\u202e",
        "description": "Line one\nline two",
        "fields": [{"key": "a", "label": "A\x00", "type": "enum", "options": ["yes", "no\x1b"]}],
        "stages": [{"key": "s", "name": "Stage\nname", "tasks": [{"key": "t", "title": "Task\u2066"}]}],
    }
    with pytest.raises(ValidationError) as raised:
        TemplateDefinition.model_validate(template)
    assert {"/".join(str(part) for part in error["loc"]) for error in raised.value.errors()} == {
        "name",
        "fields/0/label",
        "fields/0/options/1",
        "stages/0/name",
        "stages/0/tasks/0/title",
    }


def test_case_requests_refuse_hidden_characters_in_one_line_text() -> None:
    bad: dict[type[BaseModel], dict[str, Any]] = {
        domain.OpenCaseRequest: {"template_key": "t", "title": "Claim\x00"},
        domain.UpdateCaseRequest: {"title": "\x1b[2JClaim"},
        domain.AddTaskRequest: {"title": "Call\u202eback", "reason": "Because"},
        domain.AddParticipantRequest: {"kind": "external", "role": "r", "name": "Eve\u2066", "email": "e@x.org"},
        domain.AssignRequest: {"owner": "dev-a\nb"},
    }
    for model, body in bad.items():
        with pytest.raises(ValidationError):
            model.model_validate(body)
    # surrounding white space is still trimmed, and prose keeps its lines
    assert domain.OpenCaseRequest.model_validate({"template_key": "t", "title": "  Claim\t"}).title == "Claim"
    comment = domain.CommentRequest.model_validate({"body": "Dear Sam,\r\n\tthanks."})
    assert comment.body == "Dear Sam,\n\tthanks."
    with pytest.raises(ValidationError):
        domain.CommentRequest.model_validate({"body": "hidden \u202e text"})


def test_text_field_values_are_one_line_and_long_text_keeps_lines() -> None:
    template = TemplateDefinition.model_validate(
        {
            "key": "texts",
            "name": "Texts",
            "fields": [
                {"key": "short", "label": "Short", "type": "text"},
                {"key": "long", "label": "Long", "type": "long_text"},
                {"key": "who", "label": "Who", "type": "party"},
            ],
            "stages": [{"key": "s", "name": "S"}],
        }
    )
    clean = fields.validate_field_values(template, {"long": "a\r\nb"}, require_all=False)
    assert clean == {"long": "a\nb"}
    with pytest.raises(InvalidInputError) as raised:
        fields.validate_field_values(
            template,
            {"short": "two\nlines", "long": "bidi \u202e", "who": {"name": "Mal\x00lory"}},
            require_all=False,
        )
    assert {issue.pointer for issue in raised.value.issues} == {"/fields/short", "/fields/long", "/fields/who/name"}


# Tokens

ISSUER = "https://issuer.example"
CLIENT = "our-app"
OTHER_CLIENT = "our-other-app"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KEY_ID = "key-1"


@pytest.fixture
def verifier(monkeypatch: pytest.MonkeyPatch) -> TokenVerifier:
    """A verifier whose issuer's key set is KEY's public half, served without a network."""
    checking = TokenVerifier(issuer=ISSUER, client_ids=[CLIENT, OTHER_CLIENT], jwks_url="https://issuer.example/jwks")
    public = {**json.loads(RSAAlgorithm.to_jwk(KEY.public_key())), "kid": KEY_ID, "use": "sig", "alg": "RS256"}
    monkeypatch.setattr(checking._jwks, "fetch_data", lambda: {"keys": [public]})
    return checking


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    good = {
        "sub": "user-1",
        "iss": ISSUER,
        "aud": CLIENT,
        "token_use": "id",
        "iat": now,
        "exp": now + 600,
        "email": "user-1@example.org",
        "cognito:groups": ["caseline-staff"],
    }
    return {name: value for name, value in {**good, **changes}.items() if value is not ...}


def signed(payload: Any) -> str:
    """Signed as it stands: jwt.encode would refuse some of the shapes a hostile issuer could sign."""
    return jwt.api_jws.encode(json.dumps(payload).encode(), KEY, algorithm="RS256", headers={"kid": KEY_ID})


def test_a_cognito_id_token_verifies(verifier: TokenVerifier) -> None:
    principal = verifier.verify(signed(claims()))
    assert principal == Principal(
        subject="user-1", email="user-1@example.org", groups=frozenset({"caseline-staff"}), app_client=CLIENT
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": [CLIENT]},
        {"aud": [CLIENT, OTHER_CLIENT], "azp": CLIENT},
        {"aud": CLIENT, "azp": CLIENT},
        {"token_use": "access", "aud": ..., "client_id": OTHER_CLIENT},
    ],
    ids=["aud list of ours", "two of ours with azp", "azp ours", "access token"],
)
def test_audiences_oidc_allows_verify(verifier: TokenVerifier, changes: dict[str, Any]) -> None:
    assert verifier.verify(signed(claims(**changes))).subject == "user-1"


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": [CLIENT, "someone-else"], "azp": CLIENT},  # an audience we do not trust
        {"aud": [CLIENT, OTHER_CLIENT]},  # several audiences, no azp
        {"aud": [CLIENT], "azp": "someone-else"},
        {"aud": ["someone-else"]},
        {"aud": []},
        {"aud": [[CLIENT]]},
        {"aud": {"client": CLIENT}},
        {"aud": 7},
        {"aud": ...},
        {"token_use": "access", "client_id": [CLIENT]},
        {"token_use": "refresh"},
        {"token_use": ["id"]},
        {"cognito:groups": "caseline-admins"},  # a string, not a list of groups
        {"cognito:groups": [["caseline-admins"]]},
        {"cognito:groups": {"caseline-admins": True}},
        {"cognito:groups": [7]},
        {"exp": str(int(time.time()) + 600)},
        {"exp": True},
        {"exp": [1]},
        {"exp": 10**400},
        {"exp": float("inf")},
        {"iat": "now"},
        {"nbf": "soon"},
        {"sub": 7},
        {"sub": ""},
        {"sub": "user\n1"},
        {"email": ["a@example.org"]},
        {"email": "user\u202e@example.org"},
        {"iss": [ISSUER]},
        {"jti": {"id": 1}},
    ],
)
def test_a_token_of_another_shape_is_refused_as_invalid(verifier: TokenVerifier, changes: dict[str, Any]) -> None:
    with pytest.raises(AuthenticationError):
        verifier.verify(signed(claims(**changes)))


def test_a_payload_that_is_not_an_object_is_refused(verifier: TokenVerifier) -> None:
    with pytest.raises(AuthenticationError):
        verifier.verify(signed(["sub", "user-1"]))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
CLAIMS = ["sub", "token_use", "exp", "iat", "nbf", "aud", "azp", "client_id", "email", "cognito:groups", "iss", "jti"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(CLAIMS), value=JSON)
def test_any_claim_of_any_shape_verifies_or_is_refused_never_crashes(
    verifier: TokenVerifier, name: str, value: Any
) -> None:
    try:
        principal = verifier.verify(signed(claims(**{name: value})))
    except AuthenticationError:
        return
    assert isinstance(principal, Principal)


def test_webhook_subscriptions_take_a_one_line_url_and_a_plain_description() -> None:
    good = {"url": "https://hooks.example.org/caseline", "description": "Claims desk\n\tand finance"}
    assert webhooks.CreateWebhookRequest.model_validate(good).description == "Claims desk\n\tand finance"
    for bad in ({"url": "https://hooks.example.org/\u202egpj.exe"}, {**good, "description": "desk\x1b[2J"}):
        with pytest.raises(ValidationError):
            webhooks.CreateWebhookRequest.model_validate(bad)
