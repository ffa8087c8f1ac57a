"""The one place that creates boto3 clients, so the local stack can point every service at one endpoint.

The clients come from a botocore session: they are the very clients boto3 makes (boto3's `Session.client` is
this call), without importing boto3's resources, S3 transfer manager and docs, which no service uses (~15 ms of
every cold start)."""

from functools import cache, cached_property
from typing import TYPE_CHECKING, Any

import botocore.session
from botocore.config import Config

if TYPE_CHECKING:
    from types_boto3_athena.client import AthenaClient
    from types_boto3_dynamodb.client import DynamoDBClient
    from types_boto3_dynamodbstreams.client import DynamoDBStreamsClient
    from types_boto3_events.client import EventBridgeClient
    from types_boto3_kms.client import KMSClient
    from types_boto3_s3.client import S3Client
    from types_boto3_ses.client import SESClient
    from types_boto3_sqs.client import SQSClient

_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5)


class AwsClients:
    """Lazily created, cached clients for one region and an optional endpoint override."""

    def __init__(self, region: str, endpoint_url: str | None = None) -> None:
        self.region = region
        self.endpoint_url = endpoint_url
        self._session = botocore.session.get_session()

    @cache  # noqa: B019 - one instance per cold start; clients live as long as it does
    def _client(self, service_name: str):  # type: ignore[no-untyped-def]
        return self._session.create_client(
            service_name, region_name=self.region, endpoint_url=self.endpoint_url, config=_CLIENT_CONFIG
        )

    def apigateway(self) -> Any:  # no type stubs are installed for it; only the tools (usage plans) use it
        return self._client("apigateway")

    def athena(self) -> "AthenaClient":
        return self._client("athena")  # type: ignore[no-any-return]

    def cognito_idp(self) -> Any:  # no type stubs are installed for it; only the console's tools use it
        return self._client("cognito-idp")

    def dynamodb(self) -> "DynamoDBClient":
        return self._client("dynamodb")  # type: ignore[no-any-return]

    def dynamodb_streams(self) -> "DynamoDBStreamsClient":
        return self._client("dynamodbstreams")  # type: ignore[no-any-return]

    def events(self) -> "EventBridgeClient":
        return self._client("events")  # type: ignore[no-any-return]

    def kms(self) -> "KMSClient":
        return self._client("kms")  # type: ignore[no-any-return]

    def s3(self) -> "S3Client":
        # Presigned uploads and downloads: Signature Version 4 on the bucket's regional endpoint, which every
        # bucket accepts (the global endpoint and older signatures are refused for new buckets).
        return self._s3  # type: ignore[no-any-return]

    @cached_property
    def _s3(self):  # type: ignore[no-untyped-def]
        config = _CLIENT_CONFIG.merge(Config(signature_version="s3v4", s3={"addressing_style": "virtual"}))
        endpoint = self.endpoint_url or f"https://s3.{self.region}.amazonaws.com"
        return self._session.create_client("s3", region_name=self.region, endpoint_url=endpoint, config=config)

    def ses(self) -> "SESClient":
        return self._client("ses")  # type: ignore[no-any-return]

    def sqs(self) -> "SQSClient":
        return self._client("sqs")  # type: ignore[no-any-return]

    def ssm(self) -> Any:  # no type stubs are installed for it; only the console's tools use it (a restore's check)
        return self._client("ssm")

    def sts(self) -> Any:  # no type stubs are installed for it; only the console's tools use it (the account id)
        return self._client("sts")
