"""Writes the console's message template, console/locale/console.pot, from the messages in its code (the English
inside `t("…")` and `tn("…", "…", n)` in console/js, and the `data-i18n` texts and labels of index.html), brings
every language's catalog, console/locale/<language>.po, up to date with it (a new message arrives untranslated, a
changed one fuzzy, a removed one goes), and writes console/js/languages.js, the languages the console offers.
`make console-catalogs` runs it; `--check` only says whether anything is out of date (the unit tests check the same).

    python tools/console_catalogs.py [--check] [--add <language>]
"""

import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import IO, Any

from babel.core import Locale
from babel.messages.catalog import Catalog
from babel.messages.extract import extract, extract_javascript
from catalog_files import languages_to_write, new_catalog, rendered, updated, write_or_check

ROOT = Path(__file__).parents[1]
CONSOLE = ROOT / "console"
LOCALE = CONSOLE / "locale"
LANGUAGES_MODULE = CONSOLE / "js" / "languages.js"
DOMAIN = "console"
TEMPLATE = LOCALE / f"{DOMAIN}.pot"
PROJECT = "Caseline console"
HEADER = (
    "# The Caseline console's messages, by their English. {name} is a value the console puts in: keep it, move it.\n"
    "# A plural message has a form per plural category of its language, in CLDR's order\n"
    "# (zero, one, two, few, many, other)."
)
KEYWORDS = {"t": None, "tn": (1, 2)}
SOURCE = "en"


class _MarkedText(HTMLParser):
    """index.html's messages: the text of an element marked `data-i18n`, the `aria-label` of one marked
    `data-i18n-label`."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[int, str]] = []
        self._open: tuple[int, list[str]] | None = None

    def handle_starttag(self, _tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if "data-i18n-label" in attributes and attributes.get("aria-label"):
            self.found.append((self.getpos()[0], str(attributes["aria-label"])))
        if "data-i18n" in attributes:
            self._open = (self.getpos()[0], [])

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[1].append(data)

    def handle_endtag(self, _tag: str) -> None:
        if self._open:
            self.found.append((self._open[0], " ".join("".join(self._open[1]).split())))
            self._open = None


def extract_html(fileobj: IO[bytes], _keywords: Any, _comment_tags: Any, options: Any) -> Iterator[tuple]:
    del options  # Babel passes it by name; index.html needs none
    parser = _MarkedText()
    parser.feed(fileobj.read().decode())
    for line, text in parser.found:
        yield line, None, text, []


def _sources() -> Iterator[tuple[Path, Any]]:
    for path in sorted((CONSOLE / "js").rglob("*.js")):
        if path != LANGUAGES_MODULE:
            yield path, extract_javascript
    yield CONSOLE / "index.html", extract_html


def template() -> Catalog:
    catalog = new_catalog(PROJECT, DOMAIN, HEADER, None)
    for path, method in _sources():
        with path.open("rb") as file:
            for line, message, comments, _context in extract(method, file, keywords=KEYWORDS, comment_tags=("i18n:",)):
                catalog.add(message, locations=[(path.relative_to(CONSOLE).as_posix(), line)], auto_comments=comments)
    return catalog


def catalog_path(language: str) -> Path:
    return LOCALE / f"{language}.po"


def languages_module(languages: list[str]) -> bytes:
    names = ", ".join(
        f'{code}: "{(Locale.parse(code).get_display_name(code) or code).capitalize()}"' for code in languages
    )
    return (
        "// Written by tools/console_catalogs.py from the catalogs in console/locale: each language by its own name.\n"
        f"export const LANGUAGES = {{ {names} }};\n"
    ).encode()


def main() -> int:
    languages, check = languages_to_write(__doc__.splitlines()[0], [path.stem for path in LOCALE.glob("*.po")])
    source = template()
    files = {TEMPLATE: rendered(source, sort_by_file=True), LANGUAGES_MODULE: languages_module([SOURCE, *languages])}
    for language in languages:
        catalog = updated(
            catalog_path(language),
            source,
            lambda language=language: new_catalog(PROJECT, DOMAIN, HEADER, language),  # type: ignore[misc]
            language,
            no_fuzzy_matching=False,
        )
        files[catalog_path(language)] = rendered(catalog, sort_by_file=True)
    return write_or_check(files, CONSOLE, "make console-catalogs", check=check)


if __name__ == "__main__":
    sys.exit(main())
