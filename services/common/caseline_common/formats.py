"""The shapes of strings the API accepts: each a regular expression for pydantic, and the words that tell a person
what to type.

pydantic words a mismatch as "String should match pattern '^[a-z][a-z0-9_]{0,62}$'", which only a programmer can
read; `errors.issues_from_validation` says these words instead, and never shows a pattern.
"""

KEY = r"^[a-z][a-z0-9_]{0,62}$"
TEMPLATE_KEY = r"^[a-z][a-z0-9-]{1,62}$"
CONTENT_TYPE = r"^[a-z]+/[a-z0-9.+-]+$"
CURRENCY = r"^[A-Z]{3}$"
TIME_OF_DAY = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
DAY = r"^\d{4}-\d{2}-\d{2}$"
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
EVENT_TYPE = r"^[a-z]+(_[a-z]+)*\.[a-z]+(_[a-z]+)*$"
HTTPS_URL = r"^https://"
COLOUR = r"^#[0-9a-fA-F]{6}$"
E164_PHONE = r"^\+[1-9][0-9]{6,14}$"
ULID = r"^[0-9A-HJKMNP-TV-Z]{26}$"
FILE_NAME = r"^[^/\\]+$"
ID = r"^[A-Za-z0-9._:@-]{1,256}$"
# A BCP 47 primary language subtag as ISO 639 gives it (RFC 5646 §2.2.1), the only part of a tag Caseline keeps.
LANGUAGE = r"^[a-z]{2,3}$"

WORDS = {
    KEY: "use lower-case letters, digits and _, and start with a letter (at most 63 characters)",
    TEMPLATE_KEY: "use lower-case letters, digits and -, and start with a letter (2 to 63 characters)",
    CONTENT_TYPE: "must be a media type such as application/pdf",
    CURRENCY: "must be a three-letter currency code in capitals, such as EUR",
    TIME_OF_DAY: "must be a time of day as HH:MM, such as 09:00",
    DAY: "must be a day as YYYY-MM-DD, such as 2026-12-24",
    EMAIL: "must be an e-mail address, such as name@example.org",
    EVENT_TYPE: "must be an event type such as case.opened",
    HTTPS_URL: "must be an address starting with https://",
    COLOUR: "must be a colour as # and six hexadecimal digits, such as #0B5CAD",
    E164_PHONE: "must be a phone number in international form, such as +31201234567",
    ULID: "must be an id of 26 characters (digits and capital letters)",
    FILE_NAME: "must be a file name without / or \\",
    ID: "must be an id of letters, digits and . _ : @ - (at most 256 characters)",
    LANGUAGE: "must be a language as its two or three lower-case letters (ISO 639), such as de or en",
}

UNKNOWN = "is not in the expected form"


def words_for(pattern: str) -> str:
    return WORDS.get(pattern, UNKNOWN)
