"""Powertools Logger and Metrics for one service, wired into its Chalice app.

Tracing is Lambda's own (active tracing in infra/service_stack.py): each invocation's segment, its
initialization and the API Gateway hop, with no SDK in the function. The Powertools Tracer and the X-Ray SDK
it loads would add a subsegment per AWS call for ~100 ms more at every cold start (docs/architecture.md,
"Tracing without an SDK in the function"); logs still carry the invocation's `xray_trace_id`.
"""

import warnings
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from chalice.app import Chalice, ConvertToMiddleware

METRICS_NAMESPACE = "Caseline"

# Most HTTP invocations add no metric; Powertools would warn on every one of them.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)


@dataclass(frozen=True)
class Observability:
    logger: Logger
    metrics: Metrics

    def instrument(self, app: Chalice) -> None:
        """Every function of the app logs with its Lambda context and flushes its metrics."""
        app.register_middleware(ConvertToMiddleware(self.logger.inject_lambda_context(clear_state=True)))
        app.register_middleware(ConvertToMiddleware(self.metrics.log_metrics))
        app.register_middleware(self._discard_disabled_metrics)

    def _discard_disabled_metrics(self, event: Any, get_response: Any) -> Any:
        """With metrics disabled (local stack, tests) Powertools never clears them, then prints them all
        once a hundred pile up; drop them after each invocation instead."""
        try:
            return get_response(event)
        finally:
            if is_metrics_disabled():
                self.metrics.clear_metrics()


def observability(service: str) -> Observability:
    return Observability(
        logger=Logger(service=service),
        metrics=Metrics(namespace=METRICS_NAMESPACE, service=service),
    )
