"""Custom search attributes that make every deployment findable in the Temporal Web UI."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

PROJECT = SearchAttributeKey.for_keyword("DeployProject")
APP = SearchAttributeKey.for_keyword("DeployApp")
ENVIRONMENT = SearchAttributeKey.for_keyword("DeployEnvironment")
BRANCH = SearchAttributeKey.for_keyword("DeployBranch")
SHA = SearchAttributeKey.for_keyword("DeploySha")
STATUS = SearchAttributeKey.for_keyword("DeployStatus")
TRIGGER = SearchAttributeKey.for_keyword("DeployTrigger")

ALL = (PROJECT, APP, ENVIRONMENT, BRANCH, SHA, STATUS, TRIGGER)
