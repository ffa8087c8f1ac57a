"""The webhook delivery queue: tickets of deliveries the consumer recorded, for the delivery function."""

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING

from caseline_common.errors import UnavailableError

from ..webhook_service import DeliveryTicket

if TYPE_CHECKING:
    from types_boto3_sqs.client import SQSClient

_BATCH = 10  # SendMessageBatch takes at most ten entries


class SqsDeliveryQueue:
    def __init__(self, client: "SQSClient", queue_name: str) -> None:
        self._client = client
        self._name = queue_name

    @cached_property
    def _url(self) -> str:
        """Looked up on the first send, once per container: the API function never sends."""
        return self._client.get_queue_url(QueueName=self._name)["QueueUrl"]

    def send(self, tickets: Sequence[DeliveryTicket]) -> None:
        for first in range(0, len(tickets), _BATCH):
            entries = [
                {"Id": str(index), "MessageBody": ticket.model_dump_json()}
                for index, ticket in enumerate(tickets[first : first + _BATCH])
            ]
            failed = self._client.send_message_batch(QueueUrl=self._url, Entries=entries).get("Failed", [])  # type: ignore[arg-type]
            if failed:
                reasons = ", ".join(f"{entry.get('Code')}: {entry.get('Message', '')}" for entry in failed)
                raise UnavailableError(f"The delivery queue did not take {len(failed)} deliveries ({reasons}).")
