"""What the portal adds to one invitation, against a hand-written `requests.post`.

    .venv/bin/python -m bench.cost_per_invitation [--rounds 7] [--per-round 20]
        [--database sqlite|postgres]

Two gunicorn servers on one database (a SQLite file, or a throw-away PostgreSQL server), as
`make run` would serve them but with DEBUG off:
the sandbox (Glance's smsInvite), and the portal with in-process delivery (no broker), so one
POST of the agent's one-click form runs the whole path: login session, form, service, rows,
the delivery task, the HTTP call to the sandbox, the status rows. Each round alternates that
POST with a bare `requests.post` of the same body to the same sandbox endpoint over one
reused connection, and takes the ratio of the medians; the result is the median over rounds.
It runs twice: with the sandbox answering at once (goal: portal ÷ bare ≤ 2.5) and with it
answering after 200 ms (goal ≤ 1.03). It also times an empty request to the portal (a 404),
to tell what the extra HTTP hop costs from what the portal's own work costs: portal - bare -
empty request, whose median over rounds with the instant sandbox has a goal of ≤ 3 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import requests

from bench import stack
from bench.production_stack import create_database

API_KEY = "bench-glance-api-key"
GROUP_ID = 72
GOALS = {0.0: 2.5, 0.2: 1.03}
OWN_WORK_GOAL_MS = 3.0


@contextlib.contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    """A DATABASE_URL for `kind`: a SQLite file in `folder`, or a throw-away PostgreSQL."""
    if kind == "postgres":
        with stack.postgres() as url:
            create_database(url)
            yield url
    else:
        yield f"sqlite:///{folder / 'bench.sqlite3'}"


def environment(database_url: str, sandbox_port: int) -> dict[str, str]:
    sandbox = f"http://127.0.0.1:{sandbox_port}/sandbox"
    return stack.base_env(
        DEBUG="false",
        SECRET_KEY=stack.SECRET_KEY,
        FIELD_ENCRYPTION_KEYS=stack.FIELD_KEY,
        SANDBOX_ENABLED="true",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=database_url,
        SANDBOX_BASE_URL=f"{sandbox}/glance",
        SANDBOX_GLANCE_GROUP_ID=str(GROUP_ID),
        SANDBOX_GLANCE_API_KEY=API_KEY,
        # Plenty: the benchmark sends hundreds of invitations from one agent.
        RATE_LIMIT_PER_AGENT="100000/60",
        RATE_LIMIT_PER_DESTINATION="100000/60",
        RATE_LIMIT_PER_PREFIX="100000/60",
        LOG_LEVEL="WARNING",
        CONN_MAX_AGE="60",
    )


@contextlib.contextmanager
def servers(database_url: str) -> Iterator[tuple[str, str, dict[str, str]]]:
    """The sandbox and the portal, each a gunicorn of its own; yields their URLs and env."""
    sandbox_port, portal_port = stack.free_port(), stack.free_port()
    env = environment(database_url, sandbox_port)
    stack.manage(env, "migrate", "--noinput", "-v0")
    stack.manage({**env, "DEMO_PASSWORD": stack.PASSWORD}, "seed_demo")

    def gunicorn(port: int) -> list[str]:
        return stack.gunicorn(port, "--workers", "1", "--threads", "4", "--keep-alive", "30")

    with (
        stack.serving(
            gunicorn(sandbox_port), port=sandbox_port, timeout=30, what="sandbox", env=env
        ),
        stack.serving(gunicorn(portal_port), port=portal_port, timeout=30, what="portal", env=env),
    ):
        yield f"http://127.0.0.1:{sandbox_port}", f"http://127.0.0.1:{portal_port}", env


def destinations() -> Iterator[str]:
    """Distinct valid US numbers, so that no destination limit or duplicate rule applies."""
    for n in range(10_000):
        yield f"+1415555{n:04d}"


def portal_click(
    portal: str, agent: requests.Session, numbers: Iterator[str]
) -> Callable[[], None]:
    # Delivery runs in-process: the redirect comes once the invitation is sent.
    return lambda: stack.one_click(portal, agent, next(numbers))


def bare_post(sandbox: str, numbers: Iterator[str]) -> Callable[[], None]:
    """What a hand-written script does: the same JSON to the same endpoint, one connection."""
    from invitations.providers.glance import gkey_token, login_key

    connection = requests.Session()
    key = login_key(
        partner_id=GROUP_ID,
        partner_user_id="agent-1001",
        api_key=API_KEY,
        expiration=int(time.time()) + 3600,
    )
    headers = {
        "Authorization": "Bearer GKEY "
        + gkey_token(partner_id=GROUP_ID, partner_user_id="agent-1001", key=key)
    }
    url = f"{sandbox}/sandbox/glance/api/SessionInvitation/smsInvite/"

    def post() -> None:
        answer = connection.post(
            url,
            params={"groupid": GROUP_ID},
            json={"sessiontype": 1, "smsPhone": next(numbers)},
            headers=headers,
            timeout=30,
        )
        assert answer.status_code == 200, f"sandbox answered {answer.status_code}: {answer.text}"

    return post


def timed(call: Callable[[], None]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def empty_request(portal: str) -> Callable[[], None]:
    """The least a request to the portal costs: one that Django answers with a 404, through
    the same gunicorn and the same kind of client. The portal's path has two such hops (the
    agent's POST and the call to the upstream) where the bare call has one."""
    connection = requests.Session()

    def get() -> None:
        answer = connection.get(f"{portal}/no-such-page/", timeout=30)
        assert answer.status_code == 404, f"portal answered {answer.status_code}"

    return get


def measure(
    calls: list[Callable[[], None]], rounds: int, per_round: int
) -> list[tuple[float, ...]]:
    """The median time of each call per round, the calls alternating within a round."""
    # Warm every path first: imports, connections, caches.
    for call in calls:
        call()
    results = []
    for _ in range(rounds):
        times: list[list[float]] = [[] for _ in calls]
        for _ in range(per_round):
            for call, call_times in zip(calls, times, strict=True):
                call_times.append(timed(call))
        results.append(tuple(statistics.median(call_times) for call_times in times))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--per-round", type=int, default=20)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    options = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="agentportal-bench-") as tmp,
        database(options.database, Path(tmp)) as database_url,
        servers(database_url) as (sandbox, portal, env),
    ):
        # Only for the login key helpers of the bare call; the servers are separate processes.
        stack.use_django(env)
        agent = stack.logged_in(portal)
        numbers = destinations()
        calls = [portal_click(portal, agent, numbers), bare_post(sandbox, numbers)]
        calls.append(empty_request(portal))
        passed = True
        for delay, goal in GOALS.items():
            stack.set_sandbox_delay(sandbox, delay)
            results = measure(calls, options.rounds, options.per_round)
            print(f"\nsandbox answering after {delay * 1000:.0f} ms")
            print("round  portal ms  bare ms  ratio  empty request ms  portal's own work ms")
            for number, (portal_time, bare_time, empty_time) in enumerate(results, 1):
                ratio = portal_time / bare_time
                own = portal_time - bare_time - empty_time
                print(
                    f"{number:5}  {portal_time * 1000:9.1f}  {bare_time * 1000:7.1f}  {ratio:5.2f}"
                    f"  {empty_time * 1000:16.1f}  {own * 1000:20.1f}"
                )
            ratio = statistics.median(p / b for p, b, _empty in results)
            ok = ratio <= goal
            passed &= ok
            print(
                f"RESULT cost per invitation, sandbox {delay * 1000:.0f} ms: portal ÷ bare = "
                f"{ratio:.3f} (median of {len(results)} rounds; goal ≤ {goal}) "
                f"{'PASS' if ok else 'FAIL'}"
            )
            if delay == 0.0:
                own_ms = statistics.median(p - b - e for p, b, e in results) * 1000
                ok = own_ms <= OWN_WORK_GOAL_MS
                passed &= ok
                print(
                    f"RESULT portal's own work per invitation on {options.database}: "
                    f"{own_ms:.1f} ms (median of {len(results)} rounds; goal ≤ "
                    f"{OWN_WORK_GOAL_MS:g} ms) {'PASS' if ok else 'FAIL'}"
                )
        stack.set_sandbox_delay(sandbox, 0)
    return 0 if passed else 1


if __name__ == "__main__":
    stack.run_main(main)
