"""The search indexer: every case event through its queue into the search index.

What each event function declared in events.py does; loaded at its first event in Lambda."""

from typing import Any

from caseline_common.consumer import StatefulEvent, sqs_consumer

from .runtime import indexing_service, runtime
from .service import READS


def _index(event: StatefulEvent) -> None:
    indexing_service().index(event)


# An event about a case whose template has not arrived raises, so SQS delivers it again after the visibility
# timeout; by then `template.published` has been kept.
_consume = sqs_consumer(
    _index,
    logger=runtime.observability.logger,
    metrics=runtime.observability.metrics,
    detail=StatefulEvent,
    reads=READS,
)


def search_indexer(event: dict[str, Any], context: Any) -> Any:
    return _consume(event, context)
