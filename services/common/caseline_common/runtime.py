"""What each service builds once per cold start: settings, AWS clients, token verifier, HTTP layer."""

from functools import cached_property
from typing import Any, Generic

from chalice.app import Blueprint

from .auth import TokenVerifier
from .aws import AwsClients
from .http import HttpApi, Reply, Tag
from .observability import observability
from .settings import SettingsT, load_settings

API_VERSION = "0.1.0"
SERVICE_TAG = Tag("service", "Each service's health, and its own part of this document.")


class ServiceRuntime(Generic[SettingsT]):
    def __init__(self, service: str, settings_type: type[SettingsT]) -> None:
        self.service = service
        self.observability = observability(service, tenant_id=lambda: self.settings.tenant_id)
        self._settings_type = settings_type

    @cached_property
    def settings(self) -> SettingsT:
        """Read from the environment once per cold start; a missing resource name fails it."""
        return load_settings(self._settings_type)

    @cached_property
    def aws(self) -> AwsClients:
        return AwsClients(self.settings.aws_region, self.settings.aws_endpoint_url)

    @cached_property
    def verifier(self) -> TokenVerifier:
        return TokenVerifier(
            issuer=self.settings.oidc_issuer,
            client_ids=self.settings.oidc_client_ids,
            jwks_url=self.settings.jwks_url,
        )

    def http_api(self, blueprint: Blueprint) -> HttpApi:
        """The service's HTTP layer, with its health and OpenAPI routes already declared."""
        api = HttpApi(
            service=self.service,
            blueprint=blueprint,
            tenant_id=lambda: self.settings.tenant_id,
            verifier=lambda: self.verifier,
            max_request_bytes=lambda: self.settings.max_request_bytes,
            logger=self.observability.logger,
            console_origin=lambda: self.settings.console_origin,
        )

        def health(_call: Any) -> Reply:
            """Whether the service is up and configured: its name, `ok`, and the tenant it serves. Public; it
            reads no data, so a monitor can call it as often as it likes."""
            # Reading the settings proves the function is configured; it costs no AWS call.
            return Reply({"service": self.service, "status": "ok", "tenant_id": self.settings.tenant_id})

        def openapi(_call: Any) -> Reply:
            """The OpenAPI 3.1 document of this service's operations alone. Public. The API's reference merges
            every service's document into one, with the webhooks."""
            from .openapi import build_openapi  # the whole event catalogue's schemas: only this route needs them

            return Reply(
                build_openapi(title=f"Caseline {self.service}", version=API_VERSION, operations=api.all_operations())
            )

        health.__name__ = f"{self.service}_health"
        openapi.__name__ = f"{self.service}_openapi"
        api.operation(
            "GET",
            f"/health/{self.service}",
            summary=f"Health of the {self.service} service",
            public=True,
            tag=SERVICE_TAG,
        )(health)
        api.operation(
            "GET",
            f"/openapi/{self.service}.json",
            summary="This service's OpenAPI 3.1 document",
            public=True,
            tag=SERVICE_TAG,
        )(openapi)
        return api
