"""Verifies OIDC bearer tokens the way Cognito issues them (RS256, issuer, client, expiry, token use)."""

from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from .scopes import READ_ONLY, ours
from .tenant import Principal, StaffRole
from .text import SINGLE_LINE

if TYPE_CHECKING:
    from .jwks import ThrottledJWKClient


class AuthenticationError(Exception):
    """The request carries no usable credentials. The message is safe to show."""


NumericDate = Annotated[float, Field(strict=True, allow_inf_nan=False)]  # a JSON number, as RFC 7519 says


class _Claims(BaseModel):
    """The claims the services read, in the shapes Cognito issues them: any other shape is not a valid token."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    sub: Annotated[StrictStr, Field(min_length=1, max_length=256), SINGLE_LINE]
    use: Literal["id", "access"] = Field(alias="token_use")
    exp: NumericDate
    iat: NumericDate
    nbf: NumericDate | None = None
    aud: StrictStr | Annotated[list[StrictStr], Field(min_length=1, max_length=10)] | None = None
    azp: StrictStr | None = None
    client_id: StrictStr | None = None
    email: Annotated[StrictStr, Field(max_length=320), SINGLE_LINE] | None = None
    groups: list[Annotated[StrictStr, Field(max_length=128)]] = Field(
        default_factory=list, alias="cognito:groups", max_length=100
    )
    scope: Annotated[StrictStr, Field(max_length=4096)] | None = None  # space-separated, in access tokens

    @property
    def app_client(self) -> str | None:
        """The app client the token was issued to: `client_id` in access tokens, `azp` or the one `aud` in ID tokens."""
        if self.use == "access":
            return self.client_id
        if self.azp is not None:
            return self.azp
        audiences = [self.aud] if isinstance(self.aud, str) else self.aud or []
        return audiences[0] if len(audiences) == 1 else None  # several: `_for_us` requires `azp`

    @property
    def of_a_client(self) -> bool:
        """Cognito's client-credentials access token: the client is its own subject, and no person is in it."""
        return self.use == "access" and self.client_id is not None and self.sub == self.client_id


class TokenVerifier:
    """People's tokens must come from one of `client_ids` (the staff console's app client). Machine clients'
    tokens may come from any app client of the issuer (the tenant's user pool, where `caseline client create`
    adds them at run time) but must carry scopes of our resource server."""

    def __init__(self, *, issuer: str, client_ids: list[str], jwks_url: str) -> None:
        self._issuer = issuer
        self._client_ids = set(client_ids)
        self._jwks_url = jwks_url

    @cached_property
    def _jwks(self) -> "ThrottledJWKClient":
        from .jwks import ThrottledJWKClient  # PyJWT and cryptography: at the first token, not at import

        return ThrottledJWKClient(self._jwks_url)

    def principal_from_headers(self, headers: Mapping[str, str]) -> Principal:
        authorization = headers.get("authorization") or headers.get("Authorization") or ""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise AuthenticationError("A bearer token is required.")
        return self.verify(token.strip())

    def verify(self, token: str) -> Principal:
        import jwt

        try:
            signing_key = self._jwks.get_signing_key_from_jwt(token)
            payload: dict[str, Any] = jwt.decode(
                token,
                signing_key.key,
                algorithms=["RS256"],
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "token_use"], "verify_aud": False},
                leeway=5,
            )
            claims = _Claims.model_validate(payload)
        except (jwt.PyJWTError, jwt.PyJWKClientError, ValidationError) as error:
            raise AuthenticationError("The bearer token is not valid.") from error
        if claims.of_a_client:
            return self._client(claims)
        if not self._for_us(claims):
            raise AuthenticationError("The bearer token is not valid.")
        scopes = None if claims.scope is None else ours(claims.scope)  # ID tokens: the groups alone govern
        return Principal(
            subject=claims.sub,
            email=claims.email,
            groups=frozenset(claims.groups),
            scopes=scopes,
            app_client=claims.app_client,
        )

    @staticmethod
    def _client(claims: _Claims) -> Principal:
        """A machine client acts as a viewer with read scopes alone, as an administrator with any other: its
        scopes, which every operation checks, are what limit it."""
        scopes = ours(claims.scope)
        if not scopes:
            raise AuthenticationError("The bearer token is not valid: it carries none of this API's scopes.")
        role = StaffRole.VIEWER if scopes <= READ_ONLY else StaffRole.ADMIN
        return Principal(
            subject=claims.sub, groups=frozenset({role.value}), client=True, scopes=scopes, app_client=claims.sub
        )

    def _for_us(self, claims: _Claims) -> bool:
        """Cognito names the app client in `client_id` of access tokens and in `aud` of ID tokens. OIDC lets `aud`
        be a list: then every audience must be one of ours (OIDC Core 3.1.3.7: tokens with audiences we do not
        trust are rejected), and with several, `azp` must name one of ours too. `azp`, when present, always must."""
        if claims.use == "access":
            return claims.client_id in self._client_ids
        audiences = [claims.aud] if isinstance(claims.aud, str) else claims.aud or []
        if not audiences or not self._client_ids.issuperset(audiences):
            return False
        if claims.azp is not None or len(audiences) > 1:
            return claims.azp in self._client_ids
        return True
