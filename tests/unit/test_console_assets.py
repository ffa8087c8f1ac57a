"""The console as browsers get it: its page names every module it needs (fetched together), all of them under a
version that is a hash of their content; the same build CDK deploys and the local gateway serves."""

import gzip
import re
from pathlib import Path

import pytest

from caseline import console_assets
from caseline.local import console as local_console
from caseline.paths import ROOT

INDEX = """<!doctype html>
<link rel="stylesheet" href="css/console.css">
<script type="module" src="js/app.js"></script>
<link rel="modulepreload" href="js/views/board.js">
<a href="https://example.org/js/not-ours.js">elsewhere</a>
"""


@pytest.fixture
def console(tmp_path: Path) -> Path:
    source = tmp_path / "console"
    (source / "js" / "views").mkdir(parents=True)
    (source / "css").mkdir()
    (source / "index.html").write_text(INDEX)
    (source / "js" / "app.js").write_text('import { board } from "./views/board.js";\n')
    (source / "js" / "views" / "board.js").write_text("export const board = 1;\n")
    (source / "css" / "console.css").write_text("body { margin: 0; }\n")
    return source


def test_the_version_changes_with_any_assets_content_or_name_and_with_nothing_else(console: Path) -> None:
    first = console_assets.version(console)
    assert len(first) == 12
    assert console_assets.version(console) == first
    (console / "index.html").write_text(INDEX + "<!-- a comment -->")
    assert console_assets.version(console) == first  # index.html names the version; it is not part of it
    (console / "js" / "views" / "board.js").write_text("export const board = 2;\n")
    second = console_assets.version(console)
    assert second != first
    (console / "js" / "views" / "board.js").rename(console / "js" / "views" / "cards.js")
    assert console_assets.version(console) not in (first, second)


def test_the_build_puts_every_asset_under_its_version_and_index_html_names_them(console: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "stale").mkdir(parents=True)  # what a previous build left goes

    current = console_assets.build(console, out)

    assert sorted(path.relative_to(out).as_posix() for path in out.rglob("*") if path.is_file()) == [
        f"assets/{current}/css/console.css",
        f"assets/{current}/js/app.js",
        f"assets/{current}/js/views/board.js",
        "index.html",
    ]
    index = (out / "index.html").read_text()
    assert f'href="assets/{current}/css/console.css"' in index
    assert f'src="assets/{current}/js/app.js"' in index
    assert f'href="assets/{current}/js/views/board.js"' in index
    assert 'href="https://example.org/js/not-ours.js"' in index  # only our own relative paths move
    # Modules import each other relatively, so the tree moves whole and no module changes.
    assert (out / "assets" / current / "js" / "app.js").read_text() == (console / "js" / "app.js").read_text()


def test_the_real_console_names_only_files_that_exist(tmp_path: Path) -> None:
    out = tmp_path / "console"
    current = console_assets.build(ROOT / "console", out)
    index = (out / "index.html").read_text()
    named = console_assets._REFERENCE.findall((ROOT / "console" / "index.html").read_text())
    assert named
    for _attribute, path in named:
        assert (out / "assets" / current / path).is_file(), path
        assert f"assets/{current}/{path}" in index


def test_the_local_gateway_serves_the_index_fresh_the_assets_for_a_year_and_text_compressed() -> None:
    page = local_console.console_file("/console/", accept_encoding="gzip, deflate, br")
    assert page is not None
    status, headers, body = page
    assert status == 200
    assert headers["Cache-Control"] == "no-cache"
    index = gzip.decompress(body).decode()
    current = console_assets.version(local_console.CONSOLE_DIR)
    assert f'src="assets/{current}/js/app.js"' in index

    found = local_console.console_file(f"/console/assets/{current}/js/app.js", accept_encoding="gzip")
    assert found is not None
    status, headers, body = found
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert headers["Content-Encoding"] == "gzip"
    assert headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(body) == (local_console.CONSOLE_DIR / "js" / "app.js").read_bytes()

    # A page loaded before an edit asks for its older version: today's file, not kept; no gzip unless accepted.
    older = local_console.console_file("/console/assets/000000000000/js/app.js")
    assert older is not None
    assert older[1]["Cache-Control"] == "no-cache"
    assert "Content-Encoding" not in older[1]
    assert older[2] == (local_console.CONSOLE_DIR / "js" / "app.js").read_bytes()
    assert local_console.console_file(f"/console/assets/{current}/../../caseline/cli.py") is None


def test_the_page_preloads_exactly_the_modules_the_console_has() -> None:
    """Also what lets a release prune older versions: a loaded page has fetched every module it will run."""
    page = (local_console.CONSOLE_DIR / "index.html").read_text()
    preloaded = set(re.findall(r'<link rel="modulepreload" href="([^"]+)">', page))
    entry = set(re.findall(r'<script type="module" src="([^"]+)"></script>', page))
    modules = {
        str(path.relative_to(local_console.CONSOLE_DIR)) for path in (local_console.CONSOLE_DIR / "js").rglob("*.js")
    }

    assert entry == {"js/app.js"}
    assert preloaded == modules - entry


def test_a_build_is_made_once_per_version_and_reused(console: Path, tmp_path: Path) -> None:
    root = tmp_path / "builds"
    current, out = console_assets.built(console, root)
    assert out == root / current
    assert (out / "assets" / current / "js" / "app.js").is_file()
    marker = out / "index.html"
    marker.write_text("finished by another process")  # a second build of the same version changes nothing
    assert console_assets.built(console, root) == (current, out)
    assert marker.read_text() == "finished by another process"

    (console / "js" / "app.js").write_text("export const changed = true;\n")
    newer, newer_out = console_assets.built(console, root)
    assert newer != current
    assert sorted(path.name for path in root.iterdir()) == [newer]  # the older version's build is gone
    assert (newer_out / "assets" / newer / "js" / "app.js").read_text() == "export const changed = true;\n"
