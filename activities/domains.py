"""Network phase: the domains a deployment is reachable at."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from dockyard.domains import MOVING_KINDS, DomainKind, DomainNames
from dockyard.ids import new_id
from dockyard.models import App, Deployment, Domain, Environment, Project, Workspace
from dockyard.payloads import AssignDomainsInput, AssignedDomains


def planned_domains(session: Session, deployment: Deployment, apex: str) -> dict[DomainKind, str]:
    """Every generated hostname of a deployment, by kind."""
    environment = session.get_one(Environment, deployment.environment_id)
    app = session.get_one(App, deployment.app_id)
    project = session.get_one(Project, deployment.project_id)
    workspace = session.get_one(Workspace, deployment.workspace_id)
    names = DomainNames(project=project.slug, app=app.slug, workspace=workspace.slug, apex=apex)
    return names.for_deployment(
        deployment_id=deployment.id,
        environment=environment.slug,
        branch=deployment.git_branch,
        commit_sha=deployment.git_commit_sha,
        production=environment.kind == "production",
    )


def point(session: Session, deployment: Deployment, kind: DomainKind, hostname: str) -> Domain:
    """Create or move one domain so that it serves this deployment."""
    domain = session.scalar(select(Domain).where(Domain.hostname == hostname))
    if domain is None:
        domain = Domain(id=new_id("domain"), hostname=hostname)
        session.add(domain)
    domain.kind = kind.value
    domain.workspace_id = deployment.workspace_id
    domain.project_id = deployment.project_id
    domain.app_id = deployment.app_id
    domain.environment_id = deployment.environment_id
    domain.branch = deployment.git_branch
    domain.deployment_id = deployment.id
    return domain


class DomainActivities:
    def __init__(self, sessions: sessionmaker[Session], apex: str) -> None:
        self._sessions = sessions
        self._apex = apex

    @activity.defn(name="assign domains")
    def assign_domains(self, request: AssignDomainsInput) -> AssignedDomains:
        """Point the deployment's own domains at it now; moving ones wait for finalize."""
        with self._sessions.begin() as session:
            deployment = session.get_one(Deployment, request.deployment_id)
            planned = planned_domains(session, deployment, self._apex)
            for kind, hostname in planned.items():
                if kind not in MOVING_KINDS:
                    point(session, deployment, kind, hostname)
            return AssignedDomains(hostnames=sorted(planned.values()))
