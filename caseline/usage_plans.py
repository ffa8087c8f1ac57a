"""The usage plans of a tenant's API: one per app client, whose one API key's value is the client's id.

The API's authorizer returns the id of the app client a token came from as its usage key
(caseline_common.authorizer), so API Gateway counts each machine client's requests against its own plan, and people's
against the staff plan, before the method's bucket everyone shares. `caseline client` keeps integrators' plans here;
the local gateway reads the same plans from the emulator's API Gateway (caseline/local/client_limits.py).
"""

from dataclasses import dataclass
from typing import Any

from caseline_common.resources import TenantResourceNames

STAGE = "api"  # the API's one stage (infra/api_stack.py)
# An integrator's plan unless `--rate`/`--burst` say otherwise: a few steady requests a second, with room for a page
# of parallel reads; raise it per client with `caseline client limit`.
DEFAULT_RATE_PER_SECOND = 10.0
DEFAULT_BURST = 20
MAX_RATE_PER_SECOND = 10_000.0  # API Gateway's default account-wide rate in a region
MAX_BURST = 5_000
MIN_KEY_LENGTH = 20  # API Gateway refuses shorter API key values


class UsagePlanError(Exception):
    """The plan cannot be read or changed; the message says why, for the console."""


@dataclass(frozen=True)
class Limit:
    rate_per_second: float
    burst: int

    def __post_init__(self) -> None:
        if not 0 < self.rate_per_second <= MAX_RATE_PER_SECOND:
            raise UsagePlanError(f"The rate must be above 0 and at most {MAX_RATE_PER_SECOND:,.0f} requests a second.")
        if not 1 <= self.burst <= MAX_BURST:
            raise UsagePlanError(f"The burst must be between 1 and {MAX_BURST:,} requests.")


DEFAULT_LIMIT = Limit(DEFAULT_RATE_PER_SECOND, DEFAULT_BURST)


def api_name(names: TenantResourceNames) -> str:
    return f"{names.prefix()}-api"


def plan_name(names: TenantResourceNames, client: str) -> str:
    """The plan's (and its key's) name: `staff`, `probe`, or `client-<client id>` for an integrator."""
    return f"{names.prefix()}-{client}"


def client_plan(client_id: str) -> str:
    return f"client-{client_id}"


class UsagePlans:
    """The plans on the tenant API's stage, through API Gateway's API (boto3's `apigateway` client)."""

    def __init__(self, apigateway: Any, names: TenantResourceNames) -> None:
        self._apigateway = apigateway
        self._names = names

    def api_id(self) -> str:
        wanted = api_name(self._names)
        for page in self._apigateway.get_paginator("get_rest_apis").paginate():
            for api in page["items"]:
                if api["name"] == wanted:
                    return str(api["id"])
        raise UsagePlanError(
            f"No API {wanted}: is the tenant {self._names.tenant_id!r} deployed in this account and region (locally: "
            "is `caseline dev --tenant` running, and --endpoint-url its emulator)?"
        )

    def _plans(self, api_id: str) -> list[dict[str, Any]]:
        return [
            plan
            for page in self._apigateway.get_paginator("get_usage_plans").paginate()
            for plan in page["items"]
            if any(each.get("apiId") == api_id and each.get("stage") == STAGE for each in plan.get("apiStages", []))
        ]

    def _plan(self, api_id: str, client: str) -> dict[str, Any] | None:
        name = plan_name(self._names, client)
        return next((plan for plan in self._plans(api_id) if plan["name"] == name), None)

    def set(self, client: str, key_value: str, limit: Limit) -> None:
        """The client's plan at `limit`: made (with its key) if missing, else its throttle replaced."""
        if len(key_value) < MIN_KEY_LENGTH:
            raise UsagePlanError(f"{key_value!r} is too short for an API key ({MIN_KEY_LENGTH} characters or more).")
        api_id = self.api_id()
        plan = self._plan(api_id, client)
        throttle = {"rateLimit": limit.rate_per_second, "burstLimit": limit.burst}
        if plan is not None:
            self._apigateway.update_usage_plan(
                usagePlanId=plan["id"],
                patchOperations=[
                    {"op": "replace", "path": "/throttle/rateLimit", "value": f"{limit.rate_per_second:g}"},
                    {"op": "replace", "path": "/throttle/burstLimit", "value": str(limit.burst)},
                ],
            )
            return
        name = plan_name(self._names, client)
        key = self._apigateway.create_api_key(name=name, value=key_value, enabled=True)
        plan = self._apigateway.create_usage_plan(
            name=name, apiStages=[{"apiId": api_id, "stage": STAGE}], throttle=throttle
        )
        self._apigateway.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")

    def remove(self, client: str) -> None:
        """The client's plan and key, if it has them: its tokens then get 403 from the API."""
        api_id = self.api_id()
        plan = self._plan(api_id, client)
        if plan is None:
            return
        keys = self._apigateway.get_usage_plan_keys(usagePlanId=plan["id"])["items"]
        for key in keys:
            self._apigateway.delete_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"])
        # A plan still attached to a stage cannot be deleted.
        self._apigateway.update_usage_plan(
            usagePlanId=plan["id"],
            patchOperations=[{"op": "remove", "path": "/apiStages", "value": f"{api_id}:{STAGE}"}],
        )
        self._apigateway.delete_usage_plan(usagePlanId=plan["id"])
        for key in keys:
            self._apigateway.delete_api_key(apiKey=key["id"])

    def limits(self) -> dict[str, Limit]:
        """Each usage key (an app client's id) of the stage's plans, with its plan's throttle."""
        found: dict[str, Limit] = {}
        for plan in self._plans(self.api_id()):
            throttle = plan.get("throttle") or {}
            if "rateLimit" not in throttle or "burstLimit" not in throttle:
                continue  # a plan without a throttle limits nothing here
            limit = Limit(float(throttle["rateLimit"]), int(throttle["burstLimit"]))
            for page in self._apigateway.get_paginator("get_usage_plan_keys").paginate(usagePlanId=plan["id"]):
                for key in page["items"]:
                    found[key["value"]] = limit
        return found
