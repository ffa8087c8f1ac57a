"""Writes the portal's message template, locale/portal.pot, from its English messages (strings.EN) and brings every
language's catalog up to date with it: a new message arrives untranslated, one whose English changed is marked
fuzzy (shown in English until a translator looks again), a removed one goes. `make portal-catalogs` runs it;
`--check` only says whether anything is out of date (the unit tests check the same).

    python tools/portal_catalogs.py [--check] [--add <language>]
"""

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from catalog_files import languages_to_write, new_catalog, read_catalog, rendered, updated, write_or_check

PORTAL = Path(__file__).parents[1] / "services" / "portal"
sys.path.insert(0, str(PORTAL))

from chalicelib.languages import DOMAIN, LOCALES, catalog_path  # noqa: E402
from chalicelib.strings import EN  # noqa: E402

TEMPLATE = LOCALES / f"{DOMAIN}.pot"
PROJECT = "Caseline portal"
HEADER = "# The Caseline portal's messages. Each msgstr is the translation of the English in the #. lines above it."


def template() -> Catalog:
    """Every message by its id, its English as the translator's note."""
    catalog = new_catalog(PROJECT, DOMAIN, HEADER, None)
    for key, english in EN.items():
        catalog.add(key, auto_comments=[line for line in english.splitlines() if line.strip()])
    return catalog


def language_catalog(language: str, source: Catalog) -> Catalog:
    """A message whose English changed is marked fuzzy (shown in English until a translator looks again): ids stay
    the same when the English changes, so Babel's own fuzzy matching would not see it."""
    path = catalog_path(language)
    english_before = {}
    if path.exists():
        english_before = {message.id: list(message.auto_comments) for message in read_catalog(path, language, DOMAIN)}
    catalog = updated(
        path, source, lambda: new_catalog(PROJECT, DOMAIN, HEADER, language), language, no_fuzzy_matching=True
    )
    for message in catalog:
        before = english_before.get(message.id)
        if message.id and message.string and before is not None and before != list(message.auto_comments):
            message.flags.add("fuzzy")
    return catalog


def main() -> int:
    languages, check = languages_to_write(
        __doc__.splitlines()[0], [path.parents[1].name for path in LOCALES.glob(f"*/LC_MESSAGES/{DOMAIN}.po")]
    )
    source = template()
    files = {TEMPLATE: rendered(source)} | {
        catalog_path(name): rendered(language_catalog(name, source)) for name in languages
    }
    return write_or_check(files, PORTAL, "make portal-catalogs", check=check)


if __name__ == "__main__":
    sys.exit(main())
