"""Writes the portal's message template, locale/portal.pot, from its English messages (strings.EN) and brings every
language's catalog up to date with it: a new message arrives untranslated, one whose English changed is marked
fuzzy (shown in English until a translator looks again), a removed one goes. `make portal-catalogs` runs it;
`--check` only says whether anything is out of date (the unit tests check the same).

    python tools/portal_catalogs.py [--check] [--add <language>]
"""

import argparse
import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

PORTAL = Path(__file__).parents[1] / "services" / "portal"
sys.path.insert(0, str(PORTAL))

from chalicelib.languages import DOMAIN, LOCALES, catalog_path  # noqa: E402
from chalicelib.strings import EN  # noqa: E402

TEMPLATE = LOCALES / f"{DOMAIN}.pot"
PROJECT = "Caseline portal"
HEADER = "# The Caseline portal's messages. Each msgstr is the translation of the English in the #. lines above it."


def _new_catalog(language: str | None) -> Catalog:
    return Catalog(
        locale=language,
        project=PROJECT,
        domain=DOMAIN,
        header_comment=HEADER,
        copyright_holder="Caseline",
        msgid_bugs_address="",
        last_translator="",
        language_team="",
        fuzzy=False,
    )


def template() -> Catalog:
    """Every message by its id, its English as the translator's note."""
    catalog = _new_catalog(None)
    for key, english in EN.items():
        catalog.add(key, auto_comments=[line for line in english.splitlines() if line.strip()])
    return catalog


def updated(language: str, source: Catalog) -> Catalog:
    path = catalog_path(language)
    if not path.exists():
        catalog = _new_catalog(language)
        catalog.update(source)
        return catalog
    with path.open("rb") as file:
        catalog = read_po(file, locale=language, domain=DOMAIN)
    english_before = {message.id: list(message.auto_comments) for message in catalog if message.id}
    catalog.update(source, no_fuzzy_matching=True)
    for message in catalog:
        if message.id and message.string and english_before.get(message.id) != list(message.auto_comments):
            message.flags.add("fuzzy")
    return catalog


def rendered(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, width=120, ignore_obsolete=True, omit_header=False, sort_output=False)
    return b"\n".join(line for line in out.getvalue().split(b"\n") if not line.startswith(b'"POT-Creation-Date'))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether a catalog is out of date")
    parser.add_argument("--add", metavar="LANGUAGE", help="start a catalog for a new language, e.g. fr")
    arguments = parser.parse_args()
    source = template()
    languages = sorted(path.parents[1].name for path in LOCALES.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    if arguments.add:
        languages.append(arguments.add)
    files = {TEMPLATE: rendered(source)} | {catalog_path(name): rendered(updated(name, source)) for name in languages}
    stale = [path for path, text in files.items() if not path.exists() or path.read_bytes() != text]
    if arguments.check:
        for path in stale:
            print(f"out of date: {path.relative_to(PORTAL)} (run `make portal-catalogs`)")
        return 1 if stale else 0
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[path])
        print(f"wrote {path.relative_to(PORTAL)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
