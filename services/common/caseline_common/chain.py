"""The timeline's hash chain, as a third party re-verifies it (see docs/timeline.md).

Each link covers a *record*: the case id, the sequence number, the time the timeline recorded it, the event
without its personal data, and a salted digest of that personal data. Then

    hash(n) = SHA-256( bytes(hash(n-1)) || JCS(record(n)) ),   hash(0) = 32 zero bytes,

with JCS the JSON Canonicalization Scheme of RFC 8785. Erasing a person deletes the personal payload and its
salt; the record, and so every hash, stays as it was.
"""

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import rfc8785
from pydantic import BaseModel, ConfigDict, Field

from .envelope import EventEnvelope

GENESIS_HASH = "0" * 64
HASH_ALGORITHM = "SHA-256"
CANONICALIZATION = "RFC 8785"


def canonical(value: Any) -> bytes:
    return rfc8785.dumps(value)


def chain_hash(previous_hash: str, record: dict[str, Any]) -> str:
    return hashlib.sha256(bytes.fromhex(previous_hash) + canonical(record)).hexdigest()


def personal_digest(salt: str, personal: dict[str, Any]) -> str:
    """Salted, so an erased person's data cannot be confirmed by guessing it and hashing the guess."""
    return hashlib.sha256(bytes.fromhex(salt) + canonical(personal)).hexdigest()


def new_salt() -> str:
    return secrets.token_hex(16)


class Link(BaseModel):
    """One entry of a case's chain, as stored and exported."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    record: dict[str, Any] = Field(description="What the hash covers.")
    hash: str
    prev_hash: str
    personal: dict[str, Any] | None = Field(default=None, description="Absent once erased.")
    salt: str | None = None

    @property
    def seq(self) -> int:
        return int(self.record["seq"])

    def event(self) -> EventEnvelope:
        """The event as it was sent, with its personal data if it has not been erased."""
        public = dict(self.record["event"])
        personal = self.personal or {}
        actor = {**public["actor"], "display_name": personal.get("actor_display_name")}
        return EventEnvelope.model_validate({**public, "actor": actor, "personal": personal.get("data", {})})


def split_personal(event: EventEnvelope) -> tuple[dict[str, Any], dict[str, Any]]:
    """The event without personal data (what the hash covers) and the personal data (what erasure removes)."""
    public = event.model_dump(mode="json", exclude={"personal"})
    display_name = public["actor"].pop("display_name", None)
    personal: dict[str, Any] = {}
    if event.personal:
        personal["data"] = event.model_dump(mode="json")["personal"]
    if display_name is not None:  # "" too, so that Link.event() gives back the event as sent
        personal["actor_display_name"] = display_name
    return public, personal


def link_event(
    *, case_id: str, seq: int, previous_hash: str, event: EventEnvelope, recorded_at: datetime, salt: str
) -> Link:
    public, personal = split_personal(event)
    record = {
        "case_id": case_id,
        "seq": seq,
        "recorded_at": recorded_at.isoformat(),
        "event": public,
        "personal_digest": personal_digest(salt, personal) if personal else None,
    }
    return Link(
        record=record,
        hash=chain_hash(previous_hash, record),
        prev_hash=previous_hash,
        personal=personal or None,
        salt=salt if personal else None,
    )


class Anchor(BaseModel):
    """A head hash written where it cannot be rewritten (S3 Object Lock)."""

    model_config = ConfigDict(defer_build=True)

    case_id: str
    seq: int = Field(ge=1)
    hash: str
    anchored_at: datetime


class Verification(BaseModel):
    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={
            "examples": [
                {
                    "valid": True,
                    "length": 11,
                    "head_hash": "54640e3fba01fe308c83b036f05c7cc8168bfa1b6694bad22eef610e7d15ee68",
                    "first_bad_seq": None,
                    "reason": None,
                    "anchor": {
                        "case_id": "01JF3Z8Q4V6W7X8Y9Z0A1B2C3D",
                        "seq": 11,
                        "hash": "54640e3fba01fe308c83b036f05c7cc8168bfa1b6694bad22eef610e7d15ee68",
                        "anchored_at": "2027-01-04T09:00:03.412000Z",
                    },
                }
            ]
        },
    )

    valid: bool
    length: int = Field(description="Links that verified before the first bad one (all of them if valid).")
    head_hash: str
    first_bad_seq: int | None = None
    reason: str | None = None
    anchor: Anchor | None = None


def verify_chain(links: Iterable[Link], anchor: Anchor | None = None) -> Verification:
    """Recomputes every hash in sequence order; catches edits, gaps, reordering and (with an anchor)
    a truncated tail."""
    previous_hash, expected_seq = GENESIS_HASH, 1
    anchored_hash: str | None = None

    def invalid(seq: int, reason: str) -> Verification:
        return Verification(
            valid=False,
            length=expected_seq - 1,
            head_hash=previous_hash,
            first_bad_seq=seq,
            reason=reason,
            anchor=anchor,
        )

    for link in links:
        if link.seq != expected_seq:
            return invalid(expected_seq, f"expected sequence number {expected_seq}, found {link.seq}")
        if link.prev_hash != previous_hash:
            return invalid(link.seq, "the previous hash does not match the preceding link")
        if chain_hash(previous_hash, link.record) != link.hash:
            return invalid(link.seq, "the hash does not match the record")
        if link.personal is not None and (
            link.salt is None or personal_digest(link.salt, link.personal) != link.record.get("personal_digest")
        ):
            return invalid(link.seq, "the personal data does not match its digest")
        if anchor is not None and link.seq == anchor.seq:
            anchored_hash = link.hash
        previous_hash, expected_seq = link.hash, expected_seq + 1
    if anchor is not None:
        if anchored_hash is None:
            return invalid(expected_seq, f"the chain ends before its anchor at sequence number {anchor.seq}")
        if anchored_hash != anchor.hash:
            return invalid(anchor.seq, "the link differs from its anchor")
    return Verification(valid=True, length=expected_seq - 1, head_hash=previous_hash, anchor=anchor)
