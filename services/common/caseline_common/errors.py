"""Errors the domain and use cases raise. The HTTP layer maps each kind to a status in one place."""

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from .formats import words_for


class FieldIssue(BaseModel):
    """One problem with one input value. `pointer` is a JSON Pointer into the part named by `location`."""

    model_config = ConfigDict(defer_build=True)

    location: str = "body"
    pointer: str
    detail: str


def issues_from_validation(error: ValidationError, location: str) -> list[FieldIssue]:
    """A validation's errors as issues a person can act on: a string of the wrong shape is told what shape to
    take (formats.py), never shown the pattern."""
    return [
        FieldIssue(
            location=location,
            pointer="/" + "/".join(str(part) for part in issue["loc"]),
            detail=words_for(issue["ctx"]["pattern"]) if issue["type"] == "string_pattern_mismatch" else issue["msg"],
        )
        for issue in error.errors(include_url=False)
    ]


class InvalidCursorError(ValueError):
    """A cursor this service did not give, or not for this list (here so the HTTP layer maps it without loading
    pagination.py's page models)."""


class DomainError(Exception):
    title = "The request cannot be carried out"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail
        # Extra members of the problem document (RFC 9457 extensions), e.g. the current version.
        self.extensions: dict[str, Any] = {}
        # Extra response headers, e.g. Retry-After.
        self.headers: dict[str, str] = {}


class NotFoundError(DomainError):
    """Also raised for objects the caller may not see, so that ids cannot be probed (OWASP API1)."""

    title = "Not found"


class ForbiddenError(DomainError):
    title = "Forbidden"


class ConflictError(DomainError):
    title = "Conflict"

    def __init__(self, detail: str, *, current_version: int | None = None) -> None:
        super().__init__(detail)
        self.current_version = current_version
        if current_version is not None:
            self.extensions["current_version"] = current_version


class ConcurrentWriteError(ConflictError):
    """Another write landed on the same data at the same moment; nothing was written, and the same request may
    simply be sent again. Still 409 to an HTTP caller; an event consumer lets the queue retry it."""


class PreconditionFailedError(ConflictError):
    """The caller's If-Match named a version that is no longer current."""

    title = "Precondition failed"


class InvalidInputError(DomainError):
    title = "Validation failed"

    def __init__(self, detail: str, issues: list[FieldIssue]) -> None:
        super().__init__(detail)
        self.issues = issues


class UnavailableError(DomainError):
    """A dependency did not take the request; nothing happened, and the same request may be sent again."""

    title = "Service unavailable"
