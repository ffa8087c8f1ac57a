"""A development OIDC issuer whose tokens look like Cognito's, so services verify them as in production."""

import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

DEV_CLIENT_ID = "caseline-dev-staff-console"  # an API key value (its usage plan's) needs 20 characters or more
TOKEN_LIFETIME_SECONDS = 12 * 3600
CLIENT_TOKEN_LIFETIME_SECONDS = 3600  # what `caseline client create` sets on the clients it makes


class DevIdentityProvider:
    """Signs RS256 ID tokens with `sub`, `email` and `cognito:groups`, and machine clients' access tokens;
    publishes its key as a JWKS."""

    def __init__(self, issuer: str, key_file: Path | None = None) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = DEV_CLIENT_ID
        self._key = self._load_or_create_key(key_file)
        public_jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self._key.public_key()))
        self.key_id = jwt.PyJWK(public_jwk).key_id or str(uuid.uuid5(uuid.NAMESPACE_URL, public_jwk["n"]))
        self._public_jwk = {**public_jwk, "kid": self.key_id, "use": "sig", "alg": "RS256"}

    @staticmethod
    def _load_or_create_key(key_file: Path | None) -> rsa.RSAPrivateKey:
        """A persisted key keeps printed tokens valid across restarts of `caseline dev`."""
        if key_file is not None and key_file.exists():
            key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
            assert isinstance(key, rsa.RSAPrivateKey)
            return key
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if key_file is not None:
            key_file.parent.mkdir(parents=True, exist_ok=True)
            key_file.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            key_file.chmod(0o600)
        return key

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/.well-known/jwks.json"

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self._public_jwk]}

    def issue(
        self,
        *,
        subject: str,
        email: str,
        groups: list[str],
        lifetime_seconds: int = TOKEN_LIFETIME_SECONDS,
        now: float | None = None,
    ) -> str:
        issued_at = int(now if now is not None else time.time())
        claims = {
            "sub": subject,
            "email": email,
            "email_verified": True,
            "cognito:groups": groups,
            "cognito:username": email,
            "iss": self.issuer,
            "aud": self.client_id,
            "token_use": "id",
            "auth_time": issued_at,
            "iat": issued_at,
            "exp": issued_at + lifetime_seconds,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.key_id})

    def issue_client_token(
        self, *, client_id: str, scopes: list[str], lifetime_seconds: int = CLIENT_TOKEN_LIFETIME_SECONDS
    ) -> str:
        """An access token of the client-credentials grant, as Cognito issues it: the client is its own subject,
        `scope` lists what it was granted, and no person's claims are in it."""
        issued_at = int(time.time())
        claims = {
            "sub": client_id,
            "client_id": client_id,
            "token_use": "access",
            "scope": " ".join(scopes),
            "iss": self.issuer,
            "auth_time": issued_at,
            "iat": issued_at,
            "exp": issued_at + lifetime_seconds,
            "version": 2,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.key_id})
