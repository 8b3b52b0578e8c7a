"""API routes: reports (filled in after the skeleton)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
