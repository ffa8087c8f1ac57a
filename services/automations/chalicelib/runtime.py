"""Composition root of the automations service, built once per cold start."""

from pydantic import Field

from caseline_common.runtime import ServiceRuntime
from caseline_common.settings import ServiceSettings


class AutomationsSettings(ServiceSettings):
    automations_table: str = Field(min_length=3)
    mail_from: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="The sender of rule e-mails.")
    automation_max_depth: int = Field(
        default=5, ge=1, le=20, description="How many rules may follow one another before the chain stops."
    )
    allow_insecure_webhooks: bool = Field(
        default=False, description="Accept http:// webhook URLs on loopback addresses (the local stack only)."
    )


runtime = ServiceRuntime("automations", AutomationsSettings)
