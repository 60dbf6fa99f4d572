"""What a person on a phone needs from every page, checked in the browser.

Test modules import Playwright through here, so a machine without it skips them (see conftest).
"""

from __future__ import annotations

import os

import pytest

try:
    from playwright.sync_api import Page, expect
except ImportError as err:  # pragma: no cover - depends on the machine
    _missing = "the Python package 'playwright' is not installed (pip install playwright)"
    if os.environ.get("CI", "").lower() == "true":
        # In CI the end-to-end tests must run, so this is an error, not a skip.
        raise ImportError(
            f"CI=true but the end-to-end browser is not available: {_missing}"
        ) from err
    pytest.skip(f"no browser for end-to-end tests: {_missing}", allow_module_level=True)

from tests import factories

from .conftest import PHONE

__all__ = ["Page", "check_phone_page", "expect", "sign_in"]

# Every visible form control, with what labels it (label[for] or a wrapping <label>).
_UNLABELLED = """
() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => el.type !== 'hidden')
  .filter(el => !Array.from(el.labels || []).some(label => label.textContent.trim()))
  .map(el => el.outerHTML.slice(0, 160))
"""

# Controls whose only label wraps them instead of naming them with for=id.
_NOT_LABEL_FOR = """
() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => el.type !== 'hidden')
  .filter(el => !el.id || !document.querySelector(`label[for="${CSS.escape(el.id)}"]`))
  .map(el => el.outerHTML.slice(0, 160))
"""

_HEADINGS = """
() => Array.from(document.querySelectorAll('h1, h2, h3, h4, h5, h6'))
  .map(h => [Number(h.tagName[1]), h.textContent.trim()])
"""

# What sticks out past the right edge of the screen (boxes, or text overflowing its box):
# where to look when a page scrolls sideways.
_WIDE = """
(width) => Array.from(document.querySelectorAll('body *'))
  .filter(el => el.getBoundingClientRect().right > width + 0.5
    || (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX === 'visible'))
  .map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : ''))
  .slice(0, 10)
"""


def sign_in(page: Page, base_url: str, user, password: str = factories.PASSWORD) -> None:
    page.goto(f"{base_url}/login")
    check_phone_page(page, "login")
    page.get_by_label("E-mail address").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def check_phone_page(page: Page, name: str, strict_labels: bool = True) -> None:
    """No sideways scrolling, every control labelled, one h1 and no skipped heading levels."""
    width = PHONE["width"]
    page.wait_for_load_state("load")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, (
        f"{name} page scrolls sideways on a phone ({scroll_width}px > {width}px); "
        f"too wide: {page.evaluate(_WIDE, width)}"
    )

    assert page.evaluate(_UNLABELLED) == [], f"{name} page has form controls without a label"
    if strict_labels:
        assert page.evaluate(_NOT_LABEL_FOR) == [], (
            f"{name} page has form controls without a <label for=id>"
        )

    headings = page.evaluate(_HEADINGS)
    assert [level for level, _ in headings].count(1) == 1, f"{name} page: one h1 {headings}"
    levels = [level for level, _ in headings]
    assert levels[0] == 1, f"{name} page starts with a lower heading: {headings}"
    skipped = [(a, b) for a, b in zip(levels, levels[1:], strict=False) if b > a + 1]
    assert not skipped, f"{name} page skips heading levels {skipped}: {headings}"
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.title().strip(), f"{name} page has no title"
