"""The documents' download origin, locally: the gateway plays the CloudFront distribution of `infra/downloads.py`.

A download link is the services' presigned S3 GET with its scheme and host swapped for the download origin
(`caseline_common/adapters/s3_documents.py`). `GET /_documents/<bucket>/<key>?<query>` goes to the emulator with path
and query unchanged, and the answer is S3's status, body and headers plus the distribution's security headers.
In AWS, S3 checks the presigned signature and expiry behind CloudFront; moto checks neither, so this route checks
them first as S3 would, and reaches only the documents bucket, as the distribution's one origin does.
"""

import hmac
import http.client
import os
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, unquote, urlsplit

from botocore.auth import SIGV4_TIMESTAMP, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from caseline_common.resources import DOCUMENTS_BUCKET

DOWNLOADS_PREFIX = "/_documents"
# What the distribution's response headers policy adds (HSTS aside: the gateway speaks plain HTTP).
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; sandbox",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
# The longest a presigned URL may last, as S3 allows: seven days.
MAX_EXPIRES_SECONDS = 604800
# Hop-by-hop headers, and those the gateway's HTTP server writes itself.
_NOT_FORWARDED = {"connection", "keep-alive", "transfer-encoding", "content-length", "date", "server"}


def _refused(code: str, message: str, status: int = 403) -> tuple[int, dict[str, str], bytes]:
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>'
    return status, {"Content-Type": "application/xml", **SECURITY_HEADERS}, body.encode()


class DocumentDownloads:
    def __init__(self, emulator_endpoint: str, bucket: str, region: str, credentials: Credentials) -> None:
        self._endpoint = emulator_endpoint.rstrip("/")
        self._bucket = bucket
        self._region = region
        self._credentials = credentials

    @classmethod
    def from_environment(cls) -> "DocumentDownloads | None":
        """What the local stack configured for the services, or None without an emulator."""
        endpoint = os.environ.get("CASELINE_AWS_ENDPOINT_URL")
        bucket = os.environ.get(DOCUMENTS_BUCKET.env_var)
        if not endpoint or not bucket:
            return None
        credentials = Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
        return cls(endpoint, bucket, os.environ["CASELINE_AWS_REGION"], credentials)

    def get(self, path: str, query: str) -> tuple[int, dict[str, str], bytes]:
        """`path` is what follows the prefix: the presigned URL's path (path-style: /<bucket>/<key>)."""
        segments = [unquote(segment) for segment in path.split("/")[1:]]
        if len(segments) < 2 or segments[0] != self._bucket or {".", ".."} & set(segments):
            return _refused("AccessDenied", "Only objects of the documents bucket are served here.")
        refusal = self._refusal(path, query)
        if refusal is not None:
            return _refused(*refusal)
        connection = http.client.HTTPConnection(urlsplit(self._endpoint).netloc, timeout=30)
        try:
            connection.request("GET", f"{path}?{query}")
            response = connection.getresponse()
            status, body, received = response.status, response.read(), response.getheaders()
        finally:
            connection.close()
        headers: dict[str, str] = {}
        for name, value in received:
            if name.lower() not in _NOT_FORWARDED:  # S3 repeats none of its headers, so a comma joins repeats
                headers[name] = f"{headers[name]}, {value}" if name in headers else value
        return status, {**headers, **SECURITY_HEADERS}, body

    def _refusal(self, path: str, query: str) -> tuple[str, str] | tuple[str, str, int] | None:
        """S3's refusal of a presigned GET that was not signed for this path and query, or has expired: its code,
        message and (when not 403) status."""
        given = dict(parse_qsl(query, keep_blank_values=True))
        signature = given.get("X-Amz-Signature", "")
        lifetime = given.get("X-Amz-Expires")
        # as S3 does, before the signature: a lifetime that is not a whole number of seconds up to seven days
        if lifetime is not None and not (
            re.fullmatch(r"[0-9]{1,7}", lifetime) and 1 <= int(lifetime) <= MAX_EXPIRES_SECONDS
        ):
            return (
                "AuthorizationQueryParametersError",
                f"X-Amz-Expires must be a whole number of seconds from 1 to {MAX_EXPIRES_SECONDS} (seven days).",
                400,
            )
        try:
            signed_at = datetime.strptime(given["X-Amz-Date"], SIGV4_TIMESTAMP).replace(tzinfo=UTC)
            expires = timedelta(seconds=int(given["X-Amz-Expires"]))
        except (KeyError, ValueError, OverflowError):
            return "AccessDenied", "Query-string authentication requires a presigned URL."
        unsigned = "&".join(part for part in query.split("&") if not part.startswith("X-Amz-Signature="))
        request = AWSRequest(method="GET", url=f"{self._endpoint}{path}?{unsigned}")
        request.context["timestamp"] = given["X-Amz-Date"]
        signer = S3SigV4QueryAuth(self._credentials, "s3", self._region)
        expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
        if not hmac.compare_digest(expected, signature):
            return (
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        if datetime.now(UTC) > signed_at + expires:
            return "AccessDenied", "Request has expired"
        return None
