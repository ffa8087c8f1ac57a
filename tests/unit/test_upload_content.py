"""The file-type rule: an upload's bytes must be what its declared content type says (puremagic finds the
signatures, the domain decides), and downloads are named attachments on the download origin."""

import io
import urllib.parse
import zipfile
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import botocore.auth
import pytest
from caseline_common.adapters.s3_documents import (
    HEAD_BYTES,
    TAIL_BYTES,
    S3DocumentStore,
    StoredUpload,
    content_disposition,
)
from caseline_common.aws import AwsClients
from caseline_common.errors import InvalidInputError
from service_modules import loaded_module

if TYPE_CHECKING:
    from services.cases.chalicelib import case_service as service
    from services.cases.chalicelib.domain import file_types as rule
else:
    rule = loaded_module("cases", "chalicelib.domain.file_types")
    service = loaded_module("cases", "chalicelib.case_service")

PDF = b"%PDF-1.7\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + b"\x00" * 40 + b"\xff\xd9"
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 40
HEIF_MIF1 = b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1heic" + b"\x00" * 40
HTML = b"<!DOCTYPE html><html><body><script>fetch('/steal')</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
CSV = "name,amount\nLena Fischer,86.40\nJosé Müller,12.00\n".encode()
CSV_CP1252 = "name;amount\r\nJosé;12,00\r\n".encode("cp1252")
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def office(member: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(member, "<document/>")
    return buffer.getvalue()


def stored(data: bytes, content_type: str) -> StoredUpload:
    """What the S3 adapter reports for these bytes (it samples them the same way while hashing)."""
    return StoredUpload(
        size=len(data),
        content_type=content_type,
        sha256="",
        metadata={},
        version_id=None,
        head=data[:HEAD_BYTES],
        tail=data[-TAIL_BYTES:],
        text=not any((byte < 0x20 and byte not in b"\t\n\x0c\r") or byte == 0x7F for byte in data),
    )


def problem(data: bytes, declared: str) -> str | None:
    problem: str | None = rule.content_problem(
        declared, service.detected_content(stored(data, declared)), service.identifiable()
    )
    return problem


@pytest.mark.parametrize(
    ("data", "declared"),
    [
        (PDF, "application/pdf"),
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (JPEG, "image/jpg"),
        (HEIC, "image/heic"),
        (HEIF_MIF1, "image/heic"),  # puremagic names this brand's container MP4
        (office("word/document.xml"), DOCX),
        (office("xl/workbook.xml"), XLSX),
        (CSV, "text/csv"),
        (CSV_CP1252, "text/csv"),  # Excel's CSV in the Windows code page is still text
        (b"plain words\n\tindented\n", "text/plain"),
        (b'{"amount": 86.4}', "application/json"),
        (HTML, "application/octet-stream"),  # a template that takes any file checks nothing
        (PDF + b"\x00" * (HEAD_BYTES * 2) + b"%%EOF\n", "application/pdf"),  # larger than the sampled head
    ],
)
def test_files_of_their_declared_type_are_accepted(data: bytes, declared: str) -> None:
    assert problem(data, declared) is None


@pytest.mark.parametrize(
    ("data", "declared", "why"),
    [
        (HTML, "application/pdf", "signature"),  # the hole: HTML uploaded as a PDF
        (SVG, "image/png", "signature"),
        (PDF, "image/png", "signature"),
        (office("word/document.xml"), "application/pdf", "signature"),
        (HTML, "text/plain", "markup"),
        (SVG, "text/csv", "markup"),
        (b"  \n<html><body>hi</body></html>", "text/plain", "markup"),
        (b"Totals\n<script src=https://evil.example/x.js></script>\n", "text/csv", "markup"),
        (PNG, "text/plain", "binary"),
        (b"almost text\x00", "text/csv", "binary"),
        (b"\x1b[31m red \x1b[0m", "text/plain", "binary"),
        (HTML, "application/x-unknown-to-the-table", "markup"),
    ],
)
def test_files_that_are_not_what_they_declare_are_refused(data: bytes, declared: str, why: str) -> None:
    found = problem(data, declared)
    assert found is not None
    assert why in found


def test_a_type_no_signature_identifies_is_accepted_unless_it_is_markup() -> None:
    assert "application/x-unknown-to-the-table" not in service.identifiable()
    assert problem(b"\x01\x02 custom format", "application/x-unknown-to-the-table") is None


def test_the_refusal_points_at_the_content_type() -> None:
    detected = rule.Detected(signatures=frozenset({"text/html"}), text=True, markup=True)
    with pytest.raises(InvalidInputError) as raised:
        rule.check_content("application/pdf", detected, frozenset({"application/pdf"}))
    [issue] = raised.value.issues
    assert issue.pointer == "/content_type"
    assert "application/pdf" in issue.detail


@pytest.mark.parametrize(
    ("filename", "header"),
    [
        ("receipt.pdf", "attachment; filename=\"receipt.pdf\"; filename*=UTF-8''receipt.pdf"),
        (
            "Résumé 2026.pdf",
            "attachment; filename=\"R_sum_ 2026.pdf\"; filename*=UTF-8''R%C3%A9sum%C3%A9%202026.pdf",
        ),
        (
            'say "hi"; x=1.txt',
            "attachment; filename=\"say _hi_; x=1.txt\"; filename*=UTF-8''say%20%22hi%22%3B%20x%3D1.txt",
        ),
        ("100%.csv", "attachment; filename=\"100_.csv\"; filename*=UTF-8''100%25.csv"),
    ],
)
def test_downloads_are_named_attachments(filename: str, header: str) -> None:
    assert content_disposition(filename) == header


@pytest.mark.parametrize(
    ("download_url", "endpoint", "path_prefix"),
    [
        # AWS: CloudFront in front of the bucket's regional endpoint, which the services sign for
        ("https://d111111abcdef8.cloudfront.net", None, ""),
        # locally: the gateway's route in front of the emulator (path-style, the bucket in the path)
        ("http://127.0.0.1:8000/_documents", "http://127.0.0.1:4566", "/caseline-acme-documents-123456789012"),
    ],
    ids=["CloudFront", "local gateway"],
)
def test_a_download_link_is_the_presigned_get_on_the_download_origin(
    download_url: str, endpoint: str | None, path_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: datetime(2026, 11, 24, 9, 30))  # one signature
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    client = AwsClients("eu-west-1", endpoint).s3()
    store = S3DocumentStore(client, "caseline-acme-documents-123456789012", download_url=download_url)
    params = {
        "Bucket": "caseline-acme-documents-123456789012",
        "Key": "cases/01J/receipt/01K",
        "ResponseContentDisposition": content_disposition("r.pdf"),
        "ResponseContentType": "application/pdf",
    }

    url = urllib.parse.urlsplit(
        store.download_url("cases/01J/receipt/01K", filename="r.pdf", content_type="application/pdf",
                           expires_in=timedelta(minutes=5))
    )  # fmt: skip
    presigned = urllib.parse.urlsplit(client.generate_presigned_url("get_object", Params=params, ExpiresIn=300))

    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{download_url}{path_prefix}/cases/01J/receipt/01K"
    assert url.path == urllib.parse.urlsplit(download_url).path + presigned.path
    if endpoint is None:  # signed for the host CloudFront's origin names (infra/downloads.py)
        assert presigned.netloc == "caseline-acme-documents-123456789012.s3.eu-west-1.amazonaws.com"
    assert url.query == presigned.query
    query = urllib.parse.parse_qs(url.query)
    assert query["response-content-disposition"] == [content_disposition("r.pdf")]
    assert query["response-content-type"] == ["application/pdf"]
    assert query["X-Amz-SignedHeaders"] == ["host"]
