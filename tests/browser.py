"""A real headless Chromium (Debian's, driven by its chromedriver through Selenium) for the web tests.

One browser per test module (the fixture in each module calls :func:`start`).  A missing browser,
driver or Selenium skips the tests that need it, with the reason; ``REPORTGEN_REQUIRE_DB_SERVERS=1``
(set by ``.ci/run``) turns that skip into a failure.  A browser download at test time fails on
this machine, so only the system browser is used.
"""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.dbservers import unavailable

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
#: The flags Chromium needs here: headless as root, and no connections of its own (this
#: machine's network is closed; without them it retries Google's hosts at every start).
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1200,900",
    "--lang=zh-CN",
)


@contextmanager
def start() -> Iterator[Any]:
    """A Selenium WebDriver on the system Chromium, with a fresh profile, closed at the end."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        unavailable("selenium is not installed (pip install -e '.[test]')")
    chromium = shutil.which("chromium") or (CHROMIUM if os.path.exists(CHROMIUM) else None)
    driver_path = shutil.which("chromedriver") or (CHROMEDRIVER if os.path.exists(CHROMEDRIVER) else None)
    if chromium is None or driver_path is None:
        unavailable("Chromium and ChromeDriver are not installed (Debian: chromium, chromium-driver)")
    profile = tempfile.mkdtemp(prefix="reportgen-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def print_pdf(driver: Any) -> bytes:
    """The page printed by Chromium's own print (A4, backgrounds), as PDF bytes."""
    from selenium.webdriver.common.print_page_options import PrintOptions

    options = PrintOptions()
    options.page_width = 21.0
    options.page_height = 29.7
    options.background = True
    return base64.b64decode(driver.print_page(options))


def console_errors(driver: Any) -> list[str]:
    """The browser console's errors since the last call (CSP violations are reported there)."""
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
