"""The development mailbox: what the services sent through the emulator's SES, as a page and as JSON.

moto keeps sent messages in memory and has no SES API to list them; its dashboard data
(`GET /moto-api/data.json`) holds every `ses.Message` (id, source, destinations, subject, body) in the
order they were sent. moto records no send time, so a message's `sent_at` is the emulator's own when it
has one and otherwise the moment this mailbox first saw it.
"""

import html
import json
import re
import threading
import urllib.request
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

MAILBOX_PATH = "/_dev/mailbox"
_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")
_DESTINATION_KINDS = ("ToAddresses", "CcAddresses", "BccAddresses")


@dataclass(frozen=True)
class Mail:
    id: str
    source: str
    destinations: list[str]
    subject: str
    body: str
    sent_at: str | None


class _TextOfHtml(HTMLParser):
    """Plain text of an HTML body (moto keeps only the HTML part when a message has both), links kept."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in ("br", "p", "div", "li", "tr", "h1", "h2", "h3"):
            self.parts.append("\n")
        elif tag == "a":
            self._href = dict(attrs).get("href")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag == "a" and self._href:
            self.parts.append(f" ({self._href})")
            self._href = None

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _text(body: str) -> str:
    if not re.search(r"<(html|body|p|div|a|br)\b", body, re.IGNORECASE):
        return body
    parser = _TextOfHtml()
    parser.feed(body)
    return re.sub(r"\n{3,}", "\n\n", "".join(parser.parts)).strip()


class Mailbox:
    def __init__(self, emulator_endpoint: str, timeout: float = 10.0) -> None:
        self._data_url = f"{emulator_endpoint.rstrip('/')}/moto-api/data.json?service=ses"  # see moto_fixes
        self._timeout = timeout
        self._first_seen: dict[str, str] = {}
        self._lock = threading.Lock()

    def mails(self) -> list[Mail]:
        """Every message sent so far, newest first."""
        with urllib.request.urlopen(self._data_url, timeout=self._timeout) as response:  # noqa: S310 - loopback emulator
            data: dict[str, Any] = json.loads(response.read())
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        mails = []
        for message in data.get("ses", {}).get("Message", []):
            with self._lock:
                seen = self._first_seen.setdefault(message["id"], now)
            destinations = message.get("destinations") or {}
            mails.append(
                Mail(
                    id=message["id"],
                    source=message.get("source", ""),
                    destinations=[address for kind in _DESTINATION_KINDS for address in destinations.get(kind, [])],
                    subject=message.get("subject") or "",
                    body=_text(message.get("body") or ""),
                    sent_at=message.get("sent_at") or seen,
                )
            )
        return list(reversed(mails))


def mailbox_json(mails: list[Mail]) -> bytes:
    return json.dumps([asdict(mail) for mail in mails]).encode()


def _linked(text: str) -> str:
    """Escaped text with its http(s) links made clickable."""
    parts, last = [], 0
    for match in _URL.finditer(text):
        url = match.group(0)
        parts.append(html.escape(text[last : match.start()]))
        parts.append(f'<a href="{html.escape(url)}">{html.escape(url)}</a>')
        last = match.end()
    parts.append(html.escape(text[last:]))
    return "".join(parts)


def mailbox_page(mails: list[Mail]) -> str:
    items = "\n".join(
        f"""<li><article aria-labelledby="mail-{index}">
<h2 id="mail-{index}">{html.escape(mail.subject) or "(no subject)"}</h2>
<dl>
<dt>From</dt><dd>{html.escape(mail.source)}</dd>
<dt>To</dt><dd>{html.escape(", ".join(mail.destinations))}</dd>
<dt>Sent</dt><dd><time datetime="{html.escape(mail.sent_at or "")}">{html.escape(mail.sent_at or "unknown")}</time></dd>
</dl>
<div class="body">{_linked(mail.body)}</div>
</article></li>"""
        for index, mail in enumerate(mails, start=1)
    )
    content = f'<ol class="mails">\n{items}\n</ol>' if mails else "<p>No mail has been sent yet.</p>"
    count = f"{len(mails)} message{'s' if len(mails) != 1 else ''}, newest first."
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Mailbox · Caseline (local)</title>
<style>
body {{ font: 1rem/1.5 system-ui, sans-serif; max-width: 48rem; margin: 0 auto; padding: 1rem; color: #1a1a1a; }}
ol.mails {{ list-style: none; padding: 0; }}
article {{ border: 1px solid #767676; border-radius: 0.5rem; padding: 0 1rem 1rem; margin: 1rem 0; }}
dl {{ display: grid; grid-template-columns: max-content 1fr; gap: 0 1rem; }}
dt {{ font-weight: 600; }} dd {{ margin: 0; overflow-wrap: anywhere; }}
.body {{ white-space: pre-wrap; overflow-wrap: anywhere; background: #f3f3f3; padding: 0.75rem; }}
a {{ color: #0b57d0; }} a:focus {{ outline: 3px solid #1a1a1a; outline-offset: 2px; }}
</style></head>
<body><main>
<h1>Mailbox</h1>
<p>E-mail the local services sent through the emulator's SES. {count}
<a href="{MAILBOX_PATH}.json">As JSON</a>.</p>
{content}
</main></body></html>"""
