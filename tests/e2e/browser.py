"""A real headless Chromium (Debian's ``chromium`` and ``chromium-driver``) driven by Selenium,
and the pictures it takes along the way.

Screenshots go to ``ZALODESK_SCREENSHOTS`` if set, else ``tests/e2e/screenshots/`` (kept
out of git; CI keeps the folder as an artifact).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

T = TypeVar("T")

SCREENSHOTS = Path(os.environ.get("ZALODESK_SCREENSHOTS") or Path(__file__).parent / "screenshots")
LAPTOP = (1366, 860)
PHONE = (390, 844)
WAIT_SECONDS = 20.0


def chromium_paths() -> tuple[str, str]:
    """The browser and its driver, or a skip naming what is missing."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        missing = " and ".join(
            n for n, p in (("chromium", browser), ("chromedriver", driver)) if not p
        )
        pytest.skip(
            f"{missing} not installed: apt-get install chromium chromium-driver (the README's test command does)"
        )
    return browser, driver


class Browser:
    """One Chromium window on the console, with the few moves the tests need."""

    def __init__(self, base_url: str) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service as DriverService

        browser, driver = chromium_paths()
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for argument in (
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--lang=en-US",
            f"--window-size={LAPTOP[0]},{LAPTOP[1]}",
        ):
            options.add_argument(argument)
        self.driver = webdriver.Chrome(options=options, service=DriverService(driver))
        self.base_url = base_url
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def quit(self) -> None:
        self.driver.quit()

    def open(self, path: str = "/") -> None:
        self.driver.get(self.base_url + path)

    def wait(self, probe: Callable[[], T | None], what: str, seconds: float = WAIT_SECONDS) -> T:
        from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        waiter = WebDriverWait(
            self.driver, seconds, 0.1, ignored_exceptions=[StaleElementReferenceException]
        )
        try:
            found: T = waiter.until(lambda _: probe())  # type: ignore[assignment]
        except TimeoutException:
            self.shot(f"failed-{what}")
            raise AssertionError(f"gave up after {seconds:.0f} s waiting for {what}") from None
        return found

    def find(self, css: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return list(self.driver.find_elements(By.CSS_SELECTOR, css))

    def shown(self, css: str) -> Any:
        """The first element matching ``css`` that is displayed, or None."""
        return next((e for e in self.find_all(css) if e.is_displayed()), None)

    def wait_shown(self, css: str, what: str, seconds: float = WAIT_SECONDS) -> Any:
        return self.wait(lambda: self.shown(css), what, seconds)

    def click(self, css: str) -> None:
        """Click the element, found again if the page redrew it in between."""
        from selenium.common.exceptions import StaleElementReferenceException

        def clicked() -> bool:
            try:
                self.wait_shown(css, f"{css} to click").click()
            except StaleElementReferenceException:
                return False
            return True

        self.wait(clicked, f"{css} to click")

    def choose(self, css: str, value: str) -> None:
        from selenium.webdriver.support.ui import Select

        Select(self.wait_shown(css, f"{css} to choose from")).select_by_value(value)

    def type(self, css: str, text: str) -> None:
        field = self.wait_shown(css, f"{css} to type in")
        field.clear()
        field.send_keys(text)

    def script(self, code: str, *args: Any) -> Any:
        return self.driver.execute_script(code, *args)

    def size(self, width: int, height: int) -> None:
        self.driver.set_window_size(width, height)

    def shot(self, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path
