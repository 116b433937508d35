"""Fetching an app's source at one exact commit, from any URL `git` itself can reach.

https, ssh and local paths all work, with whatever credentials the process's own git
configuration holds; git never prompts. Only the one commit is fetched where the server
allows it (GitHub and any modern git do), so a large history costs nothing.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
# GitHub's `owner/name`; anything else is taken as a URL or path git understands.
GITHUB_NAME = re.compile(r"^[A-Za-z0-9._-]+/[A-Za-z0-9._-]+$")
NO_SUCH_BRANCH = "branch {branch!r} does not exist in {url}"
NO_SUCH_COMMIT = "commit {commit} was not found in {url}"
OUTSIDE_CHECKOUT = "{what} {path!r} points outside the repository"
GIT_FAILED = "git {command} failed with exit code {code}"


class SourceError(Exception):
    """The source cannot be had as asked: a wrong URL, branch, commit or path."""


@dataclass(frozen=True)
class Commit:
    sha: str
    message: str


def clone_url(repository: str, template: str) -> str:
    """Where to fetch an app's repository from: `owner/name` through the template."""
    if GITHUB_NAME.match(repository) and not Path(repository).is_absolute():
        return template.format(repository=repository)
    return repository


def same_repository(connected: str, *names: str | None) -> bool:
    """Whether a repository a delivery names is the one an app is connected to."""
    wanted = _canonical(connected)
    return any(name and _canonical(name) == wanted for name in names)


def inside(root: Path, relative: str, what: str) -> Path:
    """`relative` resolved under `root`; SourceError when it escapes (`..`, a symlink)."""
    base = root.resolve()
    target = (base / relative).resolve()
    if Path(relative).is_absolute() or not target.is_relative_to(base):
        raise SourceError(OUTSIDE_CHECKOUT.format(what=what, path=relative))
    return target


class Checkout:
    """One commit of one repository in a directory; `abort` stops a fetch in progress."""

    def __init__(self, url: str, directory: Path, say: Callable[[str], None]) -> None:
        self._url = url
        self._directory = directory
        self._say = say
        self._running: subprocess.Popen[str] | None = None
        self._aborted = threading.Event()

    def fetch(self, *, commit: str | None, branch: str | None) -> Commit:
        """Check out `commit`, or the head of `branch` when no commit is given."""
        self._directory.mkdir(parents=True, exist_ok=True)
        self._git("init", "--quiet")
        commit = (commit or "").lower() or self._head_of(branch or "HEAD")
        if FULL_SHA.match(commit):
            self._git("fetch", "--depth", "1", "--no-tags", self._url, commit, check=False)
        if not self._has(commit):
            # An abbreviated sha, or a server that refuses to serve a bare sha: every branch.
            self._git("fetch", "--no-tags", self._url, "+refs/heads/*:refs/remotes/origin/*")
        if not self._has(commit):
            raise SourceError(NO_SUCH_COMMIT.format(commit=commit, url=self._url))
        self._git("-c", "advice.detachedHead=false", "checkout", "--quiet", "--force", commit)
        if (self._directory / ".gitmodules").exists():
            self._git("submodule", "update", "--init", "--recursive", "--depth", "1")
        sha = self._git("rev-parse", "HEAD", echo=False).strip()
        message = self._git("log", "-1", "--format=%B", echo=False).strip()
        return Commit(sha=sha, message=message)

    def abort(self) -> None:
        self._aborted.set()
        process = self._running
        if process is not None and process.poll() is None:
            process.kill()

    def _head_of(self, branch: str) -> str:
        ref = branch if branch == "HEAD" else f"refs/heads/{branch}"
        listing = self._git("ls-remote", self._url, ref, echo=False)
        for line in listing.splitlines():
            sha, _, name = line.partition("\t")
            if name == ref:
                return sha
        raise SourceError(NO_SUCH_BRANCH.format(branch=branch, url=self._url))

    def _has(self, commit: str) -> bool:
        found = self._git(
            "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}", check=False, echo=False
        )
        return bool(found.strip())

    def _git(self, *args: str, check: bool = True, echo: bool = True) -> str:
        if self._aborted.is_set():
            raise SourceError("the fetch was stopped")
        if echo and args[0] in ("fetch", "checkout", "submodule"):
            self._say(f"$ git {' '.join(_shown(arg) for arg in args)}")
        process = subprocess.Popen(
            ["git", *args],
            cwd=self._directory,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"},
        )
        self._running = process
        assert process.stdout is not None
        output = []
        for line in process.stdout:
            output.append(line)
            if echo:
                self._say(_shown(line.rstrip("\n")))
        code = process.wait()
        self._running = None
        if self._aborted.is_set():
            raise SourceError("the fetch was stopped")
        if check and code != 0:
            said = "".join(output[-5:]).strip()
            failed = GIT_FAILED.format(command=args[0], code=code)
            raise SourceError(f"{failed}: {_shown(said)}" if said else failed)
        return "".join(output)


def _canonical(repository: str) -> str:
    text = repository.strip().rstrip("/").removesuffix(".git").lower()
    for prefix in ("https://github.com/", "http://github.com/", "git@github.com:"):
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


def _shown(arg: str) -> str:
    # A URL may carry a token (https://x-access-token:...@github.com/...): never log it.
    return re.sub(r"//[^/@]+@", "//***@", arg)
