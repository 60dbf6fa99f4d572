"""Imported once by each render host (careplan.pdf._host) before it forks any job: WeasyPrint,
pyHanko, Fontconfig and the bundled assets are loaded here, and a tiny page is rendered so
Fontconfig and Pango are initialised, so every job starts warm. Rendering starts no threads, so
the host stays safe to fork."""

from __future__ import annotations

import contextlib

from . import engine, fetcher, seal  # noqa: F401 - imported for their side effect of loading

fetcher.preload()
# Warming up is an optimisation only; a failure here shows up in the first real render.
with contextlib.suppress(Exception):
    engine.html_to_pdf("<!DOCTYPE html><title>warm-up</title><p>warm-up</p>")
