"""Small waits for the browser tests (the page fetches, then draws)."""

from __future__ import annotations

import sys

KGLINK_CMD = [sys.executable, "-c", "from kglink.cli import main; main()"]
TIMEOUT_S = 60


def wait_for(driver, condition, timeout: float = TIMEOUT_S):
    """Wait until ``condition(driver)`` is truthy; return its value."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    ignored = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(driver, timeout, ignored_exceptions=ignored).until(condition)


def find(driver, css: str):
    """The first element matching ``css``, once it is there."""
    from selenium.webdriver.common.by import By

    return wait_for(driver, lambda d: d.find_element(By.CSS_SELECTOR, css))


def find_all(driver, css: str, at_least: int = 1) -> list:
    """The elements matching ``css``, once there are at least ``at_least``."""
    from selenium.webdriver.common.by import By

    return wait_for(
        driver,
        lambda d: (found := d.find_elements(By.CSS_SELECTOR, css)) and len(found) >= at_least and found,
    )
