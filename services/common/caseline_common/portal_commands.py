"""What an external participant asks of the cases service through the portal: commands on the tenant bus.

The portal never writes the cases table. It publishes one of these (source `caseline-command.portal`,
actor the external participant); the cases service applies it with that participant's rights, exactly once.
"""

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from . import formats
from .text import MULTI_LINE


class PortalCommand(StrEnum):
    POST_MESSAGE = "portal.message_posted"
    SUBMIT_FIELDS = "portal.fields_submitted"
    CONFIRM_UPLOAD = "portal.document_uploaded"
    COMPLETE_TASK = "portal.task_completed"


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class PostMessage(_Command):
    body: Annotated[str, Field(min_length=1, max_length=10_000), MULTI_LINE]


class SubmitFields(_Command):
    fields: dict[str, Any] = Field(min_length=1, max_length=500)


class ConfirmUpload(_Command):
    upload_id: str = Field(pattern=formats.ULID)


class CompleteTask(_Command):
    """A task of the participant's role marked done."""

    task_id: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")
