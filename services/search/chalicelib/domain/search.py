"""What the search index holds about a case, and what a search asks and answers.

A case is indexed as one document per access class: the case's viewing roles grouped by what they may see (the
fields their `fields` map shows, and whether they hold document.view for file names). Admins and viewers see
everything, so the "full" class always exists; a role that sees everything adds its reader terms to it. Each
document carries the reader terms of its class (`caseline_common.access`), and every search filters on the
caller's terms in the engine's query, so a caller never matches a value their roles hide and never finds a case
they may not view. A person whose personal data was erased is left out of every document: their name and e-mail,
the bodies of their comments, the names of files they uploaded and the people fields that name them.
"""

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from caseline_common.access import ADMIN_TERM, VIEWER_TERM, role_readers
from caseline_common.contracts import (
    CaseSnapshot,
    FieldAccess,
    FieldDefinition,
    FieldType,
    Participant,
    Permission,
    RoleDefinition,
    TemplateDefinition,
    case_reference,
)


class CaseNotProjectedError(Exception):
    """The event is about a template the index has not seen yet; SQS delivers it again later."""


class Where(StrEnum):
    """Where in a case a text sits, so that a highlight says where the match is."""

    TITLE = "title"
    FIELD = "field"
    PARTICIPANT = "participant"
    COMMENT = "comment"
    DOCUMENT = "document"
    DECISION = "decision"


class Sort(StrEnum):
    RELEVANCE = "relevance"
    UPDATED = "updated"
    CREATED = "created"
    DUE = "due"
    TITLE = "title"


FACETS = ("template_key", "stage", "status", "owner")
FULL_CLASS = "full"


@dataclass(frozen=True)
class Text:
    where: Where
    label: str
    text: str


@dataclass(frozen=True)
class SearchDocument:
    """One access class's view of one case, as the engines index it."""

    case_id: str
    access_class: str
    readers: frozenset[str]
    template_key: str
    template_version: int
    title: str
    stage: str
    status: str
    owner: str
    created_at: datetime
    updated_at: datetime
    stage_due_at: datetime | None
    texts: tuple[Text, ...]

    @property
    def doc_id(self) -> str:
        return f"{self.case_id}:{self.access_class}"

    @property
    def title_sort(self) -> str:
        return self.title.casefold()

    def texts_of(self, where: Where) -> list[str]:
        return [text.text for text in self.texts if text.where is where]


@dataclass(frozen=True)
class SearchComment:
    id: str
    body: str
    external: bool
    author: str
    at: datetime


@dataclass(frozen=True)
class StoredCase:
    """What the index keeps about one case: its newest snapshot, its comments and the people erased from it."""

    case: CaseSnapshot | None
    comments: list[SearchComment] = field(default_factory=list)
    erased: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SearchQuery:
    """`text` as typed (the engine analyses it as it analysed the documents); `readers` the caller's terms."""

    text: str
    readers: frozenset[str]
    filters: Mapping[str, str] = field(default_factory=dict)
    sort: Sort = Sort.RELEVANCE
    offset: int = 0
    limit: int = 25


@dataclass(frozen=True)
class HighlightPart:
    text: str
    match: bool


@dataclass(frozen=True)
class Highlight:
    where: Where
    label: str
    parts: tuple[HighlightPart, ...]


@dataclass(frozen=True)
class SearchHit:
    case_id: str
    title: str
    template_key: str
    template_version: int
    stage: str
    status: str
    owner: str
    created_at: datetime
    updated_at: datetime
    stage_due_at: datetime | None
    score: float | None
    highlights: tuple[Highlight, ...] = ()


@dataclass(frozen=True)
class FacetCount:
    value: str
    count: int


@dataclass(frozen=True)
class SearchResults:
    hits: list[SearchHit]
    facets: dict[str, list[FacetCount]]
    total: int


# rendering


@dataclass(frozen=True)
class AccessClass:
    """What a group of roles may see: `fields` (None: all of them) and whether file names are shown."""

    key: str
    readers: frozenset[str]
    fields: frozenset[str] | None
    documents: bool


def _visible_fields(role: RoleDefinition, template: TemplateDefinition) -> frozenset[str]:
    default = role.fields.get("*")
    return frozenset(
        definition.key
        for definition in template.fields
        if role.fields.get(definition.key, default) in (FieldAccess.VIEW, FieldAccess.EDIT)
    )


def access_classes(template: TemplateDefinition, participants: Iterable[Participant]) -> list[AccessClass]:
    """The full class (admins, viewers and the roles that see everything) first, then one class per distinct
    view of the other roles that may view the case, each known by a key derived from what it sees."""
    participants = list(participants)
    everything = frozenset(definition.key for definition in template.fields)
    full_readers = {ADMIN_TERM, VIEWER_TERM}
    partial: dict[tuple[frozenset[str], bool], set[str]] = {}
    for role in template.roles:
        if Permission.VIEW not in role.permissions:
            continue
        readers = role_readers(role, participants)
        view = (_visible_fields(role, template), Permission.DOCUMENT_VIEW in role.permissions)
        if view == (everything, True):
            full_readers |= readers
        elif readers:
            partial.setdefault(view, set()).update(readers)
    classes = [AccessClass(FULL_CLASS, frozenset(full_readers), None, True)]
    for (fields, documents), members in sorted(partial.items(), key=lambda item: (sorted(item[0][0]), item[0][1])):
        digest = hashlib.sha256(f"{sorted(fields)}|{documents}".encode()).hexdigest()[:12]
        classes.append(AccessClass(f"c{digest}", frozenset(members), fields, documents))
    return classes


def _number_text(value: Any) -> str:
    number = Decimal(str(value))
    return format(number.normalize(), "f") if number == number.to_integral_value() else str(value)


def _people_value(value: Any) -> list[str]:
    """The name and e-mail of a party, or the address or number of an e-mail or phone field."""
    if isinstance(value, dict):
        return [str(value[part]) for part in ("name", "email") if value.get(part)]
    return [str(value)]


def field_texts(definition: FieldDefinition, value: Any) -> list[str]:
    """A field value as words: text as it is, numbers and money amounts as text, the labels of chosen options,
    a party's name and e-mail. Booleans and file ids say nothing a person would type."""
    if value is None or definition.type in (FieldType.BOOLEAN, FieldType.FILE):
        return []
    if definition.type is FieldType.NUMBER:
        return [_number_text(value)]
    if definition.type is FieldType.MONEY and isinstance(value, dict):
        return [f"{_number_text(value.get('amount'))} {value.get('currency', '')}".strip()]
    if definition.type is FieldType.MULTI_ENUM and isinstance(value, list):
        return [str(option) for option in value]
    if definition.type is FieldType.PARTY:
        return _people_value(value)
    return [str(value)]


@dataclass(frozen=True)
class Erasure:
    """The people whose personal data is erased on a case, and what identifies them in its values."""

    participant_ids: frozenset[str]
    names: frozenset[str]
    emails: frozenset[str]

    @classmethod
    def of(cls, participants: Iterable[Participant], erased: Iterable[str]) -> "Erasure":
        ids = frozenset(erased)
        people = [participant for participant in participants if participant.id in ids]
        return cls(
            participant_ids=ids,
            names=frozenset(p.name.casefold() for p in people if p.name),
            emails=frozenset(p.email.casefold() for p in people if p.email),
        )

    def names_someone(self, value: Any) -> bool:
        """Whether a people field's value (party, e-mail or phone) is about an erased person."""
        if not self.participant_ids:
            return False
        said = {part.casefold() for part in _people_value(value)}
        return bool(said & (self.names | self.emails))


PEOPLE_FIELD_TYPES = frozenset({FieldType.PARTY, FieldType.EMAIL, FieldType.PHONE})


def _field_texts(
    case: CaseSnapshot, template: TemplateDefinition, visible: frozenset[str] | None, erasure: Erasure
) -> Iterator[Text]:
    for definition in template.fields:
        value = case.fields.get(definition.key)
        if visible is not None and definition.key not in visible:
            continue
        if definition.type in PEOPLE_FIELD_TYPES and erasure.names_someone(value):
            continue
        for text in field_texts(definition, value):
            yield Text(Where.FIELD, definition.label, text)


def _shared_texts(
    case: CaseSnapshot, template: TemplateDefinition, comments: Iterable[SearchComment], erasure: Erasure
) -> list[Text]:
    """What every class sees: title, reference, the people taking part, comments and decisions."""
    texts = [
        Text(Where.TITLE, "Title", case.title),
        Text(Where.TITLE, "Reference", f"{case_reference(case.id)} {case.id[-8:]} {case.id}"),
    ]
    roles = {role.key: role.name for role in template.roles}
    for participant in case.participants:
        if participant.id in erasure.participant_ids:
            continue
        said = " ".join(part for part in (participant.name, participant.email) if part)
        if said:
            texts.append(Text(Where.PARTICIPANT, roles.get(participant.role, participant.role), said))
    for comment in sorted(comments, key=lambda each: (each.at, each.id)):
        if comment.author not in erasure.participant_ids:
            texts.append(Text(Where.COMMENT, "External comment" if comment.external else "Comment", comment.body))
    labels = {decision.key: decision.label for decision in template.decisions}
    for decision in case.decisions:
        said = f"{decision.outcome} {decision.rationale}" if decision.rationale else decision.outcome
        texts.append(Text(Where.DECISION, labels.get(decision.key, decision.key), said))
    return texts


def _document_texts(case: CaseSnapshot, template: TemplateDefinition, erasure: Erasure) -> list[Text]:
    names = {document.key: document.name for document in template.document_types}
    texts: list[Text] = []
    for document in case.documents:
        filenames = {v.filename for v in document.versions if v.uploaded_by not in erasure.participant_ids}
        texts.extend(Text(Where.DOCUMENT, names.get(document.type, document.type), name) for name in sorted(filenames))
    return texts


def render(
    case: CaseSnapshot,
    template: TemplateDefinition,
    comments: Iterable[SearchComment] = (),
    erased: Iterable[str] = (),
) -> list[SearchDocument]:
    """The case's documents, one per access class, each with only what its class may see."""
    erasure = Erasure.of(case.participants, erased)
    shared = _shared_texts(case, template, comments, erasure)
    documents = _document_texts(case, template, erasure)
    return [
        SearchDocument(
            case_id=case.id,
            access_class=access_class.key,
            readers=access_class.readers,
            template_key=case.template_key,
            template_version=case.template_version,
            title=case.title,
            stage=case.stage,
            status=case.status.value,
            owner=case.owner,
            created_at=case.created_at,
            updated_at=case.updated_at,
            stage_due_at=case.stage_due_at,
            texts=(
                *shared,
                *_field_texts(case, template, access_class.fields, erasure),
                *(documents if access_class.documents else ()),
            ),
        )
        for access_class in access_classes(template, case.participants)
    ]


# highlights

SNIPPET_CHARS = 160
HIGHLIGHTS_PER_HIT = 5


def highlight(text: Text, spans: Iterable[tuple[int, int]], width: int = SNIPPET_CHARS) -> Highlight | None:
    """The text around its matches (character spans), cut to about `width` characters around the first one;
    None when nothing in it matched."""
    ordered = sorted(set(spans))
    if not ordered:
        return None
    start = 0
    if len(text.text) > width:
        start = max(0, min(ordered[0][0] - width // 4, len(text.text) - width))
    end = min(len(text.text), start + width)
    parts: list[HighlightPart] = []
    cursor = start
    for begin, finish in ordered:
        begin, finish = max(begin, cursor), min(finish, end)
        if begin >= finish:
            continue
        if begin > cursor:
            parts.append(HighlightPart(text.text[cursor:begin], False))
        parts.append(HighlightPart(text.text[begin:finish], True))
        cursor = finish
    if cursor < end:
        parts.append(HighlightPart(text.text[cursor:end], False))
    if start > 0:
        parts.insert(0, HighlightPart("…", False))
    if end < len(text.text):
        parts.append(HighlightPart("…", False))
    return Highlight(text.where, text.label, tuple(parts))
