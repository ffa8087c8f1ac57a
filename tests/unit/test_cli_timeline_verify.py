"""`caseline timeline verify BUNDLE --public-key KEY` works offline and says clearly what is wrong."""

import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from caseline_common.bundle import build_bundle
from caseline_common.envelope import Actor, ActorKind, EventEnvelope, new_id
from chains import chain_of
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from typer.testing import CliRunner

from caseline.cli import app

runner = CliRunner()


@pytest.fixture
def signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    case_id = new_id()
    events = [
        EventEnvelope.new(
            tenant_id="demo",
            case_id=case_id,
            type="comment.added",
            actor=Actor(kind=ActorKind.USER, id="u1"),
            correlation_id="c",
            data={"n": seq},
        )
        for seq in range(1, 4)
    ]
    links = chain_of(events, case_id)
    bundle = build_bundle(
        tenant_id="demo",
        case_id=case_id,
        links=links,
        history_html="<html></html>",
        exported_at=datetime.now(UTC),
        key_id="local",
        sign=lambda message: key.sign(message, ec.ECDSA(hashes.SHA256())),
    )
    bundle_file, key_file = tmp_path / "case.zip", tmp_path / "key.pem"
    bundle_file.write_bytes(bundle)
    key_file.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return bundle_file, key_file


def test_a_valid_bundle_exits_zero(signed: tuple[Path, Path]) -> None:
    bundle, key = signed
    result = runner.invoke(app, ["timeline", "verify", str(bundle), "--public-key", str(key)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output
    assert "3 entries" in result.output


def test_a_modified_bundle_exits_one_with_the_problems(signed: tuple[Path, Path]) -> None:
    bundle, key = signed
    with zipfile.ZipFile(io.BytesIO(bundle.read_bytes())) as original:
        files = {name: original.read(name) for name in original.namelist()}
    events = bytearray(files["events.jsonl"])
    events[len(events) // 2] ^= 0x01
    files["events.jsonl"] = bytes(events)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as modified:
        for name, content in files.items():
            modified.writestr(name, content)
    bundle.write_bytes(buffer.getvalue())
    result = runner.invoke(app, ["timeline", "verify", str(bundle), "--public-key", str(key)])
    assert result.exit_code == 1, result.output
    assert "INVALID" in result.output


def test_a_missing_file_is_a_readable_error(signed: tuple[Path, Path], tmp_path: Path) -> None:
    _bundle, key = signed
    result = runner.invoke(app, ["timeline", "verify", str(tmp_path / "nope.zip"), "--public-key", str(key)])
    assert result.exit_code == 2
    assert "No such file" in result.output
