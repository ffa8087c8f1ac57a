"""The API's request authorizer in AWS (caseline_common.authorizer), deployed from the tasks package: of the
services' packages it imports quickest, and an authorizer's cold start lies on a request's path."""

from functools import cache
from typing import Any

from caseline_common.authorizer import AuthorizerSettings, authorizer_response
from caseline_common.settings import load_settings


@cache
def _settings() -> AuthorizerSettings:
    return load_settings(AuthorizerSettings)


def api_authorizer(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    settings = _settings()
    return authorizer_response(event, settings.verifier, settings.route_scopes)
