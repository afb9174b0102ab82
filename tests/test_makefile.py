"""`make run` and `make dev`, read from the commands make would run (`make -n`): the server is
the last command, bound to HOST:PORT; only `make dev` reloads; every recipe sees PORT, from
which the settings build this server's addresses. tests/e2e/test_make_run.py runs it."""

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAKE = shutil.which("make") or "make"


def make(*args: str) -> str:
    # -o: never install, whatever the age of requirements.txt against the virtualenv's stamp.
    result = subprocess.run(
        [MAKE, "--no-print-directory", "-o", ".venv/.installed", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def commands(target: str, *variables: str) -> list[list[str]]:
    """The commands `make -n target` prints, continuation lines joined, each split into words."""
    text = make("-n", target, *variables).replace("\\\n", " ")
    return [shlex.split(line) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("variables", "bind"),
    [
        ((), "127.0.0.1:8000"),
        (("PORT=8123",), "127.0.0.1:8123"),
        (("HOST=0.0.0.0",), "0.0.0.0:8000"),
    ],
)
def test_make_run_ends_with_gunicorn_bound_to_host_and_port(variables, bind):
    *before, server = commands("run", *variables)

    assert server[0] == ".venv/bin/gunicorn" and "agentportal.wsgi" in server
    assert server[server.index("--bind") + 1] == bind
    assert "--threads" in server
    assert not any(word.startswith("--reload") for word in server)
    assert [command[2:4] for command in before if command[1:2] == ["manage.py"]] == [
        ["migrate", "--noinput"],
        ["seed_demo"],
    ]


def test_the_gunicorn_configuration_does_not_reload_either():
    from agentportal import gunicorn_conf

    assert not getattr(gunicorn_conf, "reload", False)


def test_make_dev_is_the_one_that_reloads():
    *before, server = commands("dev", "PORT=8123")

    assert server == [".venv/bin/python", "manage.py", "runserver", "127.0.0.1:8123"]
    assert ["seed_demo"] in [command[2:3] for command in before]


@pytest.mark.parametrize("variables", [("PORT=8123",), ()])
def test_every_recipe_sees_the_port_served(variables, monkeypatch):
    """PORT reaches migrate, seed_demo and the server as an environment variable, from the
    command line or from the environment."""
    monkeypatch.setenv("PORT", "8124")
    shown = make("-s", "--eval", "show-port: ; @echo $$PORT", "show-port", *variables)

    assert shown.strip() == ("8123" if variables else "8124")
