"""Composition root of the automations service, built once per cold start."""

from caseline_common.runtime import ServiceRuntime
from caseline_common.settings import ServiceSettings


class AutomationsSettings(ServiceSettings):
    pass


runtime = ServiceRuntime("automations", AutomationsSettings)
