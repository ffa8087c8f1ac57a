"""The people on a case: internal participants (staff, by user id) and external ones (by name and e-mail)."""

from caseline_common.contracts import Key, Language, Participant, ParticipantKind, Permission
from caseline_common.errors import ConflictError, NotFoundError
from caseline_common.events import EventType
from pydantic import ConfigDict, Field

from .work import MAX_PARTICIPANTS, CaseWork, Change, Email, PersonName, Request, Subject, issue


class AddParticipantRequest(Request):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "external",
                    "role": "claimant",
                    "name": "Jonas Becker",
                    "email": "jonas.becker@example.org",
                    "language": "de",
                }
            ]
        }
    )

    kind: ParticipantKind
    role: Key
    user_id: Subject | None = None
    name: PersonName | None = None
    email: Email | None = None
    language: Language | None = Field(
        default=None,
        description="For an external participant: the language the portal and its e-mails speak to them in; "
        "absent or null, their browser's.",
    )


class ChangeLanguageRequest(Request):
    model_config = ConfigDict(json_schema_extra={"examples": [{"language": "de"}, {"language": None}]})

    language: Language | None = Field(description="The language to speak to them in; null: their browser's.")


class ChangeRoleRequest(Request):
    model_config = ConfigDict(json_schema_extra={"examples": [{"role": "claims_handler"}]})

    role: Key


def _participant_by_id(work: CaseWork, participant_id: str) -> Participant:
    for participant in work.case.participants:
        if participant.id == participant_id:
            return participant
    raise NotFoundError(f"No participant {participant_id} on this case.")


def add_participant(work: CaseWork, request: AddParticipantRequest) -> Change:
    work.access.require(Permission.PARTICIPANT_MANAGE, "manage participants")
    work.require_open()
    if work.role_kind(request.role).value != request.kind.value:
        raise issue("/role", f'role "{request.role}" is for {work.role_kind(request.role).value} participants')
    if len(work.case.participants) >= MAX_PARTICIPANTS:
        raise ConflictError(f"A case holds at most {MAX_PARTICIPANTS} participants.", current_version=work.case.version)
    if request.kind is ParticipantKind.INTERNAL:
        if request.user_id is None or request.name or request.email:
            raise issue("/user_id", "an internal participant is named by user_id alone")
        if request.language is not None:
            raise issue("/language", "only an external participant is given a language: staff choose their own")
        if any(p.user_id == request.user_id for p in work.case.participants):
            raise ConflictError(
                "That person already participates; change their role instead.", current_version=work.case.version
            )
        participant = work.new_participant(request.kind, request.role, user_id=request.user_id)
        data = {
            "participant_id": participant.id,
            "kind": "internal",
            "role": request.role,
            "user_id": request.user_id,
        }
        return work.change(EventType.PARTICIPANT_ADDED, data, participants=[*work.case.participants, participant])
    if request.user_id is not None or not request.name or not request.email:
        raise issue("/email", "an external participant needs a name and an e-mail address, and no user_id")
    participant = work.new_participant(
        request.kind, request.role, name=request.name, email=request.email, language=request.language
    )
    return work.change(
        EventType.PARTICIPANT_ADDED,
        {"participant_id": participant.id, "kind": "external", "role": request.role, "language": request.language},
        personal={"name": request.name, "email": request.email},
        subjects=[participant.id],
        participants=[*work.case.participants, participant],
    )


def change_participant_role(work: CaseWork, participant_id: str, request: ChangeRoleRequest) -> Change:
    work.access.require(Permission.PARTICIPANT_MANAGE, "manage participants")
    work.require_open()
    participant = _participant_by_id(work, participant_id)
    if work.role_kind(request.role).value != participant.kind.value:
        raise issue("/role", f'role "{request.role}" is not for {participant.kind.value} participants')
    if participant.role == request.role:
        raise issue("/role", "the participant already holds that role")
    changed = participant.model_copy(update={"role": request.role})
    return work.change(
        EventType.PARTICIPANT_ROLE_CHANGED,
        {"participant_id": participant.id, "before": participant.role, "after": request.role},
        participants=[changed if p.id == participant.id else p for p in work.case.participants],
    )


def change_participant_language(work: CaseWork, participant_id: str, request: ChangeLanguageRequest) -> Change:
    work.access.require(Permission.PARTICIPANT_MANAGE, "manage participants")
    work.require_open()
    participant = _participant_by_id(work, participant_id)
    if participant.kind is not ParticipantKind.EXTERNAL:
        raise issue("/language", "only an external participant is given a language: staff choose their own")
    if participant.language == request.language:
        raise issue("/language", "the participant is spoken to in that language already")
    changed = participant.model_copy(update={"language": request.language})
    return work.change(
        EventType.PARTICIPANT_LANGUAGE_CHANGED,
        {"participant_id": participant.id, "before": participant.language, "after": request.language},
        participants=[changed if p.id == participant.id else p for p in work.case.participants],
    )


def remove_participant(work: CaseWork, participant_id: str) -> Change:
    work.access.require(Permission.PARTICIPANT_MANAGE, "manage participants")
    work.require_open()
    participant = _participant_by_id(work, participant_id)
    if participant.user_id == work.case.owner:
        raise ConflictError(
            "The owner cannot be removed; assign the case to someone else first.", current_version=work.case.version
        )
    return work.change(
        EventType.PARTICIPANT_REMOVED,
        {"participant_id": participant.id, "kind": participant.kind.value, "role": participant.role},
        participants=[p for p in work.case.participants if p.id != participant.id],
    )
