"""Where one invitation's milliseconds go: the one-click POST profiled in-process.

    .venv/bin/python -m bench.profile_invitation [--invitations 200] [--database sqlite|postgres]
                                                 [--top 40] [--sql] [--save PATH]

The sandbox is a gunicorn of its own (Glance answering at once), as in
bench.cost_per_invitation; the portal runs in this process, through Django's test client with
in-process delivery, so the profile holds the portal's whole path (middleware, form, service,
rows, the delivery task, the HTTP call, the status rows) and nothing of the sandbox's. Prints
the SQL statements and transactions of one invitation, the median CPU time per invitation in
this process (the portal's work and the HTTP client's; the sandbox runs elsewhere), and
cProfile's functions by cumulative time over as many more.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from bench import stack
from bench.cost_per_invitation import database, destinations, environment


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invitations", type=int, default=200)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sql", action="store_true", help="print one invitation's statements")
    parser.add_argument("--save", metavar="PATH", help="also write the profile to PATH (pstats)")
    options = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="agentportal-profile-") as tmp,
        database(options.database, Path(tmp)) as database_url,
    ):
        sandbox_port = stack.free_port()
        env = environment(database_url, sandbox_port)
        env["PORTAL_BASE_URL"] = f"http://127.0.0.1:{sandbox_port}"
        stack.manage(env, "migrate", "--noinput", "-v0")
        stack.manage({**env, "DEMO_PASSWORD": stack.PASSWORD}, "seed_demo")
        sandbox = stack.gunicorn(sandbox_port, "--workers", "1", "--threads", "4")
        with stack.serving(sandbox, port=sandbox_port, timeout=30, what="sandbox", env=env):
            stack.use_django({**env, "ALLOWED_HOSTS": "testserver"})
            return profile(options)


def profile(options: argparse.Namespace) -> int:
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    setup_test_environment()  # the test client's ALLOWED_HOSTS and outbox
    assert settings.CELERY_TASK_ALWAYS_EAGER, "the profile needs in-process delivery"
    from django.contrib.auth.models import User

    agent = Client()
    agent.force_login(User.objects.get(username="agent"))
    numbers = destinations()

    def click() -> None:
        answer = agent.post(
            "/",
            {"destination": next(numbers), "channel": "sms", "idempotency_key": uuid.uuid4().hex},
        )
        assert answer.status_code == 302, f"portal answered {answer.status_code}"

    for _ in range(20):  # warm: imports, connections, caches
        click()
    with CaptureQueriesContext(connection) as queries:
        click()
    statements = [q["sql"] for q in queries.captured_queries]
    transactions = sum(
        1 for sql in statements if sql.startswith(("BEGIN", "SAVEPOINT")) or sql == "BEGIN"
    )
    print(f"one invitation: {len(statements)} SQL statements, {transactions} BEGIN/SAVEPOINT")
    if options.sql:
        for sql in statements:
            print("   ", sql[:160])

    # This thread's CPU time, not the clock's: the sandbox's work is in another process, and
    # other processes on a busy machine barely move it.
    cpu = []
    for _ in range(options.invitations):
        started = time.thread_time()
        click()
        cpu.append(time.thread_time() - started)
    print(
        f"{options.invitations} invitations on {options.database}: median "
        f"{statistics.median(cpu) * 1000:.2f} ms of CPU each in this process (no profiler; "
        f"fastest {min(cpu) * 1000:.2f} ms)"
    )
    times = []
    profiler = cProfile.Profile()
    for _ in range(options.invitations):
        started = time.perf_counter()
        profiler.enable()
        click()
        profiler.disable()
        times.append(time.perf_counter() - started)
    print(
        f"{options.invitations} invitations on {options.database}: median "
        f"{statistics.median(times) * 1000:.2f} ms each (under the profiler)"
    )
    if options.save:
        profiler.dump_stats(options.save)
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(options.top)
    stats.sort_stats("tottime").print_stats(options.top // 2)
    return 0


if __name__ == "__main__":
    stack.run_main(main)
