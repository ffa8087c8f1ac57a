"""The portal table: templates, the case read model with its timeline and messages, links, sessions and
rate-limit counters. The portal never reads the cases table."""

import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from caseline_common.adapters.dynamo_claims import read_claim, release_claim, transact_with_claim, write_claim
from caseline_common.contracts import TemplateDefinition
from caseline_common.idempotency import Claim

from ..domain.links import LinkNotice, PortalLink, Session
from ..domain.projection import PortalCase, PortalEntry

if TYPE_CHECKING:
    from types_boto3_dynamodb.client import DynamoDBClient

_ENTRY, _MESSAGE, _LINK = "ENTRY#", "MSG#", "LINK#"
_CASE_PAGE_LIMIT = 400  # the newest timeline lines and messages a page shows
_TEMPLATE_CACHE_SIZE = 256
_NOTICE_DAYS = 30


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


class ReadModelConflict(Exception):
    """Another consumer changed the case's read model first; the event is retried."""


class DynamoPortalStore:
    def __init__(self, client: "DynamoDBClient", table: str) -> None:
        self._client = client
        self._table = table
        self._templates: dict[tuple[str, int], TemplateDefinition] = {}

    def _get(self, pk: str, sk: str, *, consistent: bool = False) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self._client.get_item(
            TableName=self._table, Key={"pk": _s(pk), "sk": _s(sk)}, ConsistentRead=consistent
        ).get("Item")
        return item

    def _put(self, item: dict[str, Any], **conditions: Any) -> None:
        self._client.put_item(TableName=self._table, Item=item, **conditions)

    # templates

    def save_template(self, key: str, version: int, definition: TemplateDefinition) -> None:
        self._put({"pk": _s(f"TEMPLATE#{key}"), "sk": _s(f"V#{version:06d}"), "doc": _s(definition.model_dump_json())})

    def template(self, key: str, version: int) -> TemplateDefinition | None:
        """Published versions never change, so each is read once per container."""
        cached = self._templates.get((key, version))
        if cached is not None:
            return cached
        item = self._get(f"TEMPLATE#{key}", f"V#{version:06d}")
        if not item:
            return None
        if len(self._templates) >= _TEMPLATE_CACHE_SIZE:
            self._templates.clear()
        template = self._templates[(key, version)] = TemplateDefinition.model_validate_json(item["doc"]["S"])
        return template

    # the case read model

    def case(self, case_id: str) -> tuple[PortalCase, int] | None:
        """The model and its revision, which a save must match."""
        item = self._get(f"PCASE#{case_id}", "CASE", consistent=True)
        if not item:
            return None
        return PortalCase.model_validate_json(item["doc"]["S"]), int(item["rev"]["N"])

    def save_case(self, case: PortalCase, revision: int | None) -> None:
        condition: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(pk)"}
            if revision is None
            else {"ConditionExpression": "rev = :rev", "ExpressionAttributeValues": {":rev": _n(revision)}}
        )
        item = {
            "pk": _s(f"PCASE#{case.case_id}"),
            "sk": _s("CASE"),
            "doc": _s(case.model_dump_json()),
            "rev": _n((revision or 0) + 1),
        }
        try:
            self._put(item, **condition)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ReadModelConflict(case.case_id) from error
            raise

    def add_entry(self, case_id: str, entry: PortalEntry, *, message: bool) -> None:
        """Keyed by event id, so a redelivered event writes the same item again."""
        prefix = _MESSAGE if message else _ENTRY
        self._put({"pk": _s(f"PCASE#{case_id}"), "sk": _s(f"{prefix}{entry.id}"), "doc": _s(entry.model_dump_json())})

    def case_page(self, case_id: str) -> tuple[PortalCase | None, list[PortalEntry], list[PortalEntry]]:
        """The model, its timeline and its messages in one Query of the case's partition, newest first."""
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": _s(f"PCASE#{case_id}")},
            ScanIndexForward=False,
            Limit=_CASE_PAGE_LIMIT,
        )
        case, timeline, messages = None, [], []
        for item in response["Items"]:
            sort_key = item["sk"]["S"]
            if sort_key == "CASE":
                case = PortalCase.model_validate_json(item["doc"]["S"])
            elif sort_key.startswith(_ENTRY):
                timeline.append(PortalEntry.model_validate_json(item["doc"]["S"]))
            elif sort_key.startswith(_MESSAGE):
                messages.append(PortalEntry.model_validate_json(item["doc"]["S"]))
        if case is None:  # more lines than one page holds: the case item sorts last
            found = self.case(case_id)
            case = found[0] if found else None
        return case, timeline, list(reversed(messages))

    # links

    def save_link(self, link: PortalLink, claim: Claim | None) -> None:
        """The link and its entry under the case together, so no link works that staff cannot see and revoke."""
        items = [
            {"pk": _s(f"TOKEN#{link.token_hash}"), "sk": _s("LINK"), "doc": _s(link.model_dump_json())},
            {"pk": _s(f"PCASE#{link.case_id}"), "sk": _s(f"{_LINK}{link.id}"), "token_hash": _s(link.token_hash)},
        ]
        transact_with_claim(
            self._client, self._table, [{"Put": {"TableName": self._table, "Item": item}} for item in items], claim
        )

    def update_link(self, link: PortalLink) -> None:
        self._put({"pk": _s(f"TOKEN#{link.token_hash}"), "sk": _s("LINK"), "doc": _s(link.model_dump_json())})

    def link_by_token_hash(self, digest: str) -> PortalLink | None:
        item = self._get(f"TOKEN#{digest}", "LINK", consistent=True)
        return PortalLink.model_validate_json(item["doc"]["S"]) if item else None

    def links_of_case(self, case_id: str) -> list[PortalLink]:
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :link)",
            ExpressionAttributeValues={":pk": _s(f"PCASE#{case_id}"), ":link": _s(_LINK)},
        )
        digests = [item["token_hash"]["S"] for item in response["Items"]]
        if not digests:
            return []
        keys: list[Any] = [{"pk": _s(f"TOKEN#{digest}"), "sk": _s("LINK")} for digest in digests]
        found = self._client.batch_get_item(RequestItems={self._table: {"Keys": keys}})["Responses"][self._table]
        links = [PortalLink.model_validate_json(item["doc"]["S"]) for item in found]
        return sorted(links, key=lambda link: link.created_at)

    # Idempotency-Key claims

    def claim(self, scope: str) -> Claim | None:
        return read_claim(self._client, self._table, scope)

    def save_claim(self, claim: Claim) -> None:
        write_claim(self._client, self._table, claim)

    def release_claim(self, claim: Claim) -> None:
        release_claim(self._client, self._table, claim)

    # e-mails with links

    @staticmethod
    def _notice_item(notice: LinkNotice) -> dict[str, Any]:
        return {
            "pk": _s(f"NOTICE#{notice.event_id}#{notice.participant_id}"),
            "sk": _s("NOTICE"),
            "doc": _s(notice.model_dump_json()),
            "claimed_at": _s(notice.claimed_at.isoformat()),
            # an event is redelivered for days at most (the queue's retention), so the claim can go after that
            "expires_at": _n(int(notice.claimed_at.timestamp()) + _NOTICE_DAYS * 86400),
        }

    def claim_notice(self, notice: LinkNotice) -> LinkNotice | None:
        """Claims the notice, or returns the earlier claim on it."""
        try:
            self._put(self._notice_item(notice), ConditionExpression="attribute_not_exists(pk)")
            return None
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        item = self._get(f"NOTICE#{notice.event_id}#{notice.participant_id}", "NOTICE", consistent=True)
        if not item:  # expired between the two calls: let the event come again
            raise ReadModelConflict(notice.event_id)
        return LinkNotice.model_validate_json(item["doc"]["S"])

    def take_over_notice(self, notice: LinkNotice, earlier: LinkNotice) -> bool:
        """Replaces a stale claim, unless another delivery took it over first."""
        try:
            self._put(
                self._notice_item(notice),
                ConditionExpression="claimed_at = :earlier",
                ExpressionAttributeValues={":earlier": _s(earlier.claimed_at.isoformat())},
            )
            return True
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise

    def save_notice(self, notice: LinkNotice) -> None:
        self._put(self._notice_item(notice))

    # sessions

    def save_session(self, session: Session) -> None:
        self._put(
            {
                "pk": _s(f"SESSION#{session.id_hash}"),
                "sk": _s("SESSION"),
                "doc": _s(session.model_dump_json()),
                "expires_at": _n(int(session.expires_at.timestamp())),
            }
        )

    def session(self, id_hash: str) -> Session | None:
        item = self._get(f"SESSION#{id_hash}", "SESSION", consistent=True)
        return Session.model_validate_json(item["doc"]["S"]) if item else None

    def delete_session(self, id_hash: str) -> None:
        self._client.delete_item(TableName=self._table, Key={"pk": _s(f"SESSION#{id_hash}"), "sk": _s("SESSION")})

    # rate limits

    def hits(self, key: str, *, now: datetime, window_seconds: int) -> int:
        """Counts one request against `key` in the current fixed window and returns the window's count."""
        window = int(now.timestamp()) // window_seconds
        response = self._client.update_item(
            TableName=self._table,
            Key={"pk": _s(f"RATE#{key}#{window}"), "sk": _s("RATE")},
            UpdateExpression="ADD hits :one SET expires_at = if_not_exists(expires_at, :expires)",
            ExpressionAttributeValues={":one": _n(1), ":expires": _n(int(time.time()) + 2 * window_seconds)},
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["hits"]["N"])
