"""API routes: records (filled in after the skeleton)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
