"""The languages the portal speaks: a gettext catalog per language, the one a visitor reads chosen (their pick, the
participant's, their browser's), and moments, numbers, amounts and sizes written the way that language writes them.
Loaded with the pages and the operations their script calls; the consumer loads it at its first e-mail (about 90 ms
with Babel, measured on the development machine), the staff's link operations never.

English is the messages' source (strings.EN, keyed by stable ids such as "landing.title"); every other language
is a catalog, locale/<language>/LC_MESSAGES/portal.po, read with Babel at the first page that needs it. Adding a
language is adding its catalog.
"""

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

from babel.core import Locale, negotiate_locale
from babel.dates import format_date, format_datetime, format_time
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal

from .domain.refusals import Number, Said, Size
from .strings import EN

LOCALES = Path(__file__).parent / "locale"
DOMAIN = "portal"
SOURCE = "en"
# How a language writes dates and numbers where its bare code would pick a region we do not mean: the portal's
# English keeps day-month-year and the 24-hour clock.
REGION = {"en": "en_GB"}
MAX_PREFERENCES = 20  # of an Accept-Language header: more are noise, and each costs a look-up


def catalog_path(language: str) -> Path:
    return LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def languages() -> tuple[str, ...]:
    """English first (the default), then every language with a catalog."""
    found = sorted(path.parents[1].name for path in LOCALES.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return (SOURCE, *(language for language in found if language != SOURCE))


@cache
def translations(language: str) -> dict[str, str]:
    """A catalog's translated messages by id; a fuzzy or empty one is left out."""
    with catalog_path(language).open("rb") as file:
        catalog = read_po(file, locale=language, domain=DOMAIN)
    return {
        str(message.id): str(message.string)
        for message in catalog
        if message.id and isinstance(message.id, str) and message.string and not message.fuzzy
    }


def messages(language: str) -> Mapping[str, str]:
    """Every message in `language`: one its catalog lacks shows in English rather than as its id."""
    return EN if language == SOURCE else {**EN, **translations(language)}


def preferences(accept_language: str) -> list[str]:
    """The language tags of an Accept-Language header, most wanted first (RFC 9110 §12.5.4); q=0 means not."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")[:MAX_PREFERENCES]):
        tag, _, parameters = part.strip().partition(";")
        quality = 1.0
        for parameter in parameters.split(";"):
            name, _, value = parameter.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag.strip() and tag.strip() != "*" and quality > 0:
            ranked.append((-quality, position, tag.strip()))
    return [tag for _, _, tag in sorted(ranked)]


def choose(asked: str | None, accept_language: str, participant: str | None = None) -> str:
    """The visitor's own choice on a page, else the language staff chose for the participant, else the browser's best
    match, else English: each only if the portal speaks it."""
    for wanted in (asked, participant):
        if wanted in languages():
            return str(wanted)
    found = negotiate_locale(preferences(accept_language), languages(), sep="-")
    return found.split("-")[0].lower() if found else SOURCE


def language_name(language: str) -> str:
    """A language's name in itself ("Deutsch"), as a switch to it shows it."""
    name = Locale.parse(language).get_display_name(language) or language
    return name[:1].upper() + name[1:]


class Writing:
    """How one language writes what the page shows besides its sentences."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.locale = Locale.parse(REGION.get(language, language))

    def moment(self, at: datetime) -> str:
        """A local date and time with its zone's name: "17 Feb 2026, 03:10 CET", "17.02.2026, 03:10 MEZ"."""
        day = format_date(at, "medium", locale=self.locale)
        time = format_time(at, "short", tzinfo=at.tzinfo, locale=self.locale)
        return f"{self.locale.datetime_formats['medium'].format(time, day)} {self.zone(at)}"

    def zone(self, at: datetime) -> str:
        """The zone's short name in this language; where the language has none, the zone database's
        abbreviation (Babel would give a bare offset)."""
        name = format_datetime(at, "z", tzinfo=at.tzinfo, locale=self.locale)
        if name[:1] in "+-" or name.startswith("GMT"):
            return at.tzname() or name
        return name

    def long_day(self, at: datetime) -> str:
        """A day written out, as a letter gives it: "5 January 2027", "5. Januar 2027"."""
        return format_date(at, "long", locale=self.locale)

    def day(self, value: Any) -> str:
        try:
            return format_date(date.fromisoformat(str(value)), "medium", locale=self.locale)
        except ValueError:
            return str(value)

    def number(self, value: Any) -> str:
        try:
            return format_decimal(Decimal(str(value)), locale=self.locale)
        except (InvalidOperation, ValueError):
            return str(value)

    def money(self, amount: Any, currency: str) -> str:
        try:
            return format_currency(Decimal(str(amount)), currency, locale=self.locale)
        except (InvalidOperation, ValueError):
            return f"{amount} {currency}".strip()

    def size(self, size: int) -> str:
        for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
            if size >= scale:
                return f"{format_decimal(round(size / scale), locale=self.locale)} {unit}"
        return messages(self.language)["size.bytes"].format(size=format_decimal(size, locale=self.locale))


def say(said: Said, language: str) -> str:
    """A refusal's message in `language`, its sizes and numbers written as that language writes them."""
    writing = Writing(language)
    values = {
        name: writing.size(value.bytes)
        if isinstance(value, Size)
        else writing.number(value.value)
        if isinstance(value, Number)
        else value
        for name, value in said.values.items()
    }
    return messages(language)[said.key].format(**values)
