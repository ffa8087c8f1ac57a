"""A participant's language on the local stack: staff give it when adding an external participant and change it
(If-Match as every command), a malformed one is refused in words, the events carry it to the portal's read model,
and the portal's pages and the refusals of its API speak it, after the visitor's own pick and before the browser's."""

import json
import uuid
from typing import Any

import pytest
from caseline_common.resources import PORTAL_TABLE

from caseline.local.stack import LocalStack

from .support import assert_problem, pointers, timeline, wait_until
from .test_portal_access import Browser, Claim, api, issue, ok, path_of, staff, template

ENGLISH_BROWSER = {"Accept-Language": "en-GB,en;q=0.9"}
GERMAN_BROWSER = {"Accept-Language": "de-DE,de;q=0.9"}


@pytest.fixture(scope="module")
def key(stack: LocalStack) -> str:
    key = f"language-{uuid.uuid4().hex[:8]}"
    ok(api(stack, "POST", "/templates", template(key)), 201)
    return key


def command(stack: LocalStack, path: str, body: Any, *, if_match: str | None = None) -> tuple[int, dict[str, str], Any]:
    headers = {"Authorization": f"Bearer {staff(stack, 'alex')}", "Content-Type": "application/json"}
    if if_match is not None:
        headers["If-Match"] = if_match
    status, answered, raw = stack.api.handle("POST", path, headers, json.dumps(body).encode())
    return status, answered, json.loads(raw)


def open_case(stack: LocalStack, key: str) -> str:
    case = ok(
        api(stack, "POST", "/cases", {"template_key": key, "title": f"Bike {uuid.uuid4().hex[:6]}"}, as_="alex"), 201
    )
    return str(case["id"])


def add_client(stack: LocalStack, case_id: str, **extra: Any) -> tuple[int, Any]:
    body = {"kind": "external", "role": "client", "name": "Lukas Becker", "email": "lukas@example.org", **extra}
    return api(stack, "POST", f"/cases/{case_id}/participants", body, as_="alex")


def client_of(case: dict[str, Any]) -> dict[str, Any]:
    return next(each for each in case["participants"] if each["kind"] == "external")


def portal_participant(stack: LocalStack, case_id: str, participant_id: str) -> dict[str, Any] | None:
    item = (
        stack.aws.dynamodb()
        .get_item(
            TableName=stack.tenant.names.table(PORTAL_TABLE),
            Key={"pk": {"S": f"PCASE#{case_id}"}, "sk": {"S": "CASE"}},
            ConsistentRead=True,
        )
        .get("Item")
    )
    found: dict[str, Any] | None = json.loads(item["doc"]["S"])["participants"].get(participant_id) if item else None
    return found


def german_claim(stack: LocalStack, key: str) -> Claim:
    case_id = open_case(stack, key)
    client = client_of(ok(add_client(stack, case_id, language="de")))
    return Claim(case_id, "", client["id"])


def test_a_language_is_given_changed_refused_in_words_and_reaches_the_portal(stack: LocalStack, key: str) -> None:
    case_id = open_case(stack, key)
    for wrong in ("DE", "deutsch", "d", "de-AT", 7):
        problem = assert_problem(stack.api.handle(*_add_request(stack, case_id, wrong)), 422)
        assert problem["type"] == "urn:caseline:problem:validation-error"
        assert pointers(problem) == {"/language"}, problem
        [issue] = problem["errors"]
        if isinstance(wrong, str):
            assert issue["detail"] == (
                "must be a language as its two or three lower-case letters (ISO 639), such as de or en"
            )
    staff_member = {"kind": "internal", "role": "viewer", "user_id": "dev-blake", "language": "de"}
    refused = api(stack, "POST", f"/cases/{case_id}/participants", staff_member, as_="alex")
    assert refused[0] == 422, refused
    assert "only an external participant" in refused[1]["errors"][0]["detail"]

    added = ok(add_client(stack, case_id, language="de"))
    client = client_of(added)
    assert client["language"] == "de"
    path = f"/cases/{case_id}/participants/{client['id']}/language"
    stale = command(stack, path, {"language": "en"}, if_match=f'"{added["version"] - 1}"')
    assert stale[0] == 412, stale
    changed = command(stack, path, {"language": "en"}, if_match=f'"{added["version"]}"')
    assert changed[0] == 200, changed
    assert (client_of(changed[2])["language"], changed[1]["ETag"]) == ("en", f'"{added["version"] + 1}"')
    assert command(stack, path, {"language": "en"})[0] == 422, "the same language again changes nothing"
    cleared = command(stack, path, {"language": None})
    assert cleared[0] == 200, cleared
    assert client_of(cleared[2])["language"] is None
    assert command(stack, path, {})[0] == 422, "null is said, not left out"
    owner = next(each for each in added["participants"] if each["kind"] == "internal")
    staff_language = command(stack, f"/cases/{case_id}/participants/{owner['id']}/language", {"language": "de"})
    assert staff_language[0] == 422, staff_language
    assert "only an external participant" in staff_language[2]["errors"][0]["detail"]

    def recorded() -> list[dict[str, Any]]:
        return [e["event"] for e in timeline(stack, case_id) if e["event"]["type"] == "participant.language_changed"]

    wait_until(lambda: len(recorded()) == 2, what="both changes on the timeline")
    assert [(e["data"]["before"], e["data"]["after"]) for e in recorded()] == [("de", "en"), ("en", None)]
    again = command(stack, path, {"language": "de"})
    assert again[0] == 200, again
    wait_until(
        lambda: (portal_participant(stack, case_id, client["id"]) or {}).get("language") == "de",
        what="the portal's read model to know the language",
    )


def _add_request(stack: LocalStack, case_id: str, language: Any) -> tuple[str, str, dict[str, str], bytes]:
    body = {"kind": "external", "role": "client", "name": "Eva", "email": "eva@example.org", "language": language}
    headers = {"Authorization": f"Bearer {staff(stack, 'alex')}", "Content-Type": "application/json"}
    return "POST", f"/cases/{case_id}/participants", headers, json.dumps(body).encode()


def test_the_portal_speaks_the_participant_s_language_after_the_visitor_s_pick(stack: LocalStack, key: str) -> None:
    link = issue(stack, german_claim(stack, key))
    visitor = Browser(stack)
    landing = visitor.send("GET", path_of(link), headers=ENGLISH_BROWSER)
    assert (landing.status, landing.header("Content-Language")) == (200, "de"), landing.text
    assert "Meinen Vorgang öffnen" in landing.text
    started = visitor.send("POST", f"{path_of(link)}/session", form={"csrf": landing.csrf}, headers=ENGLISH_BROWSER)
    assert started.status == 303, started.text
    page = visitor.send("GET", "/portal/case", headers=ENGLISH_BROWSER)
    assert '<html lang="de">' in page.text
    assert "Was wir von Ihnen benötigen" in page.text
    picked = visitor.send("GET", "/portal/case?lang=en", headers=ENGLISH_BROWSER)
    assert '<html lang="en">' in picked.text, "the visitor's own pick outranks the participant's language"


def test_the_portal_refuses_in_the_visitor_s_language(stack: LocalStack, key: str) -> None:
    link = issue(stack, german_claim(stack, key))
    visitor = Browser(stack)
    page = visitor.enter(link)  # no Accept-Language at all: the participant's German
    csrf = {"X-CSRF-Token": page.csrf}

    def upload(size: int, content_type: str = "application/pdf", **headers: str) -> dict[str, Any]:
        form = {"type": "receipt", "filename": "receipt.pdf", "content_type": content_type, "size": size}
        sent = visitor.send("POST", "/portal/uploads", body=form, headers={**csrf, **headers})
        return assert_problem((sent.status, sent.headers, sent.raw), 422)

    too_big = upload(4096, **ENGLISH_BROWSER)
    assert (too_big["type"], too_big["title"]) == ("urn:caseline:problem:validation-error", "Angaben nicht gültig")
    assert too_big["detail"] == "Diese Datei ist zu groß: höchstens 1 KB."
    assert too_big["errors"] == [{"location": "body", "pointer": "/size", "detail": too_big["detail"]}]
    assert upload(0)["detail"] == "Diese Datei ist leer: Bitte wählen Sie die Datei, die Sie senden möchten."
    assert (
        upload(10, "image/png")["detail"]
        == "Diese Art von Datei wird hier nicht angenommen: verwenden Sie application/pdf."
    )
    sent = visitor.send("POST", "/portal/uploads", body={"type": "receipt"}, headers=csrf)
    generic = assert_problem((sent.status, sent.headers, sent.raw), 422)
    assert generic["detail"].startswith("Was gesendet wurde, konnte nicht angenommen werden"), generic
    assert pointers(generic) == {"/filename", "/content_type", "/size"}

    empty = visitor.send("POST", "/portal/messages", form={"csrf": page.csrf, "body": " "}, headers=ENGLISH_BROWSER)
    assert empty.status == 422, empty.text
    assert "Schreiben Sie eine Nachricht mit 1 bis 10.000 Zeichen." in empty.text, "a page's refusal in German too"

    visitor.cookies["cl_language"] = "en"  # picked on a page: it outranks the participant's language
    english = upload(4096, **GERMAN_BROWSER)
    assert (english["title"], english["detail"]) == ("Validation failed", "This file is too large: at most 1 KB.")

    ended = Browser(stack).send("POST", "/portal/uploads", body={}, headers={**csrf, **GERMAN_BROWSER})
    problem = assert_problem((ended.status, ended.headers, ended.raw), 401)
    assert (problem["type"], problem["title"]) == ("urn:caseline:problem:session-ended", "Sitzung beendet")
