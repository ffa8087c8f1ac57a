"""The timeline's hash chain: canonical form, links, personal data kept out of the hash, and verification."""

import hashlib
import json
from typing import Any

import pytest
import rfc8785
from caseline_common.chain import (
    GENESIS_HASH,
    Anchor,
    Link,
    canonical,
    chain_hash,
    link_event,
    new_salt,
    personal_digest,
    split_personal,
    verify_chain,
)
from caseline_common.envelope import Actor, ActorKind, EventEnvelope, Visibility
from chains import T0, case_event, chain_of
from pydantic import ValidationError

SALT = "5a" * 16


def event(*, event_type: str = "case.stage_changed", **changes: Any) -> EventEnvelope:
    return case_event(event_type, **changes)


def five_links() -> list[Link]:
    return chain_of(
        [
            event(event_type="case.opened", data={"title": "Train to Leeds"}),
            event(personal={"email": "pat@example.org"}, subjects=["person-1"]),
            event(actor=Actor(kind=ActorKind.AUTOMATION, id="rule-1"), data={"stage": "approved"}),
            event(data={"amount": 1.5, "note": "ünïcødé"}, visibility=Visibility.EXTERNAL),
            event(event_type="case.closed"),
        ]
    )


def anchor_at(link: Link, *, hash: str | None = None) -> Anchor:
    return Anchor(case_id="case-1", seq=link.seq, hash=hash or link.hash, anchored_at=T0)


def rechained(links: list[Link]) -> list[Link]:
    """What an attacker who edited records would do next: recompute every hash from the genesis on."""
    fixed: list[Link] = []
    previous = GENESIS_HASH
    for link in links:
        fixed.append(link.model_copy(update={"prev_hash": previous, "hash": chain_hash(previous, link.record)}))
        previous = fixed[-1].hash
    return fixed


# Canonical form (RFC 8785)


def test_the_canonical_form_sorts_keys_and_drops_whitespace() -> None:
    assert canonical({"b": 1, "a": [1.5, "x"]}) == b'{"a":[1.5,"x"],"b":1}'
    assert canonical({"z": {"y": None, "x": True}, "a": []}) == b'{"a":[],"z":{"x":true,"y":null}}'


def test_the_canonical_form_writes_numbers_the_ecmascript_way() -> None:
    assert canonical([1.0, -0.0, 1e21, 1e-7, 0.1, 100]) == b"[1,0,1e+21,1e-7,0.1,100]"


def test_the_canonical_form_keeps_unicode_as_utf8_and_escapes_only_what_json_must() -> None:
    assert canonical({"s": 'é"\\\n\x0f/'}) == '{"s":"é\\"\\\\\\n\\u000f/"}'.encode()


def test_the_canonical_form_sorts_keys_by_utf16_code_units() -> None:
    # U+1F600 is the surrogate pair D83D DE00, so it sorts before U+FB01 although its code point is larger.
    assert canonical({"\ufb01": 1, "\U0001f600": 2}) == '{"\U0001f600":2,"\ufb01":1}'.encode()


def test_the_canonical_form_refuses_what_json_numbers_cannot_hold() -> None:
    with pytest.raises(rfc8785.IntegerDomainError):
        canonical({"n": 2**60})
    with pytest.raises(rfc8785.FloatDomainError):
        canonical({"n": float("nan")})


# Hashes, digests, salts


def test_the_genesis_hash_is_32_zero_bytes() -> None:
    assert bytes.fromhex(GENESIS_HASH) == bytes(32)


def test_a_chain_hash_covers_the_previous_hash_and_the_canonical_record() -> None:
    record = {"seq": 1, "case_id": "case-1"}

    expected = hashlib.sha256(bytes(32) + b'{"case_id":"case-1","seq":1}').hexdigest()

    assert chain_hash(GENESIS_HASH, record) == expected
    assert chain_hash("11" * 32, record) != expected
    assert chain_hash(GENESIS_HASH, {"seq": 2, "case_id": "case-1"}) != expected


def test_a_personal_digest_is_salted() -> None:
    personal = {"data": {"email": "pat@example.org"}}

    assert personal_digest(SALT, personal) == hashlib.sha256(bytes.fromhex(SALT) + canonical(personal)).hexdigest()
    assert personal_digest("a5" * 16, personal) != personal_digest(SALT, personal)
    assert personal_digest(SALT, {"data": {"email": "sam@example.org"}}) != personal_digest(SALT, personal)


def test_salts_are_random_16_byte_hex() -> None:
    salts = {new_salt() for _ in range(20)}

    assert len(salts) == 20
    assert all(len(bytes.fromhex(salt)) == 16 for salt in salts)


# Links


def test_the_first_link_chains_to_the_genesis_hash() -> None:
    opened = event(event_type="case.opened", personal={"email": "pat@example.org"}, subjects=["person-1"])

    link = link_event(case_id="case-1", seq=1, previous_hash=GENESIS_HASH, event=opened, recorded_at=T0, salt=SALT)

    public = opened.model_dump(mode="json", exclude={"personal"})
    public["actor"].pop("display_name")
    assert link.seq == 1
    assert link.prev_hash == GENESIS_HASH
    assert link.record == {
        "case_id": "case-1",
        "seq": 1,
        "recorded_at": "2025-03-14T09:30:00+00:00",
        "event": public,
        "personal_digest": personal_digest(
            SALT, {"data": {"email": "pat@example.org"}, "actor_display_name": "Ann Example"}
        ),
    }
    assert link.hash == chain_hash(GENESIS_HASH, link.record)
    assert link.personal == {"data": {"email": "pat@example.org"}, "actor_display_name": "Ann Example"}
    assert link.salt == SALT


def test_personal_data_never_reaches_the_hashed_record() -> None:
    link = link_event(
        case_id="case-1",
        seq=1,
        previous_hash=GENESIS_HASH,
        event=event(personal={"email": "pat@example.org", "phone": "+44 20 7946 0000"}, subjects=["person-1"]),
        recorded_at=T0,
        salt=SALT,
    )

    hashed = canonical(link.record)
    for secret in (b"Ann Example", b"pat@example.org", b"7946", b"display_name"):
        assert secret not in hashed
    assert link.record["event"]["subjects"] == ["person-1"]  # ids only, so erasure can find the links
    assert "personal" not in link.record["event"]


def test_a_link_without_personal_data_has_no_digest_and_no_salt() -> None:
    bot = event(actor=Actor(kind=ActorKind.AUTOMATION, id="rule-1"))

    link = link_event(case_id="case-1", seq=1, previous_hash=GENESIS_HASH, event=bot, recorded_at=T0, salt=SALT)

    assert link.record["personal_digest"] is None
    assert link.personal is None
    assert link.salt is None
    assert split_personal(bot)[1] == {}


@pytest.mark.parametrize(
    "original",
    [
        event(personal={"email": "pat@example.org", "nested": {"list": [1, "two", None]}}, subjects=["p-1", "p-2"]),
        event(actor=Actor(kind=ActorKind.SYSTEM, id="timeline")),
        event(actor=Actor(kind=ActorKind.EXTERNAL, id="person-1", display_name="Pat")),
        event(actor=Actor(kind=ActorKind.USER, id="user-2", display_name="")),
        event(personal={"email": "pat@example.org"}, actor=Actor(kind=ActorKind.AUTOMATION, id="rule-1")),
        event(data={"amount": 1.5, "when": "2025-03-14"}, visibility=Visibility.EXTERNAL, subjects=["p-1"]),
    ],
    ids=["personal-and-name", "no-personal", "external-actor", "empty-name", "personal-no-name", "data-only"],
)
def test_a_link_gives_back_the_event_exactly_as_it_was_sent(original: EventEnvelope) -> None:
    link = link_event(case_id="case-1", seq=7, previous_hash="ab" * 32, event=original, recorded_at=T0, salt=SALT)
    stored = Link.model_validate_json(link.model_dump_json())

    assert link.event() == original
    assert stored.event() == original
    assert stored == link


def test_a_link_is_immutable() -> None:
    [link] = chain_of([event()])

    with pytest.raises(ValidationError):
        link.hash = GENESIS_HASH  # type: ignore[misc]


def test_an_erased_link_gives_back_the_event_without_personal_data() -> None:
    [link] = chain_of([event(personal={"email": "pat@example.org"}, subjects=["person-1"])])

    erased = link.model_copy(update={"personal": None, "salt": None}).event()

    assert erased.personal == {}
    assert erased.actor == Actor(kind=ActorKind.USER, id="user-1")
    assert erased.subjects == ["person-1"]
    assert erased.data == link.event().data


# Verification


def test_a_valid_chain_reports_its_length_and_head() -> None:
    links = five_links()

    result = verify_chain(links)

    assert result.valid
    assert result.length == 5
    assert result.head_hash == links[-1].hash
    assert result.first_bad_seq is None
    assert result.reason is None
    assert [link.seq for link in links] == [1, 2, 3, 4, 5]
    assert [link.prev_hash for link in links] == [GENESIS_HASH, *(link.hash for link in links[:-1])]


def test_an_empty_chain_is_valid_and_ends_at_the_genesis_hash() -> None:
    result = verify_chain([])

    assert result.valid
    assert result.length == 0
    assert result.head_hash == GENESIS_HASH


def test_a_chain_survives_a_round_trip_through_json() -> None:
    links = [Link.model_validate(json.loads(link.model_dump_json())) for link in five_links()]

    assert verify_chain(links).valid


@pytest.mark.parametrize("seq", [1, 3, 5])
def test_an_edited_record_is_caught_at_its_sequence_number(seq: int) -> None:
    links = five_links()
    original = links[seq - 1]
    edited_event = {**original.record["event"], "data": {"amount": 1_000_000}}
    links[seq - 1] = original.model_copy(update={"record": {**original.record, "event": edited_event}})

    result = verify_chain(links)

    assert not result.valid
    assert result.first_bad_seq == seq
    assert result.length == seq - 1
    assert result.head_hash == (links[seq - 2].hash if seq > 1 else GENESIS_HASH)
    assert result.reason == "the hash does not match the record"


def test_an_edited_recorded_at_is_caught() -> None:
    links = five_links()
    links[1] = links[1].model_copy(update={"record": {**links[1].record, "recorded_at": T0.isoformat()}})

    assert verify_chain(links).first_bad_seq == 2


def test_an_edited_hash_is_caught() -> None:
    links = five_links()
    links[2] = links[2].model_copy(update={"hash": "f" * 64})

    result = verify_chain(links)

    assert not result.valid
    assert result.first_bad_seq == 3
    assert result.reason == "the hash does not match the record"


def test_an_edited_last_hash_is_caught() -> None:
    links = five_links()
    links[4] = links[4].model_copy(update={"hash": chain_hash(GENESIS_HASH, links[4].record)})

    assert verify_chain(links).first_bad_seq == 5


def test_an_edited_previous_hash_is_caught() -> None:
    links = five_links()
    links[3] = links[3].model_copy(update={"prev_hash": links[1].hash})

    result = verify_chain(links)

    assert not result.valid
    assert result.first_bad_seq == 4
    assert result.length == 3
    assert result.reason == "the previous hash does not match the preceding link"


def test_a_missing_link_in_the_middle_is_a_gap() -> None:
    links = five_links()
    del links[2]

    result = verify_chain(links)

    assert not result.valid
    assert result.first_bad_seq == 3
    assert result.length == 2
    assert result.reason == "expected sequence number 3, found 4"


def test_a_missing_first_link_is_caught() -> None:
    assert verify_chain(five_links()[1:]).first_bad_seq == 1


def test_two_swapped_links_are_caught() -> None:
    links = five_links()
    links[1], links[2] = links[2], links[1]

    result = verify_chain(links)

    assert not result.valid
    assert result.first_bad_seq == 2
    assert result.reason == "expected sequence number 2, found 3"


def test_swapped_links_with_renumbered_records_are_caught() -> None:
    links = five_links()
    second, third = links[1], links[2]
    links[1] = third.model_copy(update={"record": {**third.record, "seq": 2}})
    links[2] = second.model_copy(update={"record": {**second.record, "seq": 3}})

    result = verify_chain(links)

    assert not result.valid
    assert result.first_bad_seq == 2


def test_a_duplicated_link_is_caught() -> None:
    links = five_links()
    links.insert(2, links[1])

    assert verify_chain(links).first_bad_seq == 3


def test_a_truncated_tail_passes_without_an_anchor() -> None:
    links = five_links()

    result = verify_chain(links[:3])

    assert result.valid
    assert result.length == 3
    assert result.head_hash == links[2].hash


def test_a_truncated_tail_is_caught_by_an_anchor_beyond_the_end() -> None:
    links = five_links()

    result = verify_chain(links[:3], anchor_at(links[4]))

    assert not result.valid
    assert result.first_bad_seq == 4
    assert result.length == 3
    assert result.reason == "the chain ends before its anchor at sequence number 5"
    assert result.anchor == anchor_at(links[4])


def test_an_anchor_inside_the_chain_is_checked_and_reported() -> None:
    links = five_links()

    result = verify_chain(links, anchor_at(links[2]))

    assert result.valid
    assert result.length == 5
    assert result.anchor == anchor_at(links[2])


def test_a_link_that_differs_from_its_anchor_is_caught() -> None:
    links = five_links()

    result = verify_chain(links, anchor_at(links[2], hash="e" * 64))

    assert not result.valid
    assert result.first_bad_seq == 3
    assert result.reason == "the link differs from its anchor"


def test_a_consistently_rechained_edit_passes_alone_but_not_against_an_anchor() -> None:
    links = five_links()
    anchor = anchor_at(links[-1])
    edited = links[1].model_copy(update={"record": {**links[1].record, "recorded_at": "2020-01-01T00:00:00+00:00"}})
    forged = rechained([*links[:1], edited, *links[2:]])

    assert verify_chain(forged).valid  # which is why heads are anchored
    result = verify_chain(forged, anchor)
    assert not result.valid
    assert result.first_bad_seq == 5
    assert result.reason == "the link differs from its anchor"


def test_tampered_personal_data_is_caught_by_its_digest() -> None:
    links = five_links()
    original = links[1]
    assert original.personal is not None
    links[1] = original.model_copy(update={"personal": {**original.personal, "actor_display_name": "Mallory"}})

    result = verify_chain(links)

    assert not result.valid
    assert result.first_bad_seq == 2
    assert result.reason == "the personal data does not match its digest"


def test_a_changed_salt_is_caught() -> None:
    links = five_links()
    links[1] = links[1].model_copy(update={"salt": "00" * 16})

    assert verify_chain(links).first_bad_seq == 2


def test_personal_data_without_its_salt_is_caught() -> None:
    links = five_links()
    links[1] = links[1].model_copy(update={"salt": None})

    assert verify_chain(links).reason == "the personal data does not match its digest"


def test_personal_data_added_to_a_link_that_had_none_is_caught() -> None:
    links = five_links()
    assert links[2].personal is None
    links[2] = links[2].model_copy(update={"personal": {"actor_display_name": "Mallory"}, "salt": SALT})

    result = verify_chain(links)

    assert not result.valid
    assert result.first_bad_seq == 3


def test_erased_personal_data_still_verifies() -> None:
    links = five_links()
    anchor = anchor_at(links[-1])
    erased = [link.model_copy(update={"personal": None, "salt": None}) for link in links]

    result = verify_chain(erased, anchor)

    assert result.valid
    assert result.length == 5
    assert result.head_hash == links[-1].hash
    assert [link.hash for link in erased] == [link.hash for link in links]


def test_an_anchor_needs_a_positive_sequence_number() -> None:
    with pytest.raises(ValidationError):
        Anchor(case_id="case-1", seq=0, hash=GENESIS_HASH, anchored_at=T0)
