"""Whether an upload's bytes are of the content type it declares.

The service finds what the bytes look like (the file signatures puremagic knows, whether they are text); this
module holds the rule that compares that with the declared type, so the rule is plain Python.
"""

import re
from dataclasses import dataclass

from caseline_common.errors import FieldIssue, InvalidInputError

ANY_FILE = "application/octet-stream"  # a template that declares it takes files of any kind, unchecked

# Text has no signature: a declared text type is accepted when the bytes are text and not markup.
PLAIN_TEXT = frozenset(
    {
        "text/plain",
        "text/csv",
        "text/tab-separated-values",
        "text/markdown",
        "text/calendar",
        "text/vcard",
        "application/json",
    }
)
# Markup a browser runs scripts in, were it ever to render the file.
MARKUP = frozenset({"text/html", "application/xhtml+xml", "image/svg+xml"})

# Declared types whose files the signature table names otherwise: an older or vendor name of the same format, or
# the container the format is built on (a HEIF image whose major brand is mif1 is an ISO BMFF file, like MP4;
# legacy Office files are OLE compound files).
_SIGNED_AS: dict[str, frozenset[str]] = {
    "image/jpg": frozenset({"image/jpeg"}),
    "image/pjpeg": frozenset({"image/jpeg"}),
    "image/heic": frozenset({"image/heif", "video/mp4"}),
    "image/heif": frozenset({"image/heic", "video/mp4"}),
    "application/x-pdf": frozenset({"application/pdf"}),
    "application/x-zip-compressed": frozenset({"application/zip"}),
    "application/msword": frozenset({"application/x-ole-storage"}),
    "application/vnd.ms-excel": frozenset({"application/excel", "application/x-ole-storage"}),
    "application/vnd.ms-powerpoint": frozenset({"application/mspowerpoint", "application/x-ole-storage"}),
    "text/xml": frozenset({"application/xml"}),
}
# Formats that are zip archives with particular members: their signature is the zip's.
_ZIP_BASED = (
    "application/vnd.openxmlformats-officedocument.",
    "application/vnd.oasis.opendocument.",
    "application/epub+zip",
)

# What browsers sniff as HTML or XML at the start of a resource (WHATWG MIME Sniffing, "rules for identifying an
# unknown MIME type"), after a byte order mark and white space; and elements that run code or embed documents
# anywhere in the first bytes.
_STARTS_AS_MARKUP = re.compile(
    rb"(?:\xef\xbb\xbf)?[\t\n\x0c\r ]*<(?:(?:!doctype html|html|head|script|iframe|h1|div|font|table|a|style|title"
    rb"|b|body|br|p|!--)(?:[ >]|$)|\?xml)",
    re.IGNORECASE,
)
_ACTIVE_MARKUP = re.compile(rb"<(?:script|svg|iframe|object|embed|html|!doctype html)[\s>/]", re.IGNORECASE)


@dataclass(frozen=True)
class Detected:
    """What an upload's bytes look like."""

    signatures: frozenset[str]  # the MIME types of every file signature the bytes carry
    text: bool  # no byte is a control character that text never holds
    markup: bool  # HTML or XML, by the way it starts or by script-running elements early on


def looks_like_markup(head: bytes) -> bool:
    """Whether the first bytes of a file are HTML or XML a browser would treat as a document."""
    return bool(_STARTS_AS_MARKUP.match(head) or _ACTIVE_MARKUP.search(head))


def _signed_as(declared: str) -> frozenset[str]:
    zip_based = declared.startswith(_ZIP_BASED)
    return frozenset({declared}) | _SIGNED_AS.get(declared, frozenset()) | ({"application/zip"} if zip_based else set())


def content_problem(declared: str, detected: Detected, identifiable: frozenset[str]) -> str | None:
    """Why the bytes are not `declared`, or None when they are. `identifiable` are the types some known signature
    proves: a declared type outside it cannot be checked, and is only refused as markup."""
    markup = detected.markup or bool(detected.signatures & MARKUP)
    if declared == ANY_FILE:
        return None
    if declared in PLAIN_TEXT:
        if not detected.text:
            return "it holds binary data, not text"
        return "it is HTML or XML markup" if markup else None
    accepted = _signed_as(declared)
    if accepted & detected.signatures:
        return None
    if not accepted & identifiable:
        return "it is HTML or XML markup" if markup else None
    return "its bytes do not carry that format's signature"


def check_content(declared: str, detected: Detected, identifiable: frozenset[str]) -> None:
    problem = content_problem(declared, detected, identifiable)
    if problem is not None:
        raise InvalidInputError(
            f"The file is not {declared}: {problem}.",
            [FieldIssue(pointer="/content_type", detail=f"the file is not {declared}: {problem}")],
        )
