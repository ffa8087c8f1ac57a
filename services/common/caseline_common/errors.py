"""Errors the domain and use cases raise. The HTTP layer maps each kind to a status in one place."""

from pydantic import BaseModel


class FieldIssue(BaseModel):
    """One problem with one input value. `pointer` is a JSON Pointer into the part named by `location`."""

    location: str = "body"
    pointer: str
    detail: str


class DomainError(Exception):
    title = "The request cannot be carried out"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


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


class InvalidInputError(DomainError):
    title = "Validation failed"

    def __init__(self, detail: str, issues: list[FieldIssue]) -> None:
        super().__init__(detail)
        self.issues = issues
