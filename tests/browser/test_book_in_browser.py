"""The built book in a real browser (headless Debian Chromium driven by Selenium).

Needs ``_build/html`` (run ``make book`` first) and Debian's ``chromium`` and ``chromium-driver``; ``.ci/run``
installs both and sets ``CLUSTERPOLICY_REQUIRE_BROWSER=1`` so that CI fails instead of skipping. Serves the book
on loopback only. Saves screenshots of the briefs at desktop and phone width under ``_build/screenshots/``.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
PHONE_WIDTH = 375
BRIEFS = {"brief-en": "book/brief_en.html", "brief-it": "book/brief_it.html"}

REQUIRED = os.environ.get("CLUSTERPOLICY_REQUIRE_BROWSER") == "1"


def _unavailable() -> str | None:
    if not (HTML / "index.html").exists():
        return "the book is not built (run `make book` first)"
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        return "Debian's chromium and chromium-driver are not installed"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed"
    return None


reason = _unavailable()
if reason and REQUIRED:
    raise RuntimeError(f"browser test required but {reason}")
pytestmark = pytest.mark.skipif(reason is not None, reason=reason or "")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # keep test output clean
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


def _chromium(*extra_flags: str) -> Iterator[object]:
    """A headless Chromium driver (quit afterwards); ``extra_flags`` are added to the common ones."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1366,900", *extra_flags):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from _chromium()


def _pages() -> list[str]:
    pages = [p.relative_to(HTML).as_posix() for p in sorted((HTML / "book").rglob("*.html"))]
    return ["index.html", *pages] if (HTML / "index.html").exists() else pages


def _severe_console_messages(driver: object) -> list[str]:
    logs = driver.get_log("browser")  # type: ignore[attr-defined]
    return [entry["message"] for entry in logs if entry.get("level") == "SEVERE"]


def test_site_root_serves_a_favicon(server: str) -> None:
    """Browsers ask for /favicon.ico on the root redirect page, which has no icon link; a 404 there is a console
    error whose appearance depends on timing, so the file must exist rather than the test be lucky."""
    import urllib.request

    with urllib.request.urlopen(f"{server}/favicon.ico", timeout=10) as response:
        assert response.status == 200
        assert response.read(4) == b"\x00\x00\x01\x00", "favicon.ico is not an ICO file"


@pytest.mark.parametrize("page", _pages() if reason is None else [])
def test_page_loads_figures_and_has_no_console_errors(browser: object, server: str, page: str) -> None:
    driver = browser
    driver.set_window_size(1366, 900)  # type: ignore[attr-defined]
    driver.get(f"{server}/{page}")  # type: ignore[attr-defined]
    broken = driver.execute_script(  # type: ignore[attr-defined]
        "return Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 80));"
    )
    assert broken == [], f"{page}: images that did not load: {broken}"
    missing_alt = driver.execute_script(  # type: ignore[attr-defined]
        "return Array.from(document.querySelectorAll('article img')).filter(i => !i.alt || !i.alt.trim()).length;"
    )
    assert missing_alt == 0, f"{page}: {missing_alt} figure(s) without alt text"
    messages = _severe_console_messages(driver)
    assert messages == [], f"{page}: console errors: {messages}"


@pytest.mark.parametrize("name", sorted(BRIEFS))
def test_briefs_render_and_fit_a_phone(browser: object, server: str, name: str) -> None:
    driver = browser
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    url = f"{server}/{BRIEFS[name]}"
    driver.set_window_size(1366, 900)  # type: ignore[attr-defined]
    driver.get(url)  # type: ignore[attr-defined]
    heading = driver.execute_script("return document.querySelector('article h1')?.innerText || ''")  # type: ignore[attr-defined]
    assert heading.strip(), f"{name}: no heading rendered"
    text = driver.execute_script("return document.querySelector('article').innerText")  # type: ignore[attr-defined]
    assert len(text) > 800, f"{name}: the brief looks empty"
    driver.save_screenshot(str(SCREENSHOTS / f"{name}-desktop.png"))  # type: ignore[attr-defined]

    driver.set_window_size(PHONE_WIDTH, 812)  # type: ignore[attr-defined]
    driver.get(url)  # type: ignore[attr-defined]
    overflow = driver.execute_script(  # type: ignore[attr-defined]
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth;"
    )
    assert overflow <= 1, f"{name}: page is {overflow}px wider than a {PHONE_WIDTH}px phone screen"
    driver.save_screenshot(str(SCREENSHOTS / f"{name}-phone.png"))  # type: ignore[attr-defined]
    assert _severe_console_messages(driver) == []


# ---------------------------------------------------------------------------------------------------------------
# Regions (the landing page and three profiles) and the interactive event studies of the analysis and programme
# pages: interactive figures drawn with the network cut
INTERACTIVE_PAGES = {
    "regions": "book/regions.html",
    "profile-treated": "book/runs/region-itc3.html",    # Liguria: treated in the headline analysis
    "profile-control": "book/runs/region-iti4.html",    # Lazio: control in the headline analysis
    "profile-outside-italy": "book/runs/region-at32.html",
    # Analysis pages whose event study is interactive: the headline run, and a programme page that shows its
    # single-region run's event study through glue
    "analysis-italy-main": "book/runs/italy-main.html",
    "programme-lombardy": "book/programmes/lombardy.html",
}
#: Pages whose interactive figures include an event study: hovering a point must show its values.
EVENT_STUDY_PAGES = {"analysis-italy-main", "programme-lombardy", "profile-treated"}
# Every host name resolves to nothing except loopback: a request leaving the machine fails (and is logged).
OFFLINE_FLAG = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"


@pytest.fixture(scope="module")
def offline_browser() -> Iterator[object]:
    yield from _chromium(OFFLINE_FLAG)


@pytest.mark.parametrize("name", sorted(INTERACTIVE_PAGES))
def test_interactive_pages_draw_plotly_offline_and_fit_a_phone(offline_browser: object, server: str, name: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    driver = offline_browser
    path = HTML / INTERACTIVE_PAGES[name]
    if not path.exists():
        pytest.skip(f"{INTERACTIVE_PAGES[name]} is not built")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    url = f"{server}/{INTERACTIVE_PAGES[name]}"
    for width, height, label in ((1366, 900, "desktop"), (PHONE_WIDTH, 812, "phone")):
        driver.set_window_size(width, height)  # type: ignore[attr-defined]
        driver.get(url)  # type: ignore[attr-defined]
        WebDriverWait(driver, 20).until(lambda d: d.execute_script(
            "return document.querySelectorAll('.plotly-graph-div .main-svg').length") > 0)
        figures = driver.execute_script(  # type: ignore[attr-defined]
            "return [document.querySelectorAll('.plotly-graph-div').length,"
            " document.querySelectorAll('.plotly-graph-div svg.main-svg').length,"
            " document.querySelectorAll('figure.cp-interactive.cp-js').length]")
        assert figures[0] > 0 and figures[1] >= figures[0], f"{name}: plotly figures not drawn: {figures}"
        assert figures[2] == figures[0], f"{name}: a figure kept its static fallback on screen"
        remote = driver.execute_script(  # type: ignore[attr-defined]
            "return performance.getEntriesByType('resource').map(e => e.name)"
            ".filter(u => !u.startsWith(location.origin) && !u.startsWith('data:'));")
        assert remote == [], f"{name}: requests leaving the machine: {remote}"
        overflow = driver.execute_script(  # type: ignore[attr-defined]
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
        assert overflow <= 1, f"{name}: page is {overflow}px wider than the window ({width}px)"
        driver.save_screenshot(str(SCREENSHOTS / f"{name}-{label}.png"))  # type: ignore[attr-defined]
        assert _severe_console_messages(driver) == [], f"{name}: console errors at {width}px"
    if name in EVENT_STUDY_PAGES:
        _check_event_study_hover(driver, name)
    if name == "regions":
        links = driver.execute_script(  # type: ignore[attr-defined]
            "return Array.from(document.querySelectorAll('article a[href*=\"region-\"]')).map(a => a.href);")
        assert len({link.split("#")[0] for link in links}) >= 21, "the landing page links every profile"


def _check_event_study_hover(driver: object, name: str) -> None:
    """The event study's points are drawn as SVG, and hovering one shows its event time and estimate."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    points = driver.find_elements(  # type: ignore[attr-defined]
        By.CSS_SELECTOR, "div.plotly-graph-div[id$='event-study'] .scatterlayer .point")
    assert points, f"{name}: the event study drew no points"
    texts = []
    for point in points[:8]:  # the first may be a uniform band's hidden marker or the reference point
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", point)  # type: ignore[attr-defined]
        ActionChains(driver).move_to_element(point).pause(0.3).perform()  # type: ignore[arg-type]
        text = driver.execute_script(  # type: ignore[attr-defined]
            "return Array.from(document.querySelectorAll('.hoverlayer .hovertext'))"
            ".map(h => h.textContent).join(' ');")
        texts.append(text)
        if "Estimate" in text and "Years since the start" in text:
            return
    raise AssertionError(f"{name}: hovering the event study's points showed no values: {texts}")
