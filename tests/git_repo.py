"""A real git host for tests: a bare repository, and a working copy that pushes to it."""

from __future__ import annotations

import subprocess
from pathlib import Path

AUTHOR = ("-c", "user.name=Dockyard Tests", "-c", "user.email=tests@dockyard.invalid")


def app_files(base_image: str, content: str, *, extra_run: str = "") -> dict[str, str]:
    """A busybox httpd app whose index.html says `content`; `extra_run` adds a RUN step."""
    run = f"RUN {extra_run}\n" if extra_run else ""
    dockerfile = (
        f"FROM {base_image}\n"
        f"{run}"
        "COPY www /www\n"
        "EXPOSE 8080\n"
        'CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n'
    )
    return {"Dockerfile": dockerfile, "www/index.html": f"{content}\n"}


class GitRepo:
    def __init__(self, root: Path, *, bare: Path | None = None) -> None:
        self.bare = bare or root / "origin.git"
        self.work = root / "work"
        root.mkdir(parents=True, exist_ok=True)
        self.bare.parent.mkdir(parents=True, exist_ok=True)
        _git(root, "init", "--quiet", "--bare", "--initial-branch=main", str(self.bare))
        _git(root, "init", "--quiet", "--initial-branch=main", str(self.work))
        self.git("remote", "add", "origin", str(self.bare))

    @property
    def url(self) -> str:
        return f"file://{self.bare}"

    def git(self, *args: str) -> str:
        return _git(self.work, *args)

    def commit(self, message: str, files: dict[str, str]) -> str:
        """Write the files, commit them all on the current branch; the new commit's sha."""
        for name, text in files.items():
            path = self.work / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        self.git("add", "--all")
        self.git(*AUTHOR, "commit", "--quiet", "--message", message)
        return self.git("rev-parse", "HEAD").strip()

    def branch(self, name: str, *, start: str = "HEAD") -> None:
        self.git("checkout", "--quiet", "-B", name, start)

    def push(self, branch: str) -> None:
        self.git("push", "--quiet", "--force", "origin", f"HEAD:refs/heads/{branch}")

    def delete_remote_branch(self, branch: str) -> None:
        self.git("push", "--quiet", "origin", f":refs/heads/{branch}")


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout
