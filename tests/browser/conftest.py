"""Playwright driving Debian's Chromium (/usr/bin/chromium) against the live test server.

Screenshots of each step go to test-artifacts/browser/. Outside CI a missing Chromium skips
these tests; in CI (CI=true) it fails them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import ARTIFACTS

# Chromium's own background traffic is refused on these machines; keep it from trying.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        pytest.skip("Chromium is not installed (CI installs Debian's chromium in .ci/run)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # between browser steps are ordinary synchronous calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _page(chromium: Any, live_server: Any, *, bypass_csp: bool) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1200, "height": 900}, bypass_csp=bypass_csp)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def page(chromium: Any, live_server: Any) -> Iterator[Any]:
    """A page whose test tools may inject scripts (axe) and poll with `wait_for_function`,
    which the portal's Content-Security-Policy would refuse; `csp_page` keeps the policy."""
    yield from _page(chromium, live_server, bypass_csp=True)


@pytest.fixture
def csp_page(chromium: Any, live_server: Any) -> Iterator[Any]:
    """A page under the portal's Content-Security-Policy, as an agent's browser has it."""
    yield from _page(chromium, live_server, bypass_csp=False)


@pytest.fixture
def shot(page: Any, request: pytest.FixtureRequest) -> Any:
    """shot("step") saves a full-page screenshot named after the test and the step."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    counter = iter(range(1, 100))

    def take(step: str, target: Any = None) -> Path:
        path = ARTIFACTS / f"{request.node.name}-{next(counter):02d}-{step}.png"
        (target or page).screenshot(path=str(path), full_page=True)
        return path

    return take
