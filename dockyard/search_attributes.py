"""Custom search attributes that make every deployment findable in the Temporal Web UI."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

PROJECT = SearchAttributeKey.for_keyword("DockyardProject")
APP = SearchAttributeKey.for_keyword("DockyardApp")
ENVIRONMENT = SearchAttributeKey.for_keyword("DockyardEnvironment")
BRANCH = SearchAttributeKey.for_keyword("DockyardBranch")
SHA = SearchAttributeKey.for_keyword("DockyardSha")
STATUS = SearchAttributeKey.for_keyword("DockyardStatus")
TRIGGER = SearchAttributeKey.for_keyword("DockyardTrigger")

ALL = (PROJECT, APP, ENVIRONMENT, BRANCH, SHA, STATUS, TRIGGER)
