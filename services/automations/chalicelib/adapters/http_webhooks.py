"""Sends a webhook with the standard library: one POST, a short timeout, no redirects."""

import http.client
import ipaddress
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ..webhook_service import SendResult

TIMEOUT_SECONDS = 5.0
USER_AGENT = "Caseline-Webhooks/1"
_MAX_ERROR_CHARS = 500


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect could lead anywhere, an internal address included: it counts as a failed attempt."""

    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None


def _unreachable(host: str, *, allow_loopback: bool) -> str | None:
    """Why the host must not be called: a name can resolve to an internal address (cloud metadata, the
    VPC) however public it looks, so every address it resolves to now is checked."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError as error:
        return f"the host does not resolve: {error}"
    for raw in addresses:
        address = ipaddress.ip_address(str(raw).split("%")[0])
        if address.is_loopback and allow_loopback:
            continue
        if not address.is_global or address.is_multicast:
            return f"the host resolves to {address}, which is not a public address"
    return None


class UrllibWebhookSender:
    def __init__(self, *, timeout_seconds: float = TIMEOUT_SECONDS, allow_loopback: bool = False) -> None:
        self._timeout = timeout_seconds
        self._allow_loopback = allow_loopback
        self._opener = urllib.request.build_opener(_NoRedirects())

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult:
        # The URL was checked (https, or loopback where allowed) when the subscription was made; where its
        # name points is checked now, just before the call.
        refused = _unreachable(urlsplit(url).hostname or "", allow_loopback=self._allow_loopback)
        if refused is not None:
            return SendResult(status_code=None, error=refused, duration_ms=0)
        request = urllib.request.Request(  # noqa: S310
            url, data=body, method="POST", headers={**headers, "user-agent": USER_AGENT}
        )
        started = time.monotonic()
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                status: int = response.status
            return SendResult(status_code=status, error=None, duration_ms=self._since(started))
        except urllib.error.HTTPError as error:  # any status but 2xx, redirects included
            error.close()
            return SendResult(status_code=error.code, error=None, duration_ms=self._since(started))
        except (OSError, ValueError, http.client.HTTPException) as error:  # refused, timed out, TLS, malformed reply
            reason = getattr(error, "reason", None) or error
            detail = f"{type(error).__name__}: {reason}"[:_MAX_ERROR_CHARS]
            return SendResult(status_code=None, error=detail, duration_ms=self._since(started))

    @staticmethod
    def _since(started: float) -> int:
        return int((time.monotonic() - started) * 1000)
