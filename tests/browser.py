"""Headless Chromium for the browser tests (tests/test_site.py, tests/test_learner_render.py): one way to
start it, and one rule for when it cannot start (skip, or fail where CI requires the browser tests)."""
import contextlib
import os
import shutil

import pytest

REQUIRED = os.environ.get("DASCOURSE_REQUIRE_BROWSER") == "1"
# Without the background-networking flags Chromium keeps retrying refused connections and hangs.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1280,1600"]


def unavailable(message):
    """Skip -- or fail where CI requires the browser test to run."""
    if REQUIRED:
        pytest.fail(f"{message} (DASCOURSE_REQUIRE_BROWSER=1: this test must run, not skip)")
    pytest.skip(message)


@contextlib.contextmanager
def chromium(profile):
    """A selenium driver of the system's headless Chromium, with its user profile in the folder `profile`."""
    binary, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (binary and chromedriver):
        unavailable("Chromium is not installed: `sudo apt-get install -y chromium chromium-driver` "
                    "(Debian/Ubuntu: /usr/bin/chromium and /usr/bin/chromedriver), then run the tests again.")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        unavailable("selenium is not installed: `make setup` (or pip install -r requirements.txt).")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in CHROMIUM_FLAGS + [f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    # A driver path given to Service means Selenium Manager never tries to download one.
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
