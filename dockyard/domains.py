"""Domain names a deployment gets, on Unkey's patterns under a configurable apex.

commit      <p>-git-<sha7>-<ws>
branch      <p>-git-<branch slug>-<ws>
environment <p>-<env>-<ws>
live        <p>-<ws>
deployment  <p>-dep-<id>-<ws>
where <p> is the project slug, plus `-<app>` when the app is not `default`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from dockyard.ids import slugify

# A DNS label holds at most 63 characters; long branch names are cut to fit.
MAX_LABEL = 63


class DomainKind(StrEnum):
    COMMIT = "commit"
    BRANCH = "branch"
    ENVIRONMENT = "environment"
    LIVE = "live"
    DEPLOYMENT = "deployment"
    CUSTOM = "custom"


# Sticky domains follow the newest deployment they describe; the others never move.
MOVING_KINDS = frozenset({DomainKind.BRANCH, DomainKind.ENVIRONMENT, DomainKind.LIVE})


@dataclass(frozen=True)
class DomainNames:
    project: str
    app: str
    workspace: str
    apex: str

    @property
    def _prefix(self) -> str:
        return self.project if self.app == "default" else f"{self.project}-{self.app}"

    def _host(self, *middle: str) -> str:
        label = "-".join([self._prefix, *middle, self.workspace])
        if len(label) > MAX_LABEL:
            cut = MAX_LABEL - len(self.workspace) - 1
            label = f"{label[:cut].rstrip('-')}-{self.workspace}"
        return f"{label}.{self.apex}"

    def commit(self, sha: str) -> str:
        return self._host("git", sha[:7].lower())

    def branch(self, branch: str) -> str:
        return self._host("git", slugify(branch))

    def environment(self, environment: str) -> str:
        return self._host(slugify(environment))

    def live(self) -> str:
        return self._host()

    def deployment(self, deployment_id: str) -> str:
        return self._host("dep", deployment_id.split("_", 1)[-1])

    def for_deployment(
        self,
        *,
        deployment_id: str,
        environment: str,
        branch: str | None,
        commit_sha: str | None,
        production: bool,
    ) -> dict[DomainKind, str]:
        names = {
            DomainKind.DEPLOYMENT: self.deployment(deployment_id),
            DomainKind.ENVIRONMENT: self.environment(environment),
        }
        if commit_sha:
            names[DomainKind.COMMIT] = self.commit(commit_sha)
        if branch:
            names[DomainKind.BRANCH] = self.branch(branch)
        if production:
            names[DomainKind.LIVE] = self.live()
        return names
