"""The staff console as the local gateway serves it: its static files, its configuration, and the
development sign-in (a user picker whose tokens come from the development issuer).

In AWS the same files are served from S3 behind CloudFront, and `config.json` names Cognito's hosted UI.
"""

import gzip
import json
import mimetypes
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qs

from caseline_common.tenant import StaffRole

from ..console_assets import (
    ASSETS,
    IMMUTABLE,
    INDEX,
    REVALIDATE,
    asset_content,
    asset_files,
    index_html,
    source_path,
    version,
)
from ..paths import EXAMPLES_DIR, ROOT
from .idp import DevIdentityProvider

CONSOLE_DIR = ROOT / "console"
CONSOLE_PREFIX = "/console/"
TOKEN_PATH = "/_dev/console/token"  # noqa: S105 - a path, not a secret


@dataclass(frozen=True)
class DevUser:
    """A person of the development tenant: a user of its (emulated) Cognito pool, whom the directory lists, and whom
    the development issuer signs in."""

    id: str
    name: str
    role_label: str
    email: str
    groups: tuple[str, ...]

    @property
    def subject(self) -> str:
        """The user's one `sub`: the console's sign-in, `caseline token --role` and `LocalStack.staff_token` mint it,
        and the pool user carries it (provision.py)."""
        return f"dev-{self.id}"

    @property
    def label(self) -> str:
        return f"{self.name} ({self.role_label})"


def _front_line_groups() -> tuple[str, ...]:
    """The groups of each example template's owner role: the demo's case worker works every example's cases."""
    groups: set[str] = set()
    for path in EXAMPLES_DIR.glob("*.json"):
        definition = json.loads(path.read_text())
        for role in definition.get("roles", []):
            if role["key"] == definition.get("owner_role"):
                groups.update(role.get("groups", []))
    return tuple(sorted(groups))


DEV_USERS = (
    DevUser(
        "admin",
        "Dana Admin",
        "administrator",
        "dana.admin@demo.caseline.local",
        (StaffRole.ADMIN, StaffRole.STAFF),
    ),
    DevUser(
        "agent",
        "Sam Agent",
        "case worker",
        "sam.agent@demo.caseline.local",
        (StaffRole.STAFF, *_front_line_groups()),
    ),
    DevUser("viewer", "Vic Viewer", "read only", "vic.viewer@demo.caseline.local", (StaffRole.VIEWER,)),
)


def dev_user_by_email(email: str) -> DevUser | None:
    return next((user for user in DEV_USERS if user.email == email), None)


def _security_headers() -> dict[str, str]:
    # Uploads go by presigned POST straight to the bucket, which locally is the emulator's endpoint.
    storage = os.environ.get("CASELINE_AWS_ENDPOINT_URL", "")
    return {
        "Content-Security-Policy": (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self' {storage}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
        ).replace("  ", " "),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


def _current_version() -> str:
    """The console's version now: computed again only when a file of it changed (edits show on the next load)."""
    files = asset_files(CONSOLE_DIR)
    return _version_of(tuple((str(path), path.stat().st_mtime_ns, path.stat().st_size) for path in files))


@lru_cache(maxsize=4)
def _version_of(_signature: tuple[tuple[str, int, int], ...]) -> str:
    return version(CONSOLE_DIR)


@lru_cache(maxsize=256)
def _gzipped(content: bytes) -> bytes:
    return gzip.compress(content, compresslevel=6, mtime=0)


def console_file(path: str, accept_encoding: str = "") -> tuple[int, dict[str, str], bytes] | None:
    """A file of the console, or None when there is none (the gateway answers 404): as CloudFront serves the build
    (caseline/console_assets.py), `index.html` naming `assets/<version>/...`, which are kept a year, and text
    compressed for a browser that accepts gzip."""
    relative = path.removeprefix(CONSOLE_PREFIX) or INDEX
    cache = REVALIDATE
    if relative == INDEX:
        content = index_html(CONSOLE_DIR, _current_version()).encode()
    else:
        parts = relative.split("/", 2)
        if len(parts) == 3 and parts[0] == ASSETS:
            # A page loaded before an edit asks for its older version: today's file, not to be kept.
            cache = IMMUTABLE if parts[1] == _current_version() else REVALIDATE
            relative = parts[2]
        asset = source_path(CONSOLE_DIR, relative).resolve()
        if not asset.is_relative_to(CONSOLE_DIR.resolve()) or not asset.is_file():
            return None
        content = asset_content(asset)
    name = Path(relative).name
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    textual = content_type.startswith("text/") or name.endswith((".js", ".json", ".svg"))
    if textual:
        content_type = f"{'text/javascript' if name.endswith('.js') else content_type}; charset=utf-8"
    headers = {**_security_headers(), "Content-Type": content_type, "Cache-Control": cache, "Vary": "Accept-Encoding"}
    if textual and "gzip" in accept_encoding.lower():
        return 200, {**headers, "Content-Encoding": "gzip"}, _gzipped(content)
    return 200, headers, content


def console_config() -> bytes:
    """Where the API is and how to sign in: locally the same origin and the development user picker."""
    users = [{"id": user.id, "label": user.label} for user in DEV_USERS]
    return json.dumps({"api": "", "auth": {"mode": "dev", "token_url": TOKEN_PATH, "users": users}}).encode()


def dev_token(idp: DevIdentityProvider, query: str) -> tuple[int, dict[str, str], bytes] | None:
    """A token for one of the development users, as the hosted UI would give after sign-in."""
    wanted = parse_qs(query).get("user", [""])[0]
    user = next((user for user in DEV_USERS if user.id == wanted), None)
    if user is None:
        return None
    token = idp.issue(subject=user.subject, email=user.email, groups=[str(group) for group in user.groups])
    body = {"id_token": token, "user": {"id": user.id, "label": user.label, "email": user.email}}
    return 200, {"Content-Type": "application/json", "Cache-Control": "no-store"}, json.dumps(body).encode()
