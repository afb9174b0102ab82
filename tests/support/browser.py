"""What the browser tests share: where screenshots go, and the agent's login."""

from pathlib import Path
from typing import Any

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
# The password the browser tests give their agents (make_agent's `password`).
PASSWORD = "browser-pass-2026"


def log_in(page: Any, live_server: Any, username: str = "ann") -> None:
    """Signs in through the login page, as an agent would, and waits for the home page."""
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/")
