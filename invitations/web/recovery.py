"""Recovering lost deliveries where nothing runs `requeue_stuck` (the embedded default).

With a broker, cron or a systemd timer runs `requeue_stuck` every minute. Without one,
deliveries run in the web process, and one whose process died mid-call (a restart, a crash)
would stay `sending` for ever with no Resend. So the web process runs the same service itself:

- on a request, because the embedded default has nothing else that runs regularly, and a
  request is where someone is looking (the agent's page and its status polls show the result
  at once, before the view reads the invitations);
- at most once a minute per process, checked with a timestamp in memory: one indexed query
  when nothing is stuck, and nothing at all on the other requests;
- never failing the request: an error is logged and the request goes on.

Deliveries queued again run in-process like any other, in the request that found them; that
only happens after a crash, and their claim makes a second copy send nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from invitations import services

logger = logging.getLogger(__name__)

CHECK_INTERVAL_SECONDS = 60.0


class StuckDeliveryRecoveryMiddleware:
    """Runs `invitees_requeue_stuck` at most once a minute while REQUEUE_STUCK_AUTOMATICALLY."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        # One middleware instance per process (per handler), so this is per process.
        self.next_check = 0.0
        self.lock = threading.Lock()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.REQUEUE_STUCK_AUTOMATICALLY and time.monotonic() >= self.next_check:
            self.check()
        return self.get_response(request)

    def check(self) -> None:
        # Another thread already checking: this request does not wait for it.
        if not self.lock.acquire(blocking=False):
            return
        try:
            if time.monotonic() < self.next_check:
                return
            # Set first: a delivery run from here calls back into this server (the sandbox),
            # and that request must not check again.
            self.next_check = time.monotonic() + CHECK_INTERVAL_SECONDS
            services.invitees_requeue_stuck(
                older_than=timedelta(seconds=settings.REQUEUE_STUCK_AFTER_SECONDS)
            )
        except Exception:
            logger.exception("recovering lost deliveries failed; trying again in a minute")
        finally:
            self.lock.release()
