"""What the browser tests share: Debian's Chromium, headless; axe-core from npm served on a same-origin path
(so the pages' Content-Security-Policy stays as it is); and a watch on what a page did besides showing
itself: origins asked, policy violations, console errors."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Request, sync_playwright

AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
AXE_PATH = "/__test__/axe.min.js"  # answered by the browser context from AXE, never by the server
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]  # root, and a small /dev/shm


@contextmanager
def launch_chromium() -> Iterator[Browser]:
    with (
        sync_playwright() as playwright,
        playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS) as launched,
    ):
        yield launched


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class Watch:
    """What a browser context did besides showing pages: the origins it asked, the policy violations and
    console errors it met. It also serves axe-core on a same-origin path, so the policy stays as it is."""

    def __init__(self, context: BrowserContext, base_url: str) -> None:
        self.origins: set[str] = set()
        self.violations: list[str] = []
        self.errors: list[str] = []
        context.route(f"{base_url}{AXE_PATH}", lambda route: route.fulfill(path=AXE, content_type="text/javascript"))
        context.on("request", self._request)
        context.expose_binding("__cspViolation", lambda _source, text: self.violations.append(text))
        context.add_init_script(
            "document.addEventListener('securitypolicyviolation',"
            " (e) => window.__cspViolation(`${e.effectiveDirective} blocked ${e.blockedURI}`));"
        )

    def _request(self, request: Request) -> None:
        self.origins.add(origin_of(request.url))

    def page(self, page: Page) -> Page:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        return page

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.violations.append(message.text)
        elif message.type == "error":
            self.errors.append(f"{message.location.get('url')}: {message.text}")


def axe_check(page: Page, name: str) -> None:
    """axe-core's full rule set on the page: nothing serious or critical; the rest is printed to weigh."""
    page.add_script_tag(url=AXE_PATH)
    results = page.evaluate("() => axe.run(document, {resultTypes: ['violations', 'incomplete']})")
    blocking = []
    for violation in results["violations"]:
        line = f"axe {name}: {violation['impact']} {violation['id']} ({violation['help']}) at " + ", ".join(
            " ".join(node["target"]) for node in violation["nodes"]
        )
        print(line)
        if violation["impact"] in ("serious", "critical"):
            blocking.append(line)
    for review in results["incomplete"]:
        print(f"axe {name}: needs review {review['id']} ({review['help']}), {len(review['nodes'])} element(s)")
    assert not blocking, "\n".join(blocking)
