"""Temporal activities: every side effect of a deployment lives here."""

from __future__ import annotations
