"""Verifies OIDC bearer tokens the way Cognito issues them (RS256, issuer, client, expiry, token use)."""

import time
from collections.abc import Mapping
from typing import Any

import jwt

from .tenant import Principal


class AuthenticationError(Exception):
    """The request carries no usable credentials. The message is safe to show."""


class _ThrottledJWKClient(jwt.PyJWKClient):
    """PyJWKClient fetches the key set again for every token whose `kid` it does not know, so anyone could
    make every request call the issuer. Refetch for unknown keys at most once a minute."""

    min_refresh_seconds = 60.0

    def __init__(self, uri: str) -> None:
        super().__init__(uri, cache_jwk_set=True, lifespan=300, timeout=5)
        self._last_refresh = 0.0

    def get_signing_keys(self, refresh: bool = False) -> list[jwt.PyJWK]:
        if refresh:
            if time.monotonic() - self._last_refresh < self.min_refresh_seconds:
                refresh = False
            else:
                self._last_refresh = time.monotonic()
        return super().get_signing_keys(refresh)


class TokenVerifier:
    def __init__(self, *, issuer: str, client_ids: list[str], jwks_url: str) -> None:
        self._issuer = issuer
        self._client_ids = set(client_ids)
        self._jwks = _ThrottledJWKClient(jwks_url)

    def principal_from_headers(self, headers: Mapping[str, str]) -> Principal:
        authorization = headers.get("authorization") or headers.get("Authorization") or ""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise AuthenticationError("A bearer token is required.")
        return self.verify(token.strip())

    def verify(self, token: str) -> Principal:
        try:
            signing_key = self._jwks.get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                signing_key.key,
                algorithms=["RS256"],
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "token_use"], "verify_aud": False},
                leeway=5,
            )
        except (jwt.PyJWTError, jwt.PyJWKClientError, TypeError) as error:  # TypeError: `aud` given as a list
            raise AuthenticationError("The bearer token is not valid.") from error
        # Cognito puts the app client in `aud` for ID tokens and in `client_id` for access tokens.
        use = claims["token_use"]
        client = claims.get("aud") if use == "id" else claims.get("client_id")
        if use not in ("id", "access") or client not in self._client_ids:
            raise AuthenticationError("The bearer token is not valid.")
        return Principal(
            subject=claims["sub"],
            email=claims.get("email"),
            groups=frozenset(claims.get("cognito:groups", [])),
        )
