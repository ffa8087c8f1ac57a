"""The portal's languages: every catalog complete and in step with the English, the visitor's language chosen from
their pick, the participant's language or their browser, and moments, numbers and sizes written as each language
writes them."""

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
from babel.messages.pofile import read_po
from service_modules import loaded_module

if TYPE_CHECKING:
    from services.portal.chalicelib import languages, strings
    from services.portal.chalicelib.domain import refusals
else:
    languages = loaded_module("portal", "chalicelib.languages")
    refusals = loaded_module("portal", "chalicelib.domain.refusals")
    strings = loaded_module("portal", "chalicelib.strings")

EN = strings.EN
Writing, choose, language_name, messages, preferences = (
    languages.Writing,
    languages.choose,
    languages.language_name,
    languages.messages,
    languages.preferences,
)

ROOT = Path(__file__).parents[2]
FEB_17 = datetime(2026, 2, 17, 2, 10, tzinfo=UTC)


def placeholders(text: str) -> set[str]:
    return {part.split("}")[0] for part in text.split("{")[1:]}


def test_german_is_offered_besides_english() -> None:
    assert languages.languages() == ("en", "de")


@pytest.mark.parametrize("language", [name for name in languages.languages() if name != "en"])
def test_every_catalog_translates_every_message_and_nothing_else(language: str) -> None:
    with languages.catalog_path(language).open("rb") as file:
        catalog = read_po(file, locale=language)
    ids = {message.id for message in catalog if message.id}
    assert ids == set(EN), f"missing: {set(EN) - ids}, unknown: {ids - set(EN)}"
    untranslated = [message.id for message in catalog if message.id and (not message.string or message.fuzzy)]
    assert untranslated == [], "untranslated or fuzzy"
    for key, text in languages.translations(language).items():
        assert placeholders(text) == placeholders(EN[key]), key


def test_the_catalogs_are_in_step_with_the_english() -> None:
    checked = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "portal_catalogs.py"), "--check"], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_message_a_catalog_lacks_shows_in_english(monkeypatch: pytest.MonkeyPatch) -> None:
    # patched where `messages` looks it up: the loaded service's own module
    monkeypatch.setitem(messages.__globals__, "translations", lambda language: {"skip": "Zum Inhalt springen"})
    assert messages("de")["skip"] == "Zum Inhalt springen"
    assert messages("de")["landing.title"] == EN["landing.title"]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("de-DE,de;q=0.9,en;q=0.8", ["de-DE", "de", "en"]),
        ("en;q=0.2, fr, de;q=0.5", ["fr", "de", "en"]),
        ("de;q=0, en", ["en"]),
        ("*, de;q=bad", []),
        ("", []),
    ],
)
def test_accept_language_is_read_most_wanted_first(header: str, expected: list[str]) -> None:
    assert preferences(header) == expected


@pytest.mark.parametrize(
    ("asked", "participant", "header", "expected"),
    [
        (None, None, "de-AT,de;q=0.9", "de"),
        (None, None, "fr-FR, de;q=0.5, en;q=0.3", "de"),
        (None, None, "DE-ch", "de"),
        (None, None, "fr, es", "en"),
        (None, None, "", "en"),
        ("de", None, "en", "de"),
        ("en", None, "de", "en"),
        ("xx", None, "de", "de"),
        # the participant's language, which staff chose, comes after the visitor's own pick and before the browser's
        (None, "de", "en-GB,en;q=0.9", "de"),
        (None, "en", "de", "en"),
        ("en", "de", "de", "en"),
        ("de", "en", "en", "de"),
        # a language the portal has no catalog for yet is passed over for the browser's
        (None, "fr", "de-AT", "de"),
        (None, "fr", "", "en"),
    ],
)
def test_the_visitor_s_pick_then_the_participant_s_then_their_browser_then_english(
    asked: str | None, participant: str | None, header: str, expected: str
) -> None:
    assert choose(asked, header, participant) == expected


def test_each_language_is_offered_in_its_own_name() -> None:
    assert (language_name("de"), language_name("en")) == ("Deutsch", "English")


def test_moments_are_written_per_language_with_the_zone_s_name() -> None:
    berlin = FEB_17.astimezone(ZoneInfo("Europe/Berlin"))
    assert Writing("en").moment(berlin) == "17 Feb 2026, 03:10 CET"
    assert Writing("de").moment(berlin) == "17.02.2026, 03:10 MEZ"
    summer = datetime(2026, 7, 1, 8, tzinfo=UTC).astimezone(ZoneInfo("Europe/Berlin"))
    assert Writing("de").moment(summer) == "01.07.2026, 10:00 MESZ"


def test_a_zone_without_a_name_in_the_language_keeps_its_abbreviation() -> None:
    new_york = FEB_17.astimezone(ZoneInfo("America/New_York"))
    assert Writing("de").moment(new_york) == "16.02.2026, 21:10 EST"


def test_numbers_amounts_days_and_sizes_per_language() -> None:
    english, german = Writing("en"), Writing("de")
    assert (english.number("1234.5"), german.number("1234.5")) == ("1,234.5", "1.234,5")
    assert (english.money("250.5", "EUR"), german.money("250.5", "EUR")) == ("€250.50", "250,50\xa0€")
    assert (english.day("2026-02-17"), german.day("2026-02-17")) == ("17 Feb 2026", "17.02.2026")
    assert (english.size(10 * 1024**2), german.size(512)) == ("10 MB", "512 Byte")
    assert english.number("not a number") == "not a number"


def test_a_refusal_is_said_in_each_language_with_its_sizes_and_numbers() -> None:
    Said, Size, Number, say = refusals.Said, refusals.Size, refusals.Number, languages.say
    too_big = Said("upload.too_big", {"size": Size(20 * 1024**2)})
    assert (say(too_big, "en"), say(too_big, "de")) == (
        "This file is too large: at most 20 MB.",
        "Diese Datei ist zu groß: höchstens 20 MB.",
    )
    length = Said("refused.message_length", {"most": Number(10_000)})
    assert (say(length, "en"), say(length, "de")) == (
        "Write a message of 1 to 10,000 characters.",
        "Schreiben Sie eine Nachricht mit 1 bis 10.000 Zeichen.",
    )
    assert too_big.english() == "This file is too large: at most 20971520 bytes.", "the logs' words: exact, no Babel"
