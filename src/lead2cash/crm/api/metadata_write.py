"""Metadata write API: creating custom tables, columns and alternate keys; enabling change tracking."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["metadata"])
