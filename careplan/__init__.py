"""careplan: co-authored, versioned care plans and partnership agreements."""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
