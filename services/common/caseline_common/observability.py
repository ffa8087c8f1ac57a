"""Powertools Logger and Metrics for one service, wired into its Chalice app.

Tracing is Lambda's own (active tracing in infra/service_stack.py): each invocation's segment, its
initialization and the API Gateway hop, with no SDK in the function. The Powertools Tracer and the X-Ray SDK
it loads would add a subsegment per AWS call for ~100 ms more at every cold start (docs/architecture.md,
"Tracing without an SDK in the function"); logs still carry the invocation's `xray_trace_id`.

Every metric carries the tenant as a dimension beside the service: tenants may share an account and region, and
each one's alarms and dashboards select its own (infra/monitoring.py).
"""

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from chalice.app import Chalice, ConvertToMiddleware

METRICS_NAMESPACE = "Caseline"
TENANT_DIMENSION = "tenant"

# Most HTTP invocations add no metric; Powertools would warn on every one of them.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)


@dataclass(frozen=True)
class Observability:
    logger: Logger
    metrics: Metrics
    # The tenant the function serves, from its settings: read before its first metrics are flushed, not at import.
    tenant_id: Callable[[], str]

    def instrument(self, app: Chalice) -> None:
        """Every function of the app logs with its Lambda context and flushes its metrics, each with the tenant."""
        app.register_middleware(ConvertToMiddleware(self.logger.inject_lambda_context(clear_state=True)))
        app.register_middleware(ConvertToMiddleware(self.metrics.log_metrics))
        app.register_middleware(self._tenant_dimension)
        app.register_middleware(self._discard_disabled_metrics)

    def _tenant_dimension(self, event: Any, get_response: Any) -> Any:
        """The tenant joins the dimensions once the function has added a metric, before the flush (the middleware
        outside this one): a route that adds none, such as an OpenAPI document, reads no settings for it. A default
        dimension, it stays through every flush of the instance."""
        try:
            return get_response(event)
        finally:
            if self.metrics.metric_set and TENANT_DIMENSION not in self.metrics.default_dimensions:
                self.metrics.set_default_dimensions(**{TENANT_DIMENSION: self.tenant_id()})

    def _discard_disabled_metrics(self, event: Any, get_response: Any) -> Any:
        """With metrics disabled (local stack, tests) Powertools never clears them, then prints them all
        once a hundred pile up; drop them after each invocation instead."""
        try:
            return get_response(event)
        finally:
            if is_metrics_disabled():
                self.metrics.clear_metrics()


def observability(service: str, tenant_id: Callable[[], str]) -> Observability:
    return Observability(
        logger=Logger(service=service),
        metrics=Metrics(namespace=METRICS_NAMESPACE, service=service),
        tenant_id=tenant_id,
    )
