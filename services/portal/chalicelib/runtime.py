"""Composition root of the portal service, built once per cold start."""

from caseline_common.runtime import ServiceRuntime
from caseline_common.settings import ServiceSettings


class PortalSettings(ServiceSettings):
    pass


runtime = ServiceRuntime("portal", PortalSettings)
