"""What the automations service keeps of each case to decide who may read its runs.

Learnt from the case each event carries: the template the case is pinned to and its staff participants, at the
case version that set them. Events arrive at least once and in any order, so only a newer version replaces the
record (the store's conditional write); names and e-mails are not kept, access needs only roles and subjects.
"""

from caseline_common.contracts import CaseSnapshot, Participant, ParticipantKind
from pydantic import BaseModel, ConfigDict


class CaseMembers(BaseModel):
    model_config = ConfigDict(defer_build=True)

    case_id: str
    template_key: str
    template_version: int
    version: int
    participants: list[Participant]

    @classmethod
    def of(cls, case: CaseSnapshot) -> "CaseMembers":
        return cls(
            case_id=case.id,
            template_key=case.template_key,
            template_version=case.template_version,
            version=case.version,
            # staff hold roles through participation; externals never read runs
            participants=[
                participant.model_copy(update={"name": None, "email": None})
                for participant in case.participants
                if participant.kind is ParticipantKind.INTERNAL
            ],
        )
