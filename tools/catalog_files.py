"""What the catalog tools share: a gettext catalog as the project writes it (no creation date, so an unchanged
catalog is byte for byte the same file), bringing a language's catalog up to date with its template, and writing
the files or only saying which are out of date."""

import argparse
import io
from collections.abc import Callable
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po


def new_catalog(project: str, domain: str, header: str, language: str | None) -> Catalog:
    return Catalog(
        locale=language,
        project=project,
        domain=domain,
        header_comment=header,
        copyright_holder="Caseline",
        msgid_bugs_address="",
        last_translator="",
        language_team="",
        fuzzy=False,
    )


def read_catalog(path: Path, language: str, domain: str) -> Catalog:
    with path.open("rb") as file:
        return read_po(file, locale=language, domain=domain)


def updated(
    path: Path, source: Catalog, new: Callable[[], Catalog], language: str, *, no_fuzzy_matching: bool
) -> Catalog:
    """A language's catalog with the template's messages: new ones untranslated, removed ones gone."""
    catalog = read_catalog(path, language, source.domain or "") if path.exists() else new()
    catalog.update(source, no_fuzzy_matching=no_fuzzy_matching)
    return catalog


def rendered(catalog: Catalog, *, sort_by_file: bool = False) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, width=120, ignore_obsolete=True, omit_header=False, sort_by_file=sort_by_file)
    return b"\n".join(line for line in out.getvalue().split(b"\n") if not line.startswith(b'"POT-Creation-Date'))


def write_or_check(files: dict[Path, bytes], root: Path, command: str, *, check: bool) -> int:
    """Writes the files that differ; with `check`, only names them (exit status 1 when any does)."""
    stale = [path for path, text in files.items() if not path.exists() or path.read_bytes() != text]
    for path in stale:
        if check:
            print(f"out of date: {path.relative_to(root)} (run `{command}`)")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(files[path])
            print(f"wrote {path.relative_to(root)}")
    return 1 if check and stale else 0


def languages_to_write(description: str, existing: list[str]) -> tuple[list[str], bool]:
    """The tools' command line: the languages whose catalogs to write (those there are, and `--add`'s), and whether
    only to check them."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help="only say whether a catalog is out of date")
    parser.add_argument("--add", metavar="LANGUAGE", help="start a catalog for a new language, e.g. fr")
    arguments = parser.parse_args()
    return sorted(existing) + ([arguments.add] if arguments.add else []), arguments.check
