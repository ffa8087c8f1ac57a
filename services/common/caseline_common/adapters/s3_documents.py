"""The documents bucket (owned by cases, shared with the portal): presigned uploads into quarantine, checks of
what arrived, presigned downloads through the download origin."""

import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit, urlunsplit

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from types_boto3_s3.client import S3Client
    from types_boto3_s3.type_defs import CopySourceTypeDef

_CHUNK = 1024 * 1024
HEAD_BYTES = 64 * 1024  # where file signatures (puremagic reads 36 KB) and markup show
TAIL_BYTES = 4 * 1024  # where formats that sign their end do (puremagic reads the last 516 bytes)
# Bytes no text holds, in UTF-8 or any other ASCII-based encoding: C0 controls but tab, line feed, form feed and
# carriage return; and DEL.
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f\x7f]")
# Characters a filename* value may carry unencoded (RFC 8187 attr-char).
_ATTR_CHARS = "!#$&+-.^_`|~"


@dataclass(frozen=True)
class StoredUpload:
    """A file in quarantine, as S3 holds it, with what its bytes look like."""

    size: int
    content_type: str
    sha256: str
    metadata: dict[str, str]
    version_id: str | None  # the version that was read: the one promoted, whatever is uploaded meanwhile
    head: bytes  # the first HEAD_BYTES
    tail: bytes  # the last TAIL_BYTES
    text: bool  # no byte is a control character text never holds


def quarantine_key(case_id: str, upload_id: str) -> str:
    return f"quarantine/{case_id}/{upload_id}"


def document_key(case_id: str, type_key: str, upload_id: str) -> str:
    return f"cases/{case_id}/{type_key}/{upload_id}"


_METADATA_PREFIX = "x-amz-meta-"


class S3DocumentStore:
    def __init__(self, client: "S3Client", bucket: str, *, download_url: str) -> None:
        self._client = client
        self._bucket = bucket
        self._download_url = urlsplit(download_url)

    def upload_target(
        self, key: str, *, content_type: str, max_size: int, metadata: dict[str, str], expires_in: timedelta
    ) -> tuple[str, dict[str, str]]:
        """A presigned POST whose policy pins the key, the content type, the metadata and the size range."""
        fields = {"Content-Type": content_type, **{_METADATA_PREFIX + name: value for name, value in metadata.items()}}
        conditions: list[object] = [{name: value} for name, value in fields.items()]
        conditions.append(["content-length-range", 1, max_size])
        post = self._client.generate_presigned_post(
            Bucket=self._bucket,
            Key=key,
            Fields=fields,
            Conditions=conditions,
            ExpiresIn=int(expires_in.total_seconds()),
        )
        return post["url"], {name: str(value) for name, value in post["fields"].items()}

    def inspect(self, key: str) -> StoredUpload | None:
        """The object's size, type and metadata, its SHA-256 and what its bytes look like, read in one pass."""
        try:
            response = self._client.get_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise
        digest = hashlib.sha256()
        size, head, tail, text = 0, b"", b"", True
        for chunk in response["Body"].iter_chunks(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            head += chunk[: HEAD_BYTES - len(head)]
            tail = (tail + chunk)[-TAIL_BYTES:]
            text = text and _CONTROL_BYTES.search(chunk) is None
        return StoredUpload(
            size=size,
            content_type=response.get("ContentType", "application/octet-stream"),
            sha256=digest.hexdigest(),
            metadata=dict(response.get("Metadata", {})),
            version_id=response.get("VersionId"),
            head=head,
            tail=tail,
            text=text,
        )

    def promote(self, source: str, destination: str, *, version_id: str | None) -> None:
        """Copies the version that was checked: a file posted again to the quarantine key meanwhile stays there."""
        copy_source: CopySourceTypeDef = {"Bucket": self._bucket, "Key": source}
        if version_id is not None:
            copy_source["VersionId"] = version_id
        self._client.copy_object(Bucket=self._bucket, Key=destination, CopySource=copy_source)

    def discard(self, key: str) -> None:
        self._client.delete_object(Bucket=self._bucket, Key=key)

    def download_url(self, key: str, *, filename: str, content_type: str, expires_in: timedelta) -> str:
        """A presigned GET whose response saves the file under its name (never shows it inline) and carries the
        content type the confirm checked against the bytes, on the download origin: it passes path and query to
        the bucket's endpoint unchanged, so S3 checks the signature made for that endpoint, and adds
        X-Content-Type-Options, which S3 cannot (docs/architecture.md, Documents)."""
        presigned = urlsplit(
            self._client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self._bucket,
                    "Key": key,
                    "ResponseContentDisposition": content_disposition(filename),
                    "ResponseContentType": content_type,
                },
                ExpiresIn=int(expires_in.total_seconds()),
            )
        )
        origin = self._download_url
        return urlunsplit((origin.scheme, origin.netloc, origin.path + presigned.path, presigned.query, ""))


def content_disposition(filename: str) -> str:
    """`attachment` with the name in UTF-8 (RFC 6266, RFC 8187), and an ASCII stand-in for old clients."""
    fallback = "".join(char if " " <= char <= "~" and char not in '"\\%' else "_" for char in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe=_ATTR_CHARS)}"
