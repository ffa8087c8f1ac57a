"""Saved views over HTTP, in-process: ETag and If-Match (412, 428), Idempotency-Key, who sees and changes a view,
and the problems a bad request gets."""

import uuid
from typing import Any

from caseline.local.stack import LocalStack

from .support import PROBLEM_JSON, Response, api_call, header


def token(stack: LocalStack, subject: str, *groups: str) -> str:
    return stack.idp.issue(subject=subject, email=f"{subject}@demo.caseline.local", groups=list(groups))


def views(stack: LocalStack, method: str, path: str, body: Any = None, *, as_: str, **headers: str) -> Response:
    return api_call(stack, method, path, body, token=as_, headers=headers)


def test_a_view_shared_with_a_group_is_read_only_for_its_members(stack: LocalStack) -> None:
    claims = f"http-claims-{uuid.uuid4().hex[:8]}"  # the session's stack is shared: views of other tests are there
    pat = token(stack, "http-pat", "caseline-staff", claims)
    sam = token(stack, "http-sam", "caseline-staff", claims)
    lee = token(stack, "http-lee", "caseline-staff")
    query = {"status": "open", "sort": "due"}
    body = {"name": "Due soon", "query": query, "shared_with": [claims]}

    status, headers, created = views(stack, "POST", "/views", body, as_=pat, **{"Idempotency-Key": claims})
    assert status == 201, created
    assert header(headers, "ETag") == '"1"'
    assert header(headers, "Location") == f"/views/{created['id']}"
    status, headers, again = views(stack, "POST", "/views", body, as_=pat, **{"Idempotency-Key": claims})
    assert (status, again, header(headers, "Idempotent-Replayed")) == (201, created, "true")

    status, _, listed = views(stack, "GET", "/views", as_=sam)
    assert status == 200
    # Views shared with all staff (caseline-staff) by other tests are Sam's team views too.
    shared = [(view["id"], view["editable"]) for view in listed["team"] if claims in view["shared_with"]]
    assert shared == [(created["id"], False)]
    assert views(stack, "GET", f"/views/{created['id']}", as_=lee)[0] == 404
    path = f"/views/{created['id']}"
    assert views(stack, "PUT", path, {**body, "name": "Taken"}, as_=sam, **{"If-Match": '"1"'})[0] == 403

    status, _, problem = views(stack, "PUT", path, {**body, "name": "Renamed"}, as_=pat)
    assert (status, problem["status"]) == (428, 428)
    status, headers, renamed = views(stack, "PUT", path, {**body, "name": "Renamed"}, as_=pat, **{"If-Match": '"1"'})
    assert (status, renamed["name"], header(headers, "ETag")) == (200, "Renamed", '"2"')
    status, headers, problem = views(stack, "DELETE", path, as_=pat, **{"If-Match": '"1"'})
    assert (status, header(headers, "Content-Type"), problem["current_version"]) == (412, PROBLEM_JSON, 2)
    assert views(stack, "DELETE", path, as_=pat)[0] == 428
    assert views(stack, "DELETE", path, as_=pat, **{"If-Match": '"2"'})[0] == 204
    assert views(stack, "GET", path, as_=pat)[0] == 404


def test_bad_views_are_refused_with_their_pointers(stack: LocalStack) -> None:
    pat = token(stack, "http-pat2", "caseline-staff", "http-claims")
    status, _, problem = views(
        stack, "POST", "/views", {"name": "", "columns": ["colour"], "shared_with": ["http-elsewhere"]}, as_=pat
    )
    assert status == 422
    assert {issue["pointer"] for issue in problem["errors"]} == {"/name", "/columns/0"}
    status, _, problem = views(stack, "POST", "/views", {"name": "Mine", "shared_with": ["http-elsewhere"]}, as_=pat)
    assert status == 422
    assert [issue["pointer"] for issue in problem["errors"]] == ["/shared_with/0"]
    nobody = token(stack, "http-nobody", "http-claims")
    assert views(stack, "GET", "/views", as_=nobody)[0] == 403
