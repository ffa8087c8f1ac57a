"""The issuer's key set, fetched and cached; imported with PyJWT (and cryptography) at the first token verified,
not at every cold start: functions that serve no bearer token never load them."""

import time

import jwt


class ThrottledJWKClient(jwt.PyJWKClient):
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
