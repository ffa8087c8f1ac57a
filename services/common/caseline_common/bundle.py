"""Signed timeline export bundles, and their offline verification with nothing but the public key.

A bundle is a zip of:
  events.jsonl   one chain link per line (record, hash, prev_hash, personal data and salt unless erased)
  history.html   the case history for people to read
  manifest.json  case, length, head hash, every (seq, hash), SHA-256 of the two files, how it was signed
  manifest.sig   base64 ECDSA P-256 / SHA-256 signature (DER) over the RFC 8785 form of
                 {"format": ..., "manifest_sha256": SHA-256 of the RFC 8785 form of the manifest}
                 (a short statement, because KMS signs raw messages of at most 4 KB)
"""

import base64
import hashlib
import io
import json
import zipfile
import zlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from pydantic import BaseModel, ConfigDict, ValidationError

from .chain import CANONICALIZATION, GENESIS_HASH, HASH_ALGORITHM, Anchor, Link, canonical, verify_chain

BUNDLE_FORMAT = "caseline-timeline-bundle/1"
SIGNING_ALGORITHM = "ECDSA_SHA_256"
EVENTS_FILE, HISTORY_FILE, MANIFEST_FILE, SIGNATURE_FILE = (
    "events.jsonl",
    "history.html",
    "manifest.json",
    "manifest.sig",
)
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class BundleVerification(BaseModel):
    model_config = ConfigDict(defer_build=True)

    valid: bool
    case_id: str | None = None
    length: int | None = None
    head_hash: str | None = None
    problems: list[str]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def signed_statement(manifest: dict[str, Any]) -> bytes:
    return canonical({"format": BUNDLE_FORMAT, "manifest_sha256": _sha256(canonical(manifest))})


def build_bundle(
    *,
    tenant_id: str,
    case_id: str,
    links: Sequence[Link],
    history_html: str,
    exported_at: datetime,
    key_id: str,
    sign: Callable[[bytes], bytes],
    anchor: Anchor | None = None,
) -> bytes:
    events = "".join(link.model_dump_json() + "\n" for link in links).encode()
    history = history_html.encode()
    manifest = {
        "format": BUNDLE_FORMAT,
        "tenant_id": tenant_id,
        "case_id": case_id,
        "exported_at": exported_at.isoformat(),
        "canonicalization": CANONICALIZATION,
        "hash_algorithm": HASH_ALGORITHM,
        "genesis_hash": GENESIS_HASH,
        "length": len(links),
        "head_hash": links[-1].hash if links else GENESIS_HASH,
        "entries": [{"seq": link.seq, "hash": link.hash} for link in links],
        "files": {EVENTS_FILE: _sha256(events), HISTORY_FILE: _sha256(history)},
        "signing": {"algorithm": SIGNING_ALGORITHM, "key_id": key_id},
        # The latest anchor when exported: the verifier checks the chain reaches it with the same hash.
        "anchor": anchor.model_dump(mode="json") if anchor else None,
    }
    signature = base64.b64encode(sign(signed_statement(manifest)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in (
            (MANIFEST_FILE, json.dumps(manifest, indent=2).encode()),
            (SIGNATURE_FILE, signature),
            (EVENTS_FILE, events),
            (HISTORY_FILE, history),
        ):
            archive.writestr(zipfile.ZipInfo(name, date_time=_FIXED_ZIP_TIME), content)
    return buffer.getvalue()


MAX_UNPACKED_BYTES = 1 << 30
_NAMES = (MANIFEST_FILE, SIGNATURE_FILE, EVENTS_FILE, HISTORY_FILE)


class _Entry(BaseModel):
    model_config = ConfigDict(defer_build=True)

    seq: int
    hash: str


class _Manifest(BaseModel):
    """The parts of the manifest verification reads; a manifest without them is not a bundle."""

    model_config = ConfigDict(defer_build=True)

    case_id: str
    length: int
    head_hash: str
    entries: list[_Entry]
    files: dict[str, str]
    anchor: Anchor | None = None


def _read(bundle: bytes) -> dict[str, bytes]:
    """Exactly the four files, each once: a zip with two entries of one name shows one file to people and
    another to programs."""
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        names = archive.namelist()
        if sorted(names) != sorted(_NAMES):
            raise ValueError(f"expected exactly the files {', '.join(_NAMES)}, found {', '.join(names)}")
        if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED_BYTES:
            raise ValueError("the bundle unpacks to more than 1 GiB")
        return {name: archive.read(name) for name in _NAMES}


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("the manifest repeats a key")
    return dict(pairs)


def verify_bundle(bundle: bytes, public_key_pem: bytes) -> BundleVerification:
    """Checks the signature, both file digests, every link of the chain and the manifest's list of hashes."""
    try:
        files = _read(bundle)
        manifest: dict[str, Any] = json.loads(files[MANIFEST_FILE], object_pairs_hook=_no_duplicate_keys)
        expected = _Manifest.model_validate(manifest)
        public_key = load_pem_public_key(public_key_pem)
    except (zipfile.BadZipFile, KeyError, ValueError, RuntimeError, EOFError, zlib.error) as error:
        # RuntimeError and its subclasses: a zip header with a flipped flag or an unknown compression method;
        # ValueError includes pydantic's ValidationError for a manifest that lacks what is verified.
        return BundleVerification(valid=False, problems=[f"not a readable bundle: {error}"])
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        return BundleVerification(valid=False, problems=["the public key is not an elliptic-curve key"])
    problems: list[str] = []
    try:
        signature = base64.b64decode(files[SIGNATURE_FILE], validate=True)
        if base64.b64encode(signature) != files[SIGNATURE_FILE]:  # unused bits of the last character set
            raise ValueError("the signature is not in canonical base64")
        public_key.verify(
            signature,
            signed_statement(manifest),
            ec.ECDSA(hashes.SHA256()),
        )
    except (InvalidSignature, ValueError):
        problems.append("the manifest's signature does not verify with this public key")
    for name in (EVENTS_FILE, HISTORY_FILE):
        if expected.files.get(name) != _sha256(files[name]):
            problems.append(f"{name} does not match the digest in the manifest")
    try:
        links = [Link.model_validate_json(line) for line in files[EVENTS_FILE].splitlines() if line.strip()]
        chain = verify_chain(links, expected.anchor)
        entries = [_Entry(seq=link.seq, hash=link.hash) for link in links]
    except (ValidationError, KeyError, TypeError, ValueError) as error:  # e.g. a record without seq, a bad salt
        return BundleVerification(
            valid=False, case_id=expected.case_id, problems=[*problems, f"{EVENTS_FILE}: {error}"]
        )
    if not chain.valid:
        problems.append(f"the chain breaks at sequence number {chain.first_bad_seq}: {chain.reason}")
    if entries != expected.entries:
        problems.append("the links differ from the manifest's list of hashes")
    if expected.head_hash != chain.head_hash or expected.length != len(links):
        problems.append("the manifest's head hash or length does not match the chain")
    if any(link.record.get("case_id") != expected.case_id for link in links):
        problems.append("a link belongs to another case")
    return BundleVerification(
        valid=not problems,
        case_id=expected.case_id,
        length=len(links),
        head_hash=chain.head_hash,
        problems=problems,
    )
