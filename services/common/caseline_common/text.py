"""Text people type: one line (titles, names, file names, labels) or several (comments, reasons, descriptions).

Characters that do not show as what they are, are refused rather than stripped, so what is stored is what the
sender saw: a NUL cuts text short in other systems, an ANSI escape rewrites a terminal, and a right-to-left
override makes the file name "invoice\u202efdp.exe" read as "invoiceexe.pdf" (Trojan Source, CVE-2021-42574).

Use the markers last, after any length or strip constraint on `str`, so those apply to the string itself:
`Annotated[str, Field(max_length=200), SINGLE_LINE]`.
"""

import re
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from . import formats

# Format characters (Unicode category Cf) that reorder or hide text: the bidi embeddings and overrides
# (U+202A-U+202E) and isolates (U+2066-U+2069), the deprecated format controls (U+206A-U+206F), zero width space,
# word joiner and the invisible operators, the byte order mark, interlinear annotations, the Mongolian vowel
# separator and the language tag; plus the line and paragraph separators (Zl, Zp). The Cf characters writing
# needs stay allowed: soft hyphen, ZWNJ and ZWJ (Indic scripts, emoji), the LRM, RLM and ALM marks (they order
# no text, only neutral characters beside them), the Arabic, Syriac and Kaithi prepended marks, Egyptian,
# shorthand and musical format characters, and the tag characters of subdivision flag emoji.
_HIDDEN = r"\u180e\u200b\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000e0001"
# C0 and C1 controls and DEL (category Cc), and lone surrogates (Cs), which have no UTF-8 form at all.
_NOT_IN_ONE_LINE = re.compile(rf"[\x00-\x1f\x7f-\x9f\ud800-\udfff{_HIDDEN}]")
# The same, but for tab and line feed.
_NOT_IN_LINES = re.compile(rf"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff{_HIDDEN}]")
_LINE_BREAKS = re.compile(r"\r\n?")
_BREAKS = "\n\r\u2028\u2029"


def _check(value: str, refused: re.Pattern[str], *, one_line: bool) -> str:
    match = refused.search(value)
    if match is None:
        return value
    found = {"code": f"U+{ord(match.group()):04X}", "position": match.start()}
    if one_line and match.group() in _BREAKS:
        raise PydanticCustomError("single_line", "must be a single line ({code} at character {position})", found)
    raise PydanticCustomError(
        "hidden_character",
        "must not contain control characters, bidirectional overrides or invisible formatting characters "
        "({code} at character {position})",
        found,
    )


def _single_line(value: str) -> str:
    return _check(value, _NOT_IN_ONE_LINE, one_line=True)


def _multi_line(value: str) -> str:
    """Line breaks are kept as \\n (browsers send a textarea's as \\r\\n); tabs are kept too."""
    return _check(_LINE_BREAKS.sub("\n", value), _NOT_IN_LINES, one_line=False)


SINGLE_LINE = AfterValidator(_single_line)
MULTI_LINE = AfterValidator(_multi_line)

SingleLineText = Annotated[str, SINGLE_LINE]
MultiLineText = Annotated[str, MULTI_LINE]
# A file's name as people see it: one line, no folders.
FileName = Annotated[str, Field(min_length=1, max_length=255, pattern=formats.FILE_NAME), SINGLE_LINE]

# Every id (ULIDs, template keys, Cognito subjects, participant ids) fits this; anything else names nothing that
# exists, and would otherwise reach DynamoDB as an oversized or odd key. Ids in a path are held to it too (http.py).
ID_PATTERN = formats.ID
Identifier = Annotated[str, Field(pattern=ID_PATTERN, description="An id: A-Z, a-z, 0-9, . _ : @ -, up to 256.")]
