"""`scripts/setup --run` (what `scripts/dev` runs) sets up only what running dockyard needs.

The script runs in a copy of the repository with a PATH of its own: the tools it may use
are linked in, and every installer and service it must not touch is a stub that records
being called. A fake .venv records what pip is asked for. Nothing on the machine changes.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
# What the script runs itself: linked in from the machine.
TOOLS = (
    "awk", "bash", "cat", "chmod", "cksum", "dirname", "flock", "grep", "head", "ls",
    "mkdir", "rm", "sed", "seq", "sleep", "sort", "tail", "timeout",
)  # fmt: skip
# What only the tests, CI and benchmarks need; running dockyard must not install or run it.
TEST_ONLY = (
    "npm", "node", "chromium", "pg_ctlcluster", "pg_createcluster", "psql", "pebble",
    "pebble-challtestsrv", "nginx", "wrk",
)  # fmt: skip
# Installers and services that the machine of this test already has working stand-ins for.
NOT_NEEDED_HERE = ("apt-get", "dockerd", "redis-server")
RECORDER = '#!/bin/sh\necho "${{0##*/}} $*" >>"{calls}"\n'
DOCKER = RECORDER + '[ "$1" = info ] && echo 27.1.0\nexit 0\n'
ID = '#!/bin/sh\ncase "$1" in -u) echo {uid} ;; *) echo dev ;; esac\n'


@dataclass(frozen=True)
class Machine:
    repo: Path
    bin: Path
    calls: Path
    redis_url: str

    def setup(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / "bash"), str(self.repo / "scripts" / "setup"), *args],
            env={
                "PATH": str(self.bin),
                "DOCKYARD_REDIS_URL": self.redis_url,
                "HOME": "/nonexistent",
            },
            capture_output=True,
            text=True,
            timeout=60,
        )

    def called(self) -> list[str]:
        return self.calls.read_text().splitlines() if self.calls.exists() else []

    def pip_calls(self) -> list[str]:
        return [line for line in self.called() if line.startswith("pip ")]

    def stamp(self) -> list[str]:
        return (self.repo / ".venv" / ".dockyard-installed").read_text().splitlines()


def script(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


def has_static_busybox() -> bool:
    for candidate in (Path("/bin/busybox"), Path("/usr/bin/busybox")):
        if candidate.is_file() and b"/lib64/ld-linux" not in candidate.read_bytes():
            return True
    return False


@pytest.fixture
def redis_stand_in() -> Iterator[str]:
    """Something that accepts connections where the script looks for Redis."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"


def make_machine(tmp_path: Path, redis_url: str, *, uid: int) -> Machine:
    repo, stubs, calls = tmp_path / "repo", tmp_path / "bin", tmp_path / "calls.log"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy2(REPOSITORY / "scripts" / "setup", repo / "scripts" / "setup")
    shutil.copy2(REPOSITORY / "pyproject.toml", repo / "pyproject.toml")
    venv = repo / ".venv" / "bin"
    venv.mkdir(parents=True)
    script(venv / "python", f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    script(venv / "pip", RECORDER.format(calls=calls))
    script(venv / "temporal", "#!/bin/sh\necho temporal version 1.9.1\n")
    stubs.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        if found:
            (stubs / tool).symlink_to(found)
    for name in (*TEST_ONLY, *NOT_NEEDED_HERE):
        script(stubs / name, RECORDER.format(calls=calls))
    script(stubs / "docker", DOCKER.format(calls=calls))
    script(stubs / "id", ID.format(uid=uid))
    return Machine(repo=repo, bin=stubs, calls=calls, redis_url=redis_url)


@pytest.mark.parametrize("uid", [1000, 0], ids=["user", "root"])
def test_run_setup_installs_and_starts_nothing_only_the_tests_need(
    tmp_path: Path, redis_stand_in: str, uid: int
) -> None:
    if uid == 0 and not has_static_busybox():
        pytest.skip("as root without a static busybox the script would apt-get install one")
    machine = make_machine(tmp_path, redis_stand_in, uid=uid)

    result = machine.setup("--run")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "docker    engine 27.1.0 answering" in result.stdout
    assert "redis     127.0.0.1" in result.stdout
    called = {line.split()[0] for line in machine.called()}
    assert called <= {"pip", "docker"}, machine.called()
    assert machine.pip_calls() == ["pip install --disable-pip-version-check -qq -e ."]
    assert machine.stamp()[1] == "run"


def test_the_stamp_keeps_the_dev_tools_a_test_setup_installed(
    tmp_path: Path, redis_stand_in: str
) -> None:
    machine = make_machine(tmp_path, redis_stand_in, uid=1000)
    dev_install = "pip install --disable-pip-version-check -qq -e .[dev]"

    assert machine.setup("--run").returncode == 0
    assert machine.setup("--run").returncode == 0  # nothing changed: no second install
    assert len(machine.pip_calls()) == 1
    assert machine.setup("--python").returncode == 0  # the runtime alone is not enough
    assert machine.pip_calls()[-1] == dev_install
    assert machine.stamp()[1] == "dev"
    assert machine.setup("--run").returncode == 0  # the dev tools stay, nothing reinstalled

    assert len(machine.pip_calls()) == 2
    assert machine.stamp()[1] == "dev"


def test_a_stamp_from_before_run_mode_counts_as_the_dev_tools(
    tmp_path: Path, redis_stand_in: str
) -> None:
    machine = make_machine(tmp_path, redis_stand_in, uid=1000)
    assert machine.setup("--python").returncode == 0
    stamp = machine.repo / ".venv" / ".dockyard-installed"
    stamp.write_text(machine.stamp()[0] + "\n")

    assert machine.setup("--python").returncode == 0
    assert machine.setup("--run").returncode == 0

    assert len(machine.pip_calls()) == 1
