"""Where a deployment's code came from: a repository, a branch, and the commit when known."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.models import Deployment


@dataclass(frozen=True)
class GitCommit:
    """What a deployment records of its source in git; every part is optional, since an
    image deployment may say nothing and a build learns its commit only when it fetches."""

    repository: str | None = None  # a URL or path the build worker fetches from
    branch: str | None = None
    sha: str | None = None
    message: str | None = None
    author: str | None = None  # a GitHub login, when a push told us
    author_avatar_url: str | None = None
    timestamp: int | None = None  # ms, when it was authored

    @classmethod
    def of(cls, deployment: Deployment) -> GitCommit:
        """The commit a deployment row records."""
        return cls(
            repository=deployment.git_repository,
            branch=deployment.git_branch,
            sha=deployment.git_commit_sha,
            message=deployment.git_commit_message,
            author=deployment.git_commit_author,
            author_avatar_url=deployment.git_commit_author_avatar_url,
            timestamp=deployment.git_commit_timestamp,
        )
