"""Signed export bundles: what they hold, and that any change to them fails offline verification."""

import base64
import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from caseline_common.bundle import (
    BUNDLE_FORMAT,
    EVENTS_FILE,
    HISTORY_FILE,
    MANIFEST_FILE,
    SIGNATURE_FILE,
    build_bundle,
    signed_statement,
    verify_bundle,
)
from caseline_common.chain import GENESIS_HASH, Anchor, Link, chain_hash
from caseline_common.envelope import Actor, ActorKind, EventEnvelope, Visibility
from chains import T0, chain_of
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

FILE_NAMES = [MANIFEST_FILE, SIGNATURE_FILE, EVENTS_FILE, HISTORY_FILE]
HISTORY = "<!doctype html><p>History of case-1</p>\n"
ECDSA = ec.ECDSA(hashes.SHA256())

KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_KEY = ec.generate_private_key(ec.SECP256R1())


def pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


PUBLIC_PEM = pem(KEY)


def signer(key: ec.EllipticCurvePrivateKey = KEY) -> Callable[[bytes], bytes]:
    return lambda message: key.sign(message, ECDSA)


def padded_signer(message: bytes) -> bytes:
    """Signs until the DER signature's length is not a multiple of 3, so its base64 form ends in padding and
    its last character has unused bits (ECDSA signatures are 70 to 72 bytes, so this takes a few tries)."""
    while len(signature := KEY.sign(message, ECDSA)) % 3 == 0:
        pass
    return signature


def event(event_type: str, **changes: Any) -> EventEnvelope:
    fields: dict[str, Any] = {
        "tenant_id": "acme",
        "case_id": "case-1",
        "type": event_type,
        "actor": Actor(kind=ActorKind.USER, id="user-1", display_name="Ann Example"),
        "correlation_id": "corr-1",
        "occurred_at": T0,
    }
    fields.update(changes)
    return EventEnvelope.new(**fields)


def chain(case_id: str = "case-1") -> list[Link]:
    events = [
        event("case.opened", data={"title": "Train to Leeds", "amount": 12.5}),
        event("case.comment_added", personal={"email": "pat@example.org"}, subjects=["person-1"]),
        event("case.closed", visibility=Visibility.EXTERNAL, actor=Actor(kind=ActorKind.SYSTEM, id="cases")),
    ]
    return chain_of(events, case_id)


def bundle(
    links: list[Link] | None = None,
    *,
    case_id: str = "case-1",
    sign: Callable[[bytes], bytes] | None = None,
) -> bytes:
    return build_bundle(
        tenant_id="acme",
        case_id=case_id,
        links=chain() if links is None else links,
        history_html=HISTORY,
        exported_at=T0 + timedelta(days=1),
        key_id="alias/caseline-acme-timeline-signing",
        sign=sign or signer(),
    )


def files_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def flipped(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


def events_jsonl(links: list[Link]) -> bytes:
    return "".join(link.model_dump_json() + "\n" for link in links).encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# What a bundle holds


def test_a_bundle_verifies_with_the_signers_public_key() -> None:
    links = chain()

    result = verify_bundle(bundle(links), PUBLIC_PEM)

    assert result.valid, result.problems
    assert result.problems == []
    assert result.case_id == "case-1"
    assert result.length == 3
    assert result.head_hash == links[-1].hash


def test_a_bundle_holds_the_manifest_its_signature_the_links_and_the_history() -> None:
    links = chain()

    files = files_of(bundle(links))

    assert list(files) == FILE_NAMES
    manifest = json.loads(files[MANIFEST_FILE])
    assert manifest == {
        "format": BUNDLE_FORMAT,
        "tenant_id": "acme",
        "case_id": "case-1",
        "exported_at": "2025-03-15T09:30:00+00:00",
        "canonicalization": "RFC 8785",
        "hash_algorithm": "SHA-256",
        "genesis_hash": GENESIS_HASH,
        "length": 3,
        "head_hash": links[-1].hash,
        "entries": [{"seq": link.seq, "hash": link.hash} for link in links],
        "files": {EVENTS_FILE: sha256(files[EVENTS_FILE]), HISTORY_FILE: sha256(files[HISTORY_FILE])},
        "signing": {"algorithm": "ECDSA_SHA_256", "key_id": "alias/caseline-acme-timeline-signing"},
        "anchor": None,
    }
    assert [Link.model_validate_json(line) for line in files[EVENTS_FILE].splitlines()] == links
    assert files[HISTORY_FILE].decode() == HISTORY


def test_the_signature_covers_a_short_statement_of_the_manifests_canonical_digest() -> None:
    files = files_of(bundle())
    manifest = json.loads(files[MANIFEST_FILE])
    canonical_manifest = json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    statement = signed_statement(manifest)

    assert json.loads(statement) == {"format": BUNDLE_FORMAT, "manifest_sha256": sha256(canonical_manifest)}
    KEY.public_key().verify(base64.b64decode(files[SIGNATURE_FILE]), statement, ECDSA)  # raises if not


def test_the_same_export_gives_the_same_bytes() -> None:
    def fixed(message: bytes) -> bytes:
        return b"not-a-signature"

    links = chain()

    assert bundle(links, sign=fixed) == bundle(links, sign=fixed)


def test_personal_data_travels_in_the_bundle_until_it_is_erased() -> None:
    links = chain()
    erased = [link.model_copy(update={"personal": None, "salt": None}) for link in links]

    assert b"pat@example.org" in files_of(bundle(links))[EVENTS_FILE]
    erased_bundle = bundle(erased)
    assert b"pat@example.org" not in files_of(erased_bundle)[EVENTS_FILE]
    assert verify_bundle(erased_bundle, PUBLIC_PEM).valid


def test_an_empty_timeline_makes_a_valid_bundle_at_the_genesis_hash() -> None:
    result = verify_bundle(bundle([]), PUBLIC_PEM)

    assert result.valid
    assert result.length == 0
    assert result.head_hash == GENESIS_HASH


# Any change is caught


@pytest.fixture(scope="module")
def padded_bundle() -> bytes:
    data = bundle(sign=padded_signer)
    assert files_of(data)[SIGNATURE_FILE].endswith(b"=")
    assert verify_bundle(data, PUBLIC_PEM).valid
    return data


@pytest.mark.parametrize("name", FILE_NAMES)
def test_flipping_any_one_byte_of_any_file_is_caught(padded_bundle: bytes, name: str) -> None:
    files = files_of(padded_bundle)
    content = files[name]
    accepted = []

    for position in range(len(content)):
        result = verify_bundle(zip_of({**files, name: flipped(content, position)}), PUBLIC_PEM)
        if result.valid or not result.problems:
            accepted.append(position)

    assert len(content) > 30
    assert accepted == []


def test_changing_unused_bits_of_the_signatures_last_base64_character_is_caught(padded_bundle: bytes) -> None:
    files = files_of(padded_bundle)
    encoded = files[SIGNATURE_FILE]
    body = encoded.rstrip(b"=")
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet.index(body[-1:])
    neighbour = alphabet[last ^ 1 : (last ^ 1) + 1]  # differs only in the lowest, unused, bit
    forged = body[:-1] + neighbour + encoded[len(body) :]
    assert base64.b64decode(forged) == base64.b64decode(encoded)

    result = verify_bundle(zip_of({**files, SIGNATURE_FILE: forged}), PUBLIC_PEM)

    assert not result.valid
    assert result.problems == ["the manifest's signature does not verify with this public key"]


def test_flipping_any_one_byte_of_the_zip_is_caught_unless_only_zip_metadata_changed(padded_bundle: bytes) -> None:
    original = files_of(padded_bundle)
    rejected, metadata_only = 0, 0

    for position in range(len(padded_bundle)):
        tampered = flipped(padded_bundle, position)
        result = verify_bundle(tampered, PUBLIC_PEM)
        if not result.valid:
            assert result.problems
            rejected += 1
            continue
        # Timestamps, attributes and the like are outside the signed content: the files must be untouched.
        assert files_of(tampered) == original, f"byte {position} changed the content and still verified"
        metadata_only += 1

    assert rejected > len(padded_bundle) * 0.8
    assert rejected + metadata_only == len(padded_bundle)


def test_a_corrupt_zip_header_is_reported_not_raised() -> None:
    data = bundle()
    flags = data.index(b"PK\x01\x02") + 8  # the general purpose flags of the first central directory entry
    encrypted = data[:flags] + bytes([data[flags] | 0x01]) + data[flags + 1 :]
    method = flags + 2
    unknown_method = data[:method] + b"\x63\x00" + data[method + 2 :]

    for tampered in (encrypted, unknown_method, data[: len(data) // 2]):
        result = verify_bundle(tampered, PUBLIC_PEM)
        assert not result.valid
        assert result.problems[0].startswith("not a readable bundle")


def test_another_public_key_is_refused() -> None:
    result = verify_bundle(bundle(), pem(OTHER_KEY))

    assert not result.valid
    assert result.problems == ["the manifest's signature does not verify with this public key"]


def test_a_key_that_is_not_elliptic_curve_is_refused() -> None:
    edwards = ed25519.Ed25519PrivateKey.generate().public_key()

    result = verify_bundle(bundle(), edwards.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))

    assert not result.valid
    assert result.problems == ["the public key is not an elliptic-curve key"]


@pytest.mark.parametrize(
    ("data", "key"),
    [
        (b"not a zip at all", PUBLIC_PEM),
        (b"", PUBLIC_PEM),
        (zip_of({MANIFEST_FILE: b"{}", SIGNATURE_FILE: b"", EVENTS_FILE: b""}), PUBLIC_PEM),
        (zip_of({MANIFEST_FILE: b"{not json", SIGNATURE_FILE: b"", EVENTS_FILE: b"", HISTORY_FILE: b""}), PUBLIC_PEM),
        (zip_of({MANIFEST_FILE: b"[]", SIGNATURE_FILE: b"", EVENTS_FILE: b"", HISTORY_FILE: b""}), PUBLIC_PEM),
        (bundle(), b"-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n"),
    ],
    ids=["garbage", "empty", "missing-history", "manifest-not-json", "manifest-not-an-object", "bad-pem"],
)
def test_unreadable_input_is_reported_not_raised(data: bytes, key: bytes) -> None:
    result = verify_bundle(data, key)

    assert not result.valid
    assert len(result.problems) == 1
    assert result.problems[0].startswith("not a readable bundle")


def test_a_signature_from_another_export_is_refused() -> None:
    files = files_of(bundle())
    other = files_of(bundle(chain()[:2]))

    result = verify_bundle(zip_of({**files, SIGNATURE_FILE: other[SIGNATURE_FILE]}), PUBLIC_PEM)

    assert not result.valid
    assert result.problems == ["the manifest's signature does not verify with this public key"]


def test_consistently_rechained_events_do_not_match_the_signed_manifest() -> None:
    links = chain()
    files = files_of(bundle(links))
    edited = links[1].model_copy(
        update={"record": {**links[1].record, "event": {**links[1].record["event"], "data": {"approved": True}}}}
    )
    forged: list[Link] = []
    previous = GENESIS_HASH
    for link in [links[0], edited, links[2]]:
        forged.append(link.model_copy(update={"prev_hash": previous, "hash": chain_hash(previous, link.record)}))
        previous = forged[-1].hash

    result = verify_bundle(zip_of({**files, EVENTS_FILE: events_jsonl(forged)}), PUBLIC_PEM)

    assert not result.valid
    assert result.head_hash == forged[-1].hash  # the forged chain is consistent in itself...
    assert not any("chain breaks" in problem for problem in result.problems)
    assert result.problems == [  # ...but not with what was signed
        "events.jsonl does not match the digest in the manifest",
        "the links differ from the manifest's list of hashes",
        "the manifest's head hash or length does not match the chain",
    ]


def test_a_forged_manifest_needs_a_forged_signature() -> None:
    links = chain()
    forged = [links[0], links[1].model_copy(update={"personal": None, "salt": None})]
    genuine = files_of(bundle(links))
    rebuilt_with_our_key = files_of(bundle(forged))
    manifest_only = {**genuine, EVENTS_FILE: rebuilt_with_our_key[EVENTS_FILE]}
    manifest_only[MANIFEST_FILE] = rebuilt_with_our_key[MANIFEST_FILE]  # the attacker cannot re-sign with KEY
    resigned = bundle(forged, sign=signer(OTHER_KEY))

    result = verify_bundle(zip_of(manifest_only), PUBLIC_PEM)

    assert not result.valid
    assert result.problems == ["the manifest's signature does not verify with this public key"]
    assert not verify_bundle(resigned, PUBLIC_PEM).valid
    assert verify_bundle(resigned, pem(OTHER_KEY)).valid


def test_a_truncated_chain_does_not_match_the_manifest() -> None:
    links = chain()
    files = files_of(bundle(links))

    result = verify_bundle(zip_of({**files, EVENTS_FILE: events_jsonl(links[:2])}), PUBLIC_PEM)

    assert not result.valid
    assert result.length == 2
    assert "the manifest's head hash or length does not match the chain" in result.problems


def test_a_broken_chain_is_reported_with_its_sequence_number() -> None:
    links = chain()
    broken = [links[0], links[1].model_copy(update={"hash": "f" * 64}), links[2]]

    result = verify_bundle(bundle(broken), PUBLIC_PEM)

    assert not result.valid
    assert result.problems == [
        "the chain breaks at sequence number 2: the hash does not match the record",
        "the manifest's head hash or length does not match the chain",
    ]


def test_a_link_from_another_case_is_refused_even_when_signed() -> None:
    result = verify_bundle(bundle(chain(case_id="case-2"), case_id="case-1"), PUBLIC_PEM)

    assert not result.valid
    assert result.problems == ["a link belongs to another case"]


@pytest.mark.parametrize(
    "mangle",
    [
        lambda link: {**json.loads(link.model_dump_json()), "salt": "zz" * 16},
        lambda link: {**json.loads(link.model_dump_json()), "record": {**link.record, "seq": "two"}},
        lambda link: {
            **json.loads(link.model_dump_json()),
            "record": {k: v for k, v in link.record.items() if k != "seq"},
        },
        lambda link: {**json.loads(link.model_dump_json()), "record": "not an object"},
        lambda link: {**json.loads(link.model_dump_json()), "record": {**link.record, "big": 2**60}},
    ],
    ids=["salt-not-hex", "seq-not-a-number", "seq-missing", "record-not-an-object", "not-canonicalizable"],
)
def test_a_malformed_link_is_reported_not_raised(mangle: Callable[[Link], dict[str, Any]]) -> None:
    links = chain()
    files = files_of(bundle(links))
    lines = [link.model_dump_json().encode() for link in links]
    lines[1] = json.dumps(mangle(links[1])).encode()

    result = verify_bundle(zip_of({**files, EVENTS_FILE: b"\n".join(lines) + b"\n"}), PUBLIC_PEM)

    assert not result.valid
    assert result.problems[0] == "events.jsonl does not match the digest in the manifest"
    assert any(problem.startswith("events.jsonl") for problem in result.problems[1:])


# Hostile bundles: refused, never a crash, never one thing shown and another verified


def test_a_zip_with_a_second_entry_of_the_same_name_is_refused() -> None:
    genuine = bundle()
    buffer = io.BytesIO()
    files = files_of(genuine)
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(HISTORY_FILE, b"<html>forged</html>")
        for name in sorted(files.keys() - {HISTORY_FILE}):
            archive.writestr(name, files[name])
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr(HISTORY_FILE, files[HISTORY_FILE])
    result = verify_bundle(buffer.getvalue(), PUBLIC_PEM)
    assert not result.valid
    assert "expected exactly the files" in result.problems[0]


def test_a_manifest_that_repeats_a_key_is_refused() -> None:
    files = files_of(bundle())
    files[MANIFEST_FILE] = files[MANIFEST_FILE].replace(
        b'"case_id": "case-1",', b'"case_id": "x", "case_id": "case-1",'
    )
    result = verify_bundle(zip_of(files), PUBLIC_PEM)
    assert not result.valid
    assert "repeats a key" in result.problems[0]


@pytest.mark.parametrize("change", [{"files": []}, {"case_id": 5}, {"entries": "none"}])
def test_a_manifest_of_the_wrong_shape_is_reported_not_raised(change: dict[str, Any]) -> None:
    files = files_of(bundle())
    files[MANIFEST_FILE] = json.dumps({**json.loads(files[MANIFEST_FILE]), **change}).encode()
    result = verify_bundle(zip_of(files), PUBLIC_PEM)
    assert not result.valid
    assert result.problems[0].startswith("not a readable bundle")


def test_the_anchor_in_the_manifest_is_checked_against_the_chain() -> None:
    links = chain()
    anchor = Anchor(case_id="case-1", seq=3, hash=links[2].hash, anchored_at=T0)
    anchored = build_bundle(
        tenant_id="acme",
        case_id="case-1",
        links=links,
        history_html=HISTORY,
        exported_at=T0,
        key_id="k",
        sign=signer(),
        anchor=anchor,
    )
    assert verify_bundle(anchored, PUBLIC_PEM).valid
    # A history cut short and re-signed with the genuine key still fails: it ends before its anchor.
    cut = build_bundle(
        tenant_id="acme",
        case_id="case-1",
        links=links[:2],
        history_html=HISTORY,
        exported_at=T0,
        key_id="k",
        sign=signer(),
        anchor=anchor,
    )
    result = verify_bundle(cut, PUBLIC_PEM)
    assert not result.valid
    assert "ends before its anchor" in " ".join(result.problems)
