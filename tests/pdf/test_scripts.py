"""Clients' names and words print in their own scripts, not as empty boxes.

The bundled DejaVu fonts cover Latin, Greek, Cyrillic and some Arabic; every other script comes
from the system fonts that scripts/setup installs (Noto and Symbola, found through Fontconfig).
Without them these tests are skipped locally, but in CI (CI=true) they fail, so the suite cannot
go green on a machine whose PDFs would print boxes.
"""

from __future__ import annotations

import os
import re
import subprocess
from io import BytesIO

import pytest
from fontTools.pens.boundsPen import BoundsPen
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from careplan.pdf import render
from careplan.pdf.fetcher import ASSET_DIR

from .support import care_plan_content, printable

# One sample of each script a client may write in, and an emoji outside DejaVu's few.
WORDS = {
    "Chinese": "王小明",
    "Japanese": "さくら",
    "Korean": "김민준",
    "Hindi": "राम",
    "Punjabi": "ਪੰਜਾਬੀ",
    "Bengali": "বাংলা",
    "Gujarati": "ગુજરાતી",
    "Tamil": "தமிழ்",
    "Thai": "ไทย",
    "Tigrinya": "ትግርኛ",
    "Urdu": "اردو ہے",
    "emoji": "👍🏠",
}
NAME = f"{WORDS['Chinese']} {WORDS['Hindi']} {WORDS['Urdu']} {WORDS['Thai']} {WORDS['emoji']}"
# Characters that are drawn as themselves (combining marks and vowel signs may be reordered or
# merged into one glyph by shaping, so each script is checked through its letters).
MUST_PRINT = "王小明さくら김민준रमਪਜਬবলગજરતதமழไทยትግርኛاردوہے👍🏠"

# Each font Fontconfig must find for those scripts (what scripts/setup installs).
NEEDED = {
    "Noto Sans CJK SC": "王",
    "Noto Sans Devanagari": "र",
    "Noto Sans Thai": "ไ",
    "Noto Sans Ethiopic": "ት",
    "Noto Naskh Arabic": "ہ",
    "Symbola": "👍",
}


def _missing_fonts() -> list[str]:
    missing = []
    for family, char in NEEDED.items():
        try:
            out = subprocess.run(
                ["fc-list", f"{family}:charset={ord(char):x}", "family"],
                capture_output=True,
                text=True,
                timeout=30,
            ).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        if not out.strip():
            missing.append(family)
    return missing


@pytest.fixture(scope="module")
def multilingual():
    missing = _missing_fonts()
    if missing:
        reason = f"system fonts missing: {', '.join(missing)} (scripts/setup installs them)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {reason}", pytrace=False)
        pytest.skip(reason)
    words = " ".join(WORDS.values())
    content = care_plan_content(what_matters={"text": f"My family. {words}"})
    return render(printable(content, client_name=NAME))


def _to_unicode(font) -> dict[int, str]:
    """CID -> text from a font's ToUnicode CMap (bfchar and bfrange entries)."""
    stream = font.get("/ToUnicode")
    if stream is None:
        return {}
    data = stream.get_object().get_data().decode("latin-1")

    def text(hexa: str) -> str:
        return bytes.fromhex(hexa).decode("utf-16-be", errors="replace")

    mapping: dict[int, str] = {}
    for block in re.findall(r"beginbfchar(.*?)endbfchar", data, re.S):
        for cid, uni in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]*)>", block):
            mapping[int(cid, 16)] = text(uni)
    for block in re.findall(r"beginbfrange(.*?)endbfrange", data, re.S):
        for lo, hi, uni in re.findall(
            r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]*)>", block
        ):
            start = text(uni)
            for offset, cid in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                mapping[cid] = start[:-1] + chr(ord(start[-1]) + offset) if start else ""
    return mapping


def _drawn_characters(pdf: bytes) -> tuple[set[str], set[str]]:
    """(characters drawn with a real glyph, names of the embedded fonts) over all pages.

    A character counts only if some embedded font maps a glyph other than .notdef (glyph 0) to
    it and that glyph has an outline (or a bitmap) in the embedded font program."""
    reader = PdfReader(BytesIO(pdf))
    fonts = {}
    for page in reader.pages:
        for ref in page["/Resources"].get("/Font", {}).values():
            font = ref.get_object()
            fonts[font["/BaseFont"]] = font
    drawn: set[str] = set()
    for font in fonts.values():
        assert font["/Subtype"] == "/Type0", "WeasyPrint embeds CID fonts"
        descendant = font["/DescendantFonts"][0].get_object()
        descriptor = descendant["/FontDescriptor"].get_object()
        program = next(
            (descriptor[k] for k in ("/FontFile2", "/FontFile3", "/FontFile") if k in descriptor),
            None,
        )
        assert program is not None, f"{font['/BaseFont']} is not embedded"
        ttfont = TTFont(BytesIO(program.get_object().get_data()), lazy=True)
        glyphs = ttfont.getGlyphSet()
        order = ttfont.getGlyphOrder()
        cid_to_gid = descendant.get("/CIDToGIDMap")
        table = None
        if cid_to_gid is not None and cid_to_gid != "/Identity":
            raw = cid_to_gid.get_object().get_data()
            table = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
        for cid, text in _to_unicode(font).items():
            gid = table[cid] if table is not None and cid < len(table) else cid
            if gid == 0 or gid >= len(order):
                continue
            pen = BoundsPen(glyphs)
            glyphs[order[gid]].draw(pen)
            bitmap = "CBDT" in ttfont or "sbix" in ttfont
            if pen.bounds is not None or bitmap:
                drawn.update(text)
    return drawn, set(fonts)


def test_every_script_is_drawn_with_a_real_glyph(multilingual):
    drawn, fonts = _drawn_characters(multilingual.pdf)
    missing = sorted({c for c in MUST_PRINT if c not in drawn})
    assert not missing, "printed as empty boxes: " + " ".join(
        f"{c} (U+{ord(c):04X})" for c in missing
    )
    assert not [w for w in multilingual.warnings if ".notdef" in w]
    assert len(fonts) > 3, fonts


def test_the_name_is_printed_as_text_and_only_bundled_assets_were_fetched(multilingual):
    reader = PdfReader(BytesIO(multilingual.pdf))
    cover = reader.pages[0].extract_text()
    for char in WORDS["Chinese"] + WORDS["Thai"] + "👍":
        assert char in cover, char
    assert multilingual.refused_fetches == ()
    assert all(r.allowed and r.url.startswith(ASSET_DIR.as_uri()) for r in multilingual.fetches)
