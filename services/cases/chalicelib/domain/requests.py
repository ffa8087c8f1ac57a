"""Asking the external participants of a role for a document; a document of its type fulfils the request."""

from caseline_common.contracts import DocumentRequest, Key, ParticipantKind, Permission, RoleKind
from caseline_common.errors import ConflictError
from caseline_common.events import EventType
from pydantic import Field

from .work import CaseWork, Change, LongProse, Request, issue


class RequestDocumentRequest(Request):
    document_type: Key
    from_role: Key = Field(description="The external role whose participants are asked.")
    message: LongProse | None = None


def request_document(work: CaseWork, request: RequestDocumentRequest) -> Change:
    """Asks the external participants of a role for a document: the portal shows the request to whoever
    holds the role, and sends those who hold it now a link."""
    work.access.require(Permission.PARTICIPANT_MANAGE, "ask participants for documents")
    work.require_open()
    known = {document.key: document for document in work.definition.document_types}
    if request.document_type not in known:
        raise issue("/document_type", f'unknown document type "{request.document_type}"')
    if work.role_kind(request.from_role, "/from_role") is not RoleKind.EXTERNAL:
        raise issue("/from_role", f'role "{request.from_role}" is not an external role')
    asked = [p for p in work.case.participants if p.kind is ParticipantKind.EXTERNAL and p.role == request.from_role]
    pending = next(
        (
            each
            for each in work.case.requests
            if (each.document_type, each.from_role) == (request.document_type, request.from_role)
        ),
        None,
    )
    if pending is not None:
        raise ConflictError("That document has been asked for already.", current_version=work.case.version)
    asked_for = DocumentRequest(
        id=work.new_id(),
        document_type=request.document_type,
        from_role=request.from_role,
        message=request.message,
        requested_at=work.now,
        requested_by=work.subject,
    )
    return work.change(
        EventType.DOCUMENT_REQUESTED,
        {
            "request_id": asked_for.id,
            "document_type": request.document_type,
            "from_role": request.from_role,
            "participant_ids": [participant.id for participant in asked],
            "message": request.message,
        },
        shown=True,
        requests=[*work.case.requests, asked_for],
    )
