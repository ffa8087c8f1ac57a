"""The documents bucket (owned by cases, shared with the portal): presigned uploads into quarantine, checks of
what arrived, presigned downloads."""

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from types_boto3_s3.client import S3Client

_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredUpload:
    """A file in quarantine, as S3 holds it."""

    size: int
    content_type: str
    sha256: str
    metadata: dict[str, str]


def quarantine_key(case_id: str, upload_id: str) -> str:
    return f"quarantine/{case_id}/{upload_id}"


def document_key(case_id: str, type_key: str, upload_id: str) -> str:
    return f"cases/{case_id}/{type_key}/{upload_id}"


_METADATA_PREFIX = "x-amz-meta-"


class S3DocumentStore:
    def __init__(self, client: "S3Client", bucket: str) -> None:
        self._client = client
        self._bucket = bucket

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
        """The object's size, type and metadata, and its SHA-256 computed from the bytes themselves."""
        try:
            response = self._client.get_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise
        digest = hashlib.sha256()
        size = 0
        for chunk in response["Body"].iter_chunks(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
        return StoredUpload(
            size=size,
            content_type=response.get("ContentType", "application/octet-stream"),
            sha256=digest.hexdigest(),
            metadata=dict(response.get("Metadata", {})),
        )

    def promote(self, source: str, destination: str) -> None:
        self._client.copy_object(
            Bucket=self._bucket, Key=destination, CopySource={"Bucket": self._bucket, "Key": source}
        )

    def discard(self, key: str) -> None:
        self._client.delete_object(Bucket=self._bucket, Key=key)

    def download_url(self, key: str, *, filename: str, content_type: str, expires_in: timedelta) -> str:
        safe_name = filename.replace('"', "")
        return self._client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self._bucket,
                "Key": key,
                "ResponseContentDisposition": f'attachment; filename="{safe_name}"',
                "ResponseContentType": content_type,
            },
            ExpiresIn=int(expires_in.total_seconds()),
        )
