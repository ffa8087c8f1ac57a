"""The staff console (issue 8): "the board with 500 cases renders in under a second locally", and the insight
dashboard over the same cases, in Debian's Chromium (headless, driven by Playwright) against the local stack.

Timed inside the page: from the hash change (an in-app navigation, the way people move around the console)
until every card is in the DOM and the browser has painted the frame after it; each navigation fetches its data
from the API again. The full page load (modules, configuration and data, from `page.goto`) is timed too.
"""

import json
import statistics
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from playwright.sync_api import ConsoleMessage, sync_playwright
from rich.console import Console
from rich.table import Table

from caseline.local.stack import LocalStack

BOARD_CASES = 500
ROUNDS = 5
TARGET_MS = 1000
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]
TEMPLATE_KEY = "bench-board"
# What counts as "rendered": a card of the board (console/js/views/board.js), the insight dashboard once drawn.
CARD_SELECTOR = "li[data-case-id]"
INSIGHT_READY_SELECTOR = "[data-insight-ready]"
IDLE_HASH = "#/bench-idle"  # no route: the console shows "Not found" without calling the API
WAIT_MS = 60_000
OPEN_WORKERS = 4  # the emulator (moto) is not safe under many concurrent writers
console = Console()

STAGES: list[dict[str, Any]] = [
    {"key": "received", "name": "Received", "sla": {"amount": 2, "unit": "days"}},
    {"key": "checking", "name": "Checking", "sla": {"amount": 3, "unit": "days"}},
    {"key": "deciding", "name": "Deciding", "sla": {"amount": 5, "unit": "days"}},
    {"key": "done", "name": "Done", "next": []},
]
TEMPLATE = {
    "key": TEMPLATE_KEY,
    "name": "Bench board",
    "fields": [
        {"key": "reference", "label": "Reference", "type": "text"},
        {"key": "amount", "label": "Amount", "type": "number"},
    ],
    "stages": STAGES,
}

# Resolves with the milliseconds from setting the hash until `count` elements match `selector` and a frame with
# them has been painted (the requestAnimationFrame after they appear, then a task after that frame).
NAVIGATE_JS = """
async ([hash, selector, count, waitMs]) => {
  const started = performance.now();
  window.location.hash = hash;
  const present = () => document.querySelectorAll(selector).length >= count;
  await new Promise((resolve, reject) => {
    if (present()) { resolve(); return; }
    const observer = new MutationObserver(() => {
      if (present()) { observer.disconnect(); clearTimeout(timer); resolve(); }
    });
    const timer = setTimeout(() => { observer.disconnect(); reject(new Error(
      `${document.querySelectorAll(selector).length} of ${count} ${selector} after ${waitMs} ms`)); }, waitMs);
    observer.observe(document.body, { childList: true, subtree: true, attributes: true });
  });
  await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
  return performance.now() - started;
}
"""


def _open_cases(stack: LocalStack, token: str) -> float:
    """BOARD_CASES open cases spread over the first three stages and the last; returns the seconds it took."""

    def open_one(index: int) -> None:
        fields = {"reference": f"BB-{index:04d}", "amount": index * 10}
        body = {"template_key": TEMPLATE_KEY, "title": f"Bench board case {index:03d}", "fields": fields}
        status, case = stack.request("POST", "/cases", body, token=token)
        assert status == 201, case
        for stage in STAGES[1 : 1 + index % len(STAGES)]:
            status, case = stack.request("POST", f"/cases/{case['id']}/transitions", {"to": stage["key"]}, token=token)
            assert status == 200, case

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=OPEN_WORKERS) as pool:
        list(pool.map(open_one, range(BOARD_CASES)))
    return time.perf_counter() - started


def _wait_for_pipeline(stack: LocalStack, token: str) -> None:
    """Until the stream pumps have caught up with the cases just opened, so they do not share the CPU with Chromium."""
    status, page = stack.request("GET", f"/cases?template_key={TEMPLATE_KEY}&limit=1", token=token)
    assert status == 200, page
    assert page["items"], page
    latest = page["items"][0]["id"]
    deadline = time.monotonic() + 120
    while stack.request("GET", f"/cases/{latest}/timeline", token=token)[0] != 200:
        if time.monotonic() > deadline:
            raise RuntimeError("the bench board's cases never reached their timelines")
        time.sleep(0.2)


def _dev_token(stack: LocalStack) -> str:
    with urllib.request.urlopen(f"{stack.url}/_dev/console/token?user=admin", timeout=10) as reply:
        return str(json.load(reply)["id_token"])


def _list_pages_ms(stack: LocalStack, token: str) -> list[float]:
    """What the board waits for before it draws: every page of its open cases, in process (no browser)."""
    samples = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        cursor, items = None, 0
        while True:
            query = {"template_key": TEMPLATE_KEY, "status": "open", "limit": 100}
            if cursor:
                query["cursor"] = cursor
            status, page = stack.request("GET", f"/cases?{urllib.parse.urlencode(query)}", token=token)
            assert status == 200, page
            items += len(page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                break
        assert items == BOARD_CASES, items
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _keep_error(errors: list[str], message: ConsoleMessage) -> None:
    if message.type == "error":
        errors.append(message.text)


def _summary(samples: list[float]) -> tuple[str, str]:
    return f"{statistics.median(samples):.0f}", f"{max(samples):.0f}"


def _browser_timings(stack: LocalStack) -> dict[str, list[float]]:
    token = _dev_token(stack)
    console_url = f"{stack.url}/console/"
    board_hash = f"#/board/{TEMPLATE_KEY}"
    insight_hash = f"#/insight/{TEMPLATE_KEY}"
    timings: dict[str, list[float]] = {"board": [], "board_build": [], "board_cold": [], "insight": []}
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        # Signed in as the development admin, as the user picker would leave it.
        context.add_init_script(f"sessionStorage.setItem('caseline.token', {json.dumps(token)});")
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda message: _keep_error(errors, message))

        def navigate(hash_: str, selector: str, count: int) -> float:
            try:
                return float(page.evaluate(NAVIGATE_JS, [hash_, selector, count, WAIT_MS]))
            except Exception as error:
                raise RuntimeError(f"{hash_} did not render: {error}; page errors: {errors}") from error

        def cold(hash_: str, selector: str, count: int) -> float:
            page.goto("about:blank")
            started = time.perf_counter()
            page.goto(f"{console_url}{hash_}")
            try:
                page.wait_for_function(
                    "([selector, count]) => document.querySelectorAll(selector).length >= count",
                    arg=[selector, count],
                    timeout=WAIT_MS,
                )
            except Exception as error:
                raise RuntimeError(f"{hash_} did not render on a fresh load: {error}; page errors: {errors}") from error
            page.evaluate("() => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)))")
            return (time.perf_counter() - started) * 1000

        def board_build_ms() -> float | None:
            entries = page.evaluate(
                "() => performance.getEntriesByName('caseline:board-render').map((entry) => entry.duration)"
            )
            return float(entries[-1]) if entries else None

        page.goto(f"{console_url}{IDLE_HASH}")
        page.wait_for_selector("main#view h1")
        rounds: list[tuple[str, Callable[[], float], list[float]]] = [
            ("board", lambda: navigate(board_hash, CARD_SELECTOR, BOARD_CASES), timings["board"]),
            ("insight", lambda: navigate(insight_hash, INSIGHT_READY_SELECTOR, 1), timings["insight"]),
        ]
        for _name, measure, _samples in rounds:  # warm: modules parsed, connection open, API code paths hot
            measure()
            navigate(IDLE_HASH, "main#view h1", 1)
        for _ in range(ROUNDS):
            for name, measure, samples in rounds:
                samples.append(measure())
                if name == "board" and (built := board_build_ms()) is not None:
                    timings["board_build"].append(built)
                navigate(IDLE_HASH, "main#view h1", 1)
        for _ in range(ROUNDS):
            timings["board_cold"].append(cold(board_hash, CARD_SELECTOR, BOARD_CASES))
        cards = page.locator(CARD_SELECTOR).count()
        assert cards == BOARD_CASES, f"{cards} cards on the board, not {BOARD_CASES}"
        browser.close()
    return timings


def console_pages(stack: LocalStack) -> None:
    """The board with BOARD_CASES open cases and the insight dashboard over them, ROUNDS times each."""
    if not CHROMIUM.exists():
        console.print(f"Console pages: skipped, {CHROMIUM} is missing (`make browser` installs it)")
        return
    token = stack.staff_token()
    status, body = stack.request("POST", "/templates", TEMPLATE, token=token)
    assert status == 201, body
    seconds = _open_cases(stack, token)
    _wait_for_pipeline(stack, token)
    for pump in stack.pumps:
        pump.paused.set()
    try:
        timings = _browser_timings(stack)
        timings["api"] = _list_pages_ms(stack, token)
    finally:
        for pump in stack.pumps:
            pump.paused.clear()
    table = Table(
        title=f"Console in headless Chromium, {BOARD_CASES} open cases of one template in {len(STAGES)} stages "
        f"(opened in {seconds:.1f} s); {ROUNDS} rounds after a warm-up"
    )
    for column in ("page", "timed", "p50 ms", "max ms"):
        table.add_column(column, justify="right" if column.endswith("ms") else "left")
    rows = [
        ("board", f"hash change until {BOARD_CASES} cards are in the DOM and painted", "board"),
        ("board", "of which building the DOM once the data is in (the view's own measure)", "board_build"),
        ("board", f"full page load (goto) until {BOARD_CASES} cards are painted", "board_cold"),
        ("API", f"the {BOARD_CASES // 100} pages of GET /cases the board asks for, in process", "api"),
        ("insight", f"hash change until the dashboard over {BOARD_CASES} cases is drawn", "insight"),
    ]
    for page, timed, key in rows:
        if timings[key]:
            table.add_row(page, timed, *_summary(timings[key]))
    console.print(table)
    worst = max(timings["board"])
    verdict = "met" if worst < TARGET_MS else "NOT met"
    console.print(
        f"Board with {BOARD_CASES} cases under {TARGET_MS} ms (in-app navigation, every round): {verdict}, "
        f"max {worst:.0f} ms"
    )
