"""The console's page names every module it needs, so the browser fetches them together."""

import re

from caseline.local.console import CONSOLE_DIR


def test_the_page_preloads_exactly_the_modules_the_console_has() -> None:
    page = (CONSOLE_DIR / "index.html").read_text()
    preloaded = set(re.findall(r'<link rel="modulepreload" href="([^"]+)">', page))
    entry = set(re.findall(r'<script type="module" src="([^"]+)"></script>', page))
    modules = {str(path.relative_to(CONSOLE_DIR)) for path in (CONSOLE_DIR / "js").rglob("*.js")}

    assert entry == {"js/app.js"}
    assert preloaded == modules - entry
