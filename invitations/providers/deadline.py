"""The total deadline of one HTTP call: a watchdog that shuts the call's connections when its
time is up, whatever phase the call is in (see http.py), and the connection pools that tell it
which connections those are."""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, PoolManager, ProxyManager
from urllib3.connection import HTTPConnection
from urllib3.response import BaseHTTPResponse

# How soon the watchdog looks again when the connection it must cut is still being opened.
_RECHECK_SECONDS = 0.05


class Deadline:
    """Shuts the connections of one call when its time is up.

    Closing a socket from another thread is the only way to stop a blocked read; the calling
    thread then sees end of file or a reset, and `expired` tells it why.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._connections: list[HTTPConnection] = []
        self._lock = threading.Lock()
        self._over = False

    def __enter__(self) -> Deadline:
        self._arm(self.seconds)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with self._lock:
            # The watchdog still calls `_expire` at the time set, which then does nothing.
            self._over = True

    def watch(self, connection: HTTPConnection) -> None:
        with self._lock:
            self._connections.append(connection)

    def _arm(self, seconds: float) -> None:
        _watchdog().arm(time.monotonic() + seconds, self._expire)

    def _expire(self) -> None:
        with self._lock:
            if self._over:
                return
            sockets = [c.sock for c in self._connections if c.sock is not None]
            if not sockets:
                # Still resolving or connecting, which the connect timeout bounds; the
                # connection to cut exists in a moment.
                self._arm(_RECHECK_SECONDS)
                return
            self.expired = True
            for sock in sockets:
                with contextlib.suppress(OSError):  # already closed: nothing left to stop
                    sock.shutdown(socket.SHUT_RDWR)


class _Watchdog:
    """One thread per process that calls each armed function at its time: cheaper than a
    thread per call, which costs more than the rest of the call's own work."""

    def __init__(self) -> None:
        self._due: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        thread = threading.Thread(target=self._run, name="http-deadlines", daemon=True)
        thread.start()

    def arm(self, when: float, call: Callable[[], None]) -> None:
        with self._wake:
            heapq.heappush(self._due, (when, next(self._order), call))
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._due or self._due[0][0] > time.monotonic():
                    self._wake.wait(self._due[0][0] - time.monotonic() if self._due else None)
                _when, _order, call = heapq.heappop(self._due)
            call()  # outside the lock: it may arm again


_watchdogs: dict[int, _Watchdog] = {}
_watchdogs_lock = threading.Lock()


def _watchdog() -> _Watchdog:
    """This process's watchdog; a forked worker process starts its own (threads do not
    survive a fork)."""
    pid = os.getpid()
    watchdog = _watchdogs.get(pid)
    if watchdog is None:
        with _watchdogs_lock:
            watchdog = _watchdogs.get(pid) or _watchdogs.setdefault(pid, _Watchdog())
    return watchdog


# The deadline of the call running on this thread; the connection pools report to it.
running = threading.local()


class _WatchedHTTPPool(HTTPConnectionPool):
    def _make_request(self, conn: Any, *args: Any, **kwargs: Any) -> BaseHTTPResponse:
        _watch(conn)
        return super()._make_request(conn, *args, **kwargs)


class _WatchedHTTPSPool(HTTPSConnectionPool):
    def _make_request(self, conn: Any, *args: Any, **kwargs: Any) -> BaseHTTPResponse:
        _watch(conn)
        return super()._make_request(conn, *args, **kwargs)


def _watch(connection: HTTPConnection) -> None:
    """Tell the deadline of the call running on this thread which connection it uses."""
    deadline: Deadline | None = getattr(running, "deadline", None)
    if deadline is not None:
        deadline.watch(connection)


_WATCHED_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class WatchedAdapter(HTTPAdapter):
    """requests' adapter, with pools whose connections the running call's deadline can cut."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> PoolManager:
        manager: PoolManager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if isinstance(manager, ProxyManager):  # a SOCKS manager keeps its own pools
            manager.pool_classes_by_scheme = _WATCHED_POOLS
        return manager
