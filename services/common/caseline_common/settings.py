"""Service configuration: a pydantic model read once per cold start from the environment.

A service declares its settings as a subclass of ServiceSettings, a plain pydantic model; `load_settings` reads
it from the environment with pydantic-settings when the service first reads them (ServiceRuntime.settings), so
the ~35 ms pydantic-settings costs to import are not in the handler module's import.
"""

from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

# A download origin (`https://dxxxx.cloudfront.net`, or the local gateway's `http://127.0.0.1:8000/_documents`):
# scheme and host, maybe a path, no trailing slash, query or fragment; a presigned path is appended to it.
DOWNLOAD_URL = r"^https?://[^/?#]+(/[^?#]*[^/?#])?$"
ENV_PREFIX = "CASELINE_"


class ServiceSettings(BaseModel):
    """What every service needs. Names of resources have no defaults: a missing one fails the cold start."""

    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)

    tenant_id: str = Field(pattern=r"^[a-z][a-z0-9-]{1,30}$")
    aws_region: str
    aws_endpoint_url: str | None = None
    event_bus_name: str
    oidc_issuer: str
    oidc_client_ids: list[str] = Field(min_length=1)
    oidc_jwks_url: str | None = None
    # An event carries about its request's data, and EventBridge takes at most 256 KB per entry and per
    # PutEvents call: 200 KiB leaves room for the envelope.
    max_request_bytes: int = 200 * 1024
    console_origin: str | None = Field(
        default=None, pattern=r"^https?://[^/]+$", description="The staff console's origin, allowed by CORS."
    )

    @property
    def jwks_url(self) -> str:
        return self.oidc_jwks_url or f"{self.oidc_issuer.rstrip('/')}/.well-known/jwks.json"


SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


@cache
def _from_environment(settings_type: type[ServiceSettings]) -> Any:
    """`settings_type` as pydantic-settings' BaseSettings: same fields and checks, read from CASELINE_*."""
    from pydantic_settings import BaseSettings, SettingsConfigDict

    config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")
    return type(settings_type.__name__, (settings_type, BaseSettings), {"model_config": config})


def load_settings(settings_type: type[SettingsT]) -> SettingsT:
    """The service's settings from the environment (an instance of `settings_type`); a missing or invalid
    value raises pydantic's ValidationError, which fails the cold start."""
    settings: SettingsT = _from_environment(settings_type)()
    return settings
