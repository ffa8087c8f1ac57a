"""The token endpoint of the client-credentials grant (RFC 6749 section 4.4), as Cognito's `/oauth2/token` is.

The clients are the app clients of the tenant's user pool in the emulator's Cognito (`caseline client create`
makes them, in AWS and locally alike); the development issuer signs their access tokens. Errors are RFC 6749's
JSON (`{"error": "invalid_client"}`), as Cognito answers them.
"""

import base64
import binascii
import hmac
import json
from typing import Any
from urllib.parse import parse_qs, unquote

from botocore.exceptions import ClientError as AwsError
from botocore.exceptions import ParamValidationError

from ..client_cli import CLIENT_CREDENTIALS
from .idp import CLIENT_TOKEN_LIFETIME_SECONDS, DevIdentityProvider

FORM = "application/x-www-form-urlencoded"
Answer = tuple[int, dict[str, str], bytes]


def _answer(status: int, document: dict[str, Any], **headers: str) -> Answer:
    # RFC 6749 5.1: a token (or an error about one) is never cached.
    base = {"Content-Type": "application/json;charset=UTF-8", "Cache-Control": "no-store", "Pragma": "no-cache"}
    return status, {**base, **headers}, json.dumps(document).encode()


def _error(status: int, error: str, description: str) -> Answer:
    extra = {"WWW-Authenticate": 'Basic realm="token"'} if status == 401 else {}
    return _answer(status, {"error": error, "error_description": description}, **extra)


class TokenEndpoint:
    def __init__(self, idp: DevIdentityProvider, cognito: Any, user_pool_id: str) -> None:
        self._idp = idp
        self._cognito = cognito
        self._pool = user_pool_id

    def handle(self, headers: dict[str, str], body: bytes | None) -> Answer:
        lowered = {name.lower(): value for name, value in headers.items()}
        if lowered.get("content-type", "").split(";")[0].strip().lower() != FORM:
            return _error(400, "invalid_request", f"Send the parameters as {FORM}.")
        try:
            form = parse_qs((body or b"").decode())
        except UnicodeDecodeError:
            return _error(400, "invalid_request", "The body is not UTF-8.")
        if any(len(values) > 1 for values in form.values()):  # RFC 6749 3.2: no parameter more than once
            return _error(400, "invalid_request", "A parameter is repeated.")
        parameters = {name: values[0] for name, values in form.items()}
        if parameters.get("grant_type") != CLIENT_CREDENTIALS:
            return _error(400, "unsupported_grant_type", "Only grant_type=client_credentials is served here.")
        credentials = self._credentials(lowered.get("authorization"), parameters)
        if credentials is None:
            return _error(401, "invalid_client", "Authenticate the client: HTTP Basic, or client_id and secret.")
        client = self._client(*credentials)
        if client is None:
            return _error(401, "invalid_client", "Unknown client or wrong secret.")
        allowed = client.get("AllowedOAuthScopes", [])
        if CLIENT_CREDENTIALS not in client.get("AllowedOAuthFlows", []) or not allowed:
            return _error(400, "unauthorized_client", "This client may not use the client-credentials grant.")
        asked = parameters.get("scope", "").split() or allowed  # none asked: every scope the client has
        if not set(asked) <= set(allowed):
            refused = sorted(set(asked) - set(allowed))
            return _error(400, "invalid_scope", f"The client may not ask for {' '.join(refused)}.")
        token = self._idp.issue_client_token(client_id=client["ClientId"], scopes=sorted(asked))
        return _answer(
            200, {"access_token": token, "token_type": "Bearer", "expires_in": CLIENT_TOKEN_LIFETIME_SECONDS}
        )

    @staticmethod
    def _credentials(authorization: str | None, parameters: dict[str, str]) -> tuple[str, str] | None:
        """HTTP Basic (RFC 6749 2.3.1: form-encoded id and secret) or, instead, the form's fields; not both."""
        if authorization:
            scheme, _, encoded = authorization.partition(" ")
            if scheme.lower() != "basic" or "client_secret" in parameters:
                return None
            try:
                client_id, sep, secret = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None
            return (unquote(client_id), unquote(secret)) if sep and client_id else None
        in_form = parameters.get("client_id", ""), parameters.get("client_secret", "")
        return in_form if all(in_form) else None

    def _client(self, client_id: str, secret: str) -> dict[str, Any] | None:
        try:
            described = self._cognito.describe_user_pool_client(UserPoolId=self._pool, ClientId=client_id)
        except ParamValidationError:  # an id no client can have (too long, say)
            return None
        except AwsError as error:
            if error.response["Error"]["Code"] in ("ResourceNotFoundException", "InvalidParameterException"):
                return None
            raise
        client: dict[str, Any] = described["UserPoolClient"]
        expected = client.get("ClientSecret")
        if not expected or not hmac.compare_digest(expected.encode(), secret.encode()):
            return None
        return client
