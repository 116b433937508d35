"""Temporal workflow code only: deterministic, no I/O, no settings reads."""

from __future__ import annotations
