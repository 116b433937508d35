"""environments.setEnvironmentVariables / listEnvironmentVariables /
removeEnvironmentVariables.

Values are sealed with AES-GCM before they are stored. `writeonly` values are never
returned; `recoverable` ones are returned to keys holding read_environment_variables.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.auth import Caller
from api.crud import environment_variables as crud
from api.crud.lookup import find_app_environment
from api.deps import BoxDep, MetaDep, RootKeyDep, SessionDep
from api.routes import resource_router
from api.schemas.base import Empty, Envelope, Page
from api.schemas.environment_variables import (
    EnvironmentScoped,
    ListVariables,
    RemoveVariables,
    SetVariables,
    VariableOut,
)
from dockyard.models import Environment

router = resource_router("environments")


def _environment(
    session: Session, caller: Caller, body: EnvironmentScoped, action: str
) -> Environment:
    _, _, environment = find_app_environment(
        session,
        workspace_id=caller.workspace_id,
        project=body.project,
        app=body.app,
        environment=body.environment,
    )
    caller.require("environment", action, environment.id)
    return environment


@router.post("/v2/environments.setEnvironmentVariables")
def set_environment_variables(
    body: SetVariables, session: SessionDep, caller: RootKeyDep, box: BoxDep, meta: MetaDep
) -> Envelope[Empty]:
    """Upsert the variables (with `prune`, replace all of them) in one transaction."""
    environment = _environment(session, caller, body, "set_environment_variables")
    crud.set_variables(
        session, box=box, environment=environment, variables=list(body.variables), prune=body.prune
    )
    session.commit()
    return Envelope(meta=meta, data=Empty())


@router.post("/v2/environments.listEnvironmentVariables")
def list_environment_variables(
    body: ListVariables, session: SessionDep, caller: RootKeyDep, box: BoxDep, meta: MetaDep
) -> Page[VariableOut]:
    environment = _environment(session, caller, body, "read_environment_variables")
    variables, pagination = crud.list_variables(
        session, box=box, environment=environment, limit=body.limit, cursor=body.cursor
    )
    return Page(meta=meta, data=variables, pagination=pagination)


@router.post("/v2/environments.removeEnvironmentVariables")
def remove_environment_variables(
    body: RemoveVariables, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Envelope[Empty]:
    environment = _environment(session, caller, body, "remove_environment_variables")
    crud.remove_variables(session, environment=environment, keys=list(body.variables))
    session.commit()
    return Envelope(meta=meta, data=Empty())
