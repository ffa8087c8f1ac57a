"""Anchors in S3: one immutable object per anchored head (Object Lock in AWS), never overwritten."""

from typing import TYPE_CHECKING

from caseline_common.chain import Anchor

if TYPE_CHECKING:
    from types_boto3_s3.client import S3Client


class S3AnchorStore:
    def __init__(self, client: "S3Client", bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    @staticmethod
    def _prefix(case_id: str) -> str:
        return f"anchors/{case_id}/"

    def put(self, anchor: Anchor) -> None:
        self._client.put_object(
            Bucket=self._bucket,
            Key=f"{self._prefix(anchor.case_id)}{anchor.seq:012d}.json",
            Body=anchor.model_dump_json().encode(),
            ContentType="application/json",
        )

    def latest(self, case_id: str) -> Anchor | None:
        """The anchor with the highest sequence number (keys sort by it)."""
        latest_key: str | None = None
        for page in self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=self._prefix(case_id)
        ):
            for item in page.get("Contents", []):
                if latest_key is None or item["Key"] > latest_key:
                    latest_key = item["Key"]
        if latest_key is None:
            return None
        body = self._client.get_object(Bucket=self._bucket, Key=latest_key)["Body"].read()
        return Anchor.model_validate_json(body)
