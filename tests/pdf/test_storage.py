"""Storing a PDF: readers see the old file or the new one, never part of one."""

from __future__ import annotations

import os
import stat

import pytest

from careplan.pdf import RenderFailed, RenderLimits, render_pdf, write_atomically


def test_writes_the_whole_file_privately(tmp_path):
    path = write_atomically(tmp_path / "pdfs" / "v3.pdf", b"%PDF-1.7 complete")
    assert path.read_bytes() == b"%PDF-1.7 complete"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert os.listdir(path.parent) == ["v3.pdf"]


def test_replaces_an_existing_file(tmp_path):
    path = tmp_path / "v3.pdf"
    write_atomically(path, b"old")
    write_atomically(path, b"new")
    assert path.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["v3.pdf"]


def test_without_replace_an_existing_file_is_never_overwritten(tmp_path):
    path = tmp_path / "00000001.json"
    write_atomically(path, b"first", replace=False)
    with pytest.raises(FileExistsError):
        write_atomically(path, b"second", replace=False)
    assert path.read_bytes() == b"first"
    assert os.listdir(tmp_path) == ["00000001.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "v3.pdf"
    write_atomically(path, b"old and complete")

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(path, b"new but never finished")
    assert path.read_bytes() == b"old and complete"
    assert os.listdir(tmp_path) == ["v3.pdf"]


def test_a_failed_render_writes_nothing(tmp_path, agreed_doc):
    path = tmp_path / "v3.pdf"
    with pytest.raises(RenderFailed):
        write_atomically(path, render_pdf(agreed_doc, RenderLimits(timeout_seconds=0.01)))
    assert not path.exists() and os.listdir(tmp_path) == []
