"""When a request cannot be finished: the database could not be reached or stayed busy past
the lock wait (503), or something failed that nobody foresaw (500).

The person gets a page in plain words instead of the server's default, and nothing they sent
is lost with it: when nothing was saved, the page carries the whole form back, to be sent
again with one press, and shows the words they wrote so they can copy them. Passwords and
codes are never written into a page; a form that had one is not offered again (sending it
without would only fail), though its words are still shown.

The page is drawn without the database and without the app's context processors: the usual
header names the signed-in person and counts their messages, read from the database, which
may be what failed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from flask import Flask, current_app, request, url_for
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import InternalServerError

from ..db.engine import in_brief
from ..domain.form_places import is_writing, place
from ..extensions import get_db

log = logging.getLogger(__name__)

# Errors that say the database could not be reached, or stayed busy: trying again later helps.
DATABASE_TROUBLE = (OperationalError, InterfaceError, PoolTimeout)
RETRY_AFTER_SECONDS = 30
# Fields a page must never show: anything that is a password, a one-time code, or the secret
# of a second step being set up.
SECRET_NAMES = ("code", "secret")
# Fields that steer a form rather than hold what someone wrote (hidden, most of them).
NOT_WRITING = (
    "csrf_token",
    "base_number",
    "action",
    "part",
    "next",
    "draft_revision",
    "draft_page",
    "sent_before",
    "base_version",
    "version_number",
    "section_key",
    "cycle",
    "outcome",
    "confirm",
    "active",
    "supervises",
    "without",
    "even_if_there",
    "advocate_id",
    "team_id",
    "notification_id",
)
# An account form's values as the page showed them ("was_name"), to tell what changed.
AS_SHOWN = "was_"
# The boxes outside a document's form, by their names: "Your comment", not "comment".
OWN_WORDS = {
    "comment": "Your comment",
    "reason": "Your reason",
    "note": "Your note",
    "end_note": "Your note",
    "body": "Your comment",  # the comment form's box
}


@dataclass
class Kept:
    """What a POST sent, as the page gives it back."""

    fields: list[tuple[str, str]] = field(default_factory=list)  # to send again, in order
    # What the person wrote, to copy: (where it was on the form, the words).
    writing: list[tuple[str, str]] = field(default_factory=list)
    had_choices: bool = False  # choices made on the form (who does a step, a yes or no)
    had_secret: bool = False  # a password or code was left out
    had_file: bool = False

    @property
    def can_send_again(self) -> bool:
        return not (self.had_secret or self.had_file)


def is_secret(name: str) -> bool:
    return "password" in name or name in SECRET_NAMES


def kept_from(form, files, words: dict[str, str] | None = None) -> Kept:
    """`words`: a document's form's parts by their paths (form_places), to name each answer
    where it is on the form; without them a document's answers are named by list and item."""
    places = {**OWN_WORDS, **(words or {})}
    # A comment names its part where the part's title is known: a page has one box a part.
    part = (words or {}).get(form.get("section_key", ""))
    if part:
        places["body"] = f"Your comment on “{part}”"
    kept = Kept(had_file=any(f.filename for f in files.values()))
    for name, value in form.items(multi=True):
        if is_secret(name):
            kept.had_secret = kept.had_secret or bool(value)
            continue
        kept.fields.append((name, value))
        if is_written(name, value):
            where = place(name, places) or name.replace("-", " ").replace("_", " ")
            kept.writing.append((where, value))
        elif (
            value.strip()
            and name not in NOT_WRITING
            and not name.endswith("-id")
            and not name.startswith(AS_SHOWN)
        ):
            kept.had_choices = True
    return kept


def is_written(name: str, value: str) -> bool:
    """Words someone wrote: not a field that steers the form, an id, a choice or a yes/no
    (form_places.is_writing), nor an empty box."""
    return (
        bool(value.strip())
        and name not in NOT_WRITING
        and not name.startswith(AS_SHOWN)
        and is_writing(name, value)
    )


def install(app: Flask) -> None:
    """Before the API's error handling is installed, which answers /api in JSON instead."""
    for error in DATABASE_TROUBLE:
        app.register_error_handler(error, _database_trouble)
    app.register_error_handler(InternalServerError, _failed)


def _database_trouble(err):
    log.warning("Database trouble on %s %s: %s", request.method, request.path, in_brief(err))
    return _page(busy=True), 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def _failed(_err):
    # Flask has logged the error with its traceback before calling this.
    return _page(busy=False), 500


def _page(busy: bool) -> str:
    kept, saved = None, False
    if request.method == "POST":
        saved = get_db().commits_begun() > 0
        try:
            kept = kept_from(request.form, request.files)
        except Exception:  # noqa: BLE001 - a body that cannot be read: the page without it
            log.warning("Could not read the form back for the trouble page.", exc_info=True)
    template = current_app.jinja_env.get_template("errors/trouble.html")
    return template.render(
        busy=busy,
        kept=kept,
        saved=saved,
        again=_action(),
        home=url_for("home.index"),
    )


def _action() -> str:
    query = request.query_string.decode("latin-1")
    return request.script_root + request.path + (f"?{query}" if query else "")
