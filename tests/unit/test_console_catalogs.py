"""The console's languages: the catalogs follow the code's messages, each language translates every one of them
with the same placeholders, and browsers get them compiled next to the scripts."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from caseline import console_assets
from caseline.local import console as local_console
from caseline.paths import ROOT

CONSOLE = ROOT / "console"
LOCALE = CONSOLE / "locale"
PLACEHOLDER = re.compile(r"\{(\w+)\}")
LANGUAGES = sorted(path.stem for path in LOCALE.glob("*.po"))


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def test_the_catalogs_are_in_step_with_the_code() -> None:
    checked = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "console_catalogs.py"), "--check"], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_german_is_offered() -> None:
    assert "de" in LANGUAGES
    assert 'de: "Deutsch"' in (CONSOLE / "js" / "languages.js").read_text()


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_catalog_translates_every_message_keeping_its_placeholders(language: str) -> None:
    with (LOCALE / f"{language}.po").open("rb") as file:
        catalog = read_po(file, locale=language)
    untranslated = []
    for message in catalog:
        if not message.id:
            continue
        translated = message.string
        forms = [str(form) for form in translated] if isinstance(translated, tuple) else [str(translated or "")]
        english = [str(text) for text in message.id] if isinstance(message.id, tuple) else [str(message.id)]
        if message.fuzzy or not all(forms):
            untranslated.append(english[0])
            continue
        for form in forms:
            assert placeholders(form) <= placeholders(" ".join(english)), (english[0], form)
    assert untranslated == [], f"{len(untranslated)} untranslated or fuzzy"


def test_messages_are_literal_so_they_can_be_extracted() -> None:
    # A template literal or a variable inside t() is invisible to the extraction and would stay English.
    not_literal = re.compile(r"\bt(?:n)?\(\s*(?![\"'])")
    found = [
        f"{path.relative_to(CONSOLE)}:{number}"
        for path in sorted((CONSOLE / "js").rglob("*.js"))
        if path.name != "i18n.js"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if not_literal.search(line) and not line.lstrip().startswith("//")
    ]
    assert found == []


def write_catalog(path: Path, entries: str, plural_forms: str = "nplurals=2; plural=(n != 1);") -> Path:
    header = f'msgid ""\nmsgstr ""\n"Language: de\\n"\n"Plural-Forms: {plural_forms}\\n"\n\n'
    path.write_text(header + entries)
    return path


def test_a_compiled_catalog_has_the_translated_messages_and_plural_forms_in_cldr_order(tmp_path: Path) -> None:
    path = write_catalog(
        tmp_path / "de.po",
        'msgid "Cases"\nmsgstr "Fälle"\n\n'
        'msgid "{count} case"\nmsgid_plural "{count} cases"\nmsgstr[0] "{count} Fall"\nmsgstr[1] "{count} Fälle"\n\n'
        '#, fuzzy\nmsgid "Board"\nmsgstr "Brett"\n\n'
        'msgid "Insight"\nmsgstr ""\n',
    )
    assert json.loads(console_assets.compiled_catalog(path)) == {
        "Cases": "Fälle",
        "{count} case": ["{count} Fall", "{count} Fälle"],
    }


def test_a_plural_message_with_the_wrong_number_of_forms_is_refused(tmp_path: Path) -> None:
    path = write_catalog(
        tmp_path / "de.po",
        'msgid "{count} case"\nmsgid_plural "{count} cases"\n'
        'msgstr[0] "{count} Fall"\nmsgstr[1] "{count} Fälle"\nmsgstr[2] "{count} Fällchen"\n',
        plural_forms="nplurals=3; plural=(n == 1 ? 0 : n == 2 ? 1 : 2);",
    )
    with pytest.raises(ValueError, match="de needs one for each of one, other"):
        console_assets.compiled_catalog(path)


def test_the_build_and_the_local_gateway_serve_each_catalog_compiled_beside_the_scripts(tmp_path: Path) -> None:
    current = console_assets.build(CONSOLE, tmp_path / "out")
    built = tmp_path / "out" / "assets" / current / "locale"
    assert sorted(path.name for path in built.iterdir()) == [f"{language}.json" for language in LANGUAGES]
    german = json.loads((built / "de.json").read_text())
    assert german["Sign out"] == "Abmelden"

    served = local_console.console_file(f"/console/assets/{current}/locale/de.json")
    assert served is not None
    status, headers, body = served
    assert status == 200
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(body) == german
    assert local_console.console_file(f"/console/assets/{current}/locale/xx.json") is None
