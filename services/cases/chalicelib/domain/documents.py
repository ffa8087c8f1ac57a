"""Documents on a case: which type an upload may be, and each confirmed upload as its type's next version."""

from caseline_common.contracts import CaseDocument, DocumentTypeDefinition, DocumentVersion, Permission
from caseline_common.errors import ConflictError, ForbiddenError
from caseline_common.events import EventType

from .work import MAX_DOCUMENT_VERSIONS, CaseWork, Change, issue


def document_type(work: CaseWork, type_key: str, *, content_type: str, size: int) -> DocumentTypeDefinition:
    """The document type an upload is for, once the caller, the content type and the size are allowed."""
    work.access.require(Permission.DOCUMENT_UPLOAD, "upload documents")
    definition = next((each for each in work.definition.document_types if each.key == type_key), None)
    if definition is None:
        raise issue("/type", f'unknown document type "{type_key}"')
    if (
        definition.uploader_roles
        and not work.access.admin
        and not (work.access.role_keys() & set(definition.uploader_roles))
    ):
        raise ForbiddenError(f'Only {", ".join(definition.uploader_roles)} may upload "{definition.name}".')
    work.require_open()
    if content_type not in definition.content_types:
        raise issue("/content_type", f"{definition.name} accepts {', '.join(definition.content_types)}")
    if size > definition.max_size_bytes:
        raise issue("/size", f"{definition.name} is at most {definition.max_size_bytes} bytes")
    return definition


def add_document_version(work: CaseWork, type_key: str, upload: DocumentVersion) -> Change:
    definition = document_type(work, type_key, content_type=upload.content_type, size=upload.size)
    documents = list(work.case.documents)
    existing = next((document for document in documents if document.type == type_key), None)
    if sum(len(document.versions) for document in documents) >= MAX_DOCUMENT_VERSIONS:
        raise ConflictError(
            f"A case holds at most {MAX_DOCUMENT_VERSIONS} document versions.", current_version=work.case.version
        )
    version = upload.model_copy(update={"version": len(existing.versions) + 1 if existing else 1})
    if existing:
        documents = [
            CaseDocument(type=type_key, versions=[*existing.versions, version]) if document is existing else document
            for document in documents
        ]
    else:
        documents.append(CaseDocument(type=type_key, versions=[version]))
    return work.change(
        EventType.DOCUMENT_ADDED,
        {
            "document_type": type_key,
            "document_version": version.version,
            "upload_id": version.upload_id,
            "content_type": version.content_type,
            "size": version.size,
            "sha256": version.sha256,
        },
        personal={"filename": version.filename},
        shown=definition.external,
        documents=documents,
        requests=[each for each in work.case.requests if each.document_type != type_key],  # fulfilled
    )
