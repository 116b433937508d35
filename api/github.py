"""GitHub webhook deliveries: their signature, and the parts of the events dockyard acts on.

GitHub signs each delivery's raw body with HMAC-SHA256 under the webhook's secret and
sends `X-Hub-Signature-256: sha256=<hex>`. The models below read only what dockyard
needs and ignore every other field, so GitHub adding fields never breaks a delivery.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

SIGNATURE_PREFIX = "sha256="
BRANCH_PREFIX = "refs/heads/"
NO_COMMIT = "0" * 40


def signature_matches(secret: str, body: bytes, signature: str | None) -> bool:
    """Whether `signature` is the body's HMAC-SHA256 under `secret`, compared in constant time."""
    if not secret or not signature or not signature.startswith(SIGNATURE_PREFIX):
        return False
    expected = SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


class Event(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Repository(Event):
    full_name: str
    clone_url: str | None = None

    @property
    def names(self) -> tuple[str | None, ...]:
        """How an app may name this repository (a github.com URL reads as its full name)."""
        return (self.full_name, self.clone_url)


class GitUser(Event):
    """A commit's author; `username` only when the email belongs to a GitHub account."""

    name: str = ""
    username: Annotated[str, StringConstraints(max_length=255)] | None = None


class Account(Event):
    login: str
    avatar_url: Annotated[str, StringConstraints(max_length=2048)] | None = None


class Commit(Event):
    id: str
    message: str = ""
    timestamp: datetime | None = None
    author: GitUser | None = None
    added: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    modified: list[str] = Field(default_factory=list)


class Push(Event):
    ref: str
    after: str
    deleted: bool = False
    repository: Repository
    head_commit: Commit | None = None
    commits: list[Commit] = Field(default_factory=list)
    sender: Account | None = None

    @property
    def branch(self) -> str | None:
        """The pushed branch; None for tags and other refs."""
        return self.ref.removeprefix(BRANCH_PREFIX) if self.ref.startswith(BRANCH_PREFIX) else None

    @property
    def branch_deleted(self) -> bool:
        return self.deleted or self.after == NO_COMMIT

    def author(self) -> tuple[str | None, str | None]:
        """The head commit author's GitHub login, and their avatar when they pushed it."""
        author = self.head_commit.author if self.head_commit else None
        if author is None or not author.username:
            return None, None
        sender = self.sender
        same = sender is not None and sender.login.lower() == author.username.lower()
        return author.username, sender.avatar_url if same and sender else None

    def authored_ms(self) -> int | None:
        """When the head commit was authored, in unix ms (a time without a zone is UTC)."""
        stamp = self.head_commit.timestamp if self.head_commit else None
        if stamp is None:
            return None
        return int(stamp.replace(tzinfo=stamp.tzinfo or UTC).timestamp() * 1000)

    def changed_files(self) -> set[str] | None:
        """Every file the pushed commits touched; None when GitHub listed no commits."""
        if not self.commits:
            return None
        return {
            path
            for commit in self.commits
            for path in (*commit.added, *commit.removed, *commit.modified)
        }


class BranchRef(Event):
    ref: str
    repo: Repository | None = None  # None once a fork is deleted


class PullRequestBody(Event):
    head: BranchRef


class PullRequest(Event):
    action: str
    pull_request: PullRequestBody
    repository: Repository

    @property
    def head_branch(self) -> str | None:
        """The branch the pull request was opened from, when it lives in this repository."""
        head = self.pull_request.head
        if head.repo is None or head.repo.full_name != self.repository.full_name:
            return None  # a fork's branch: it never had a preview here
        return head.ref
