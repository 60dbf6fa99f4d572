from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from urllib.parse import urlsplit

import segno
from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user

from ..db.models import utcnow
from ..domain.account_rules import PRONOUN_SUGGESTIONS, Profile
from ..domain.api_tokens import last_day_choices, scopes_for
from ..domain.errors import ContentInvalid
from ..domain.form_places import in_summary
from ..domain.local_time import service_day
from ..domain.numbers import whole_number
from ..domain.roles import Role
from ..extensions import get_db
from ..services import account_settings, accounts, api_tokens, audit
from ..services import second_factor as second_factors
from ..services.errors import ChangedMeanwhile, Invalid, NotFound
from . import carried_secrets
from .forms import kept_typing, loaded_from

bp = Blueprint("me", __name__)


@bp.get("/me/advocates")
@login_required
def advocates(confirming: int | None = None):
    choices = accounts.advocates_for(get_db(), current_user.actor)
    return render_template("me/advocates.html", choices=choices, confirming=confirming)


@bp.post("/me/advocates")
@login_required
def change_advocate():
    advocate_id = request.form.get("advocate_id", type=whole_number)
    action = request.form.get("action")
    if advocate_id is None or action not in {"invite", "revoke"}:
        flash("Please choose an advocate.")
        return redirect(url_for("me.advocates"))
    if action == "invite" and request.form.get("confirm") != "yes":
        # Everything the client has becomes readable by someone else: one tap on a phone
        # (or a slip) must not do it. Stopping access is one tap: it only takes away.
        return advocates(confirming=advocate_id)
    if action == "invite":
        accounts.invite_advocate(get_db(), current_user.actor, advocate_id)
        flash("Your advocate can now read your plans and comment. You can stop this at any time.")
    else:
        accounts.revoke_advocate(get_db(), current_user.actor, advocate_id)
        flash(
            "Your advocate can no longer see your records. If you did not mean to stop them, "
            "invite them again below."
        )
    return redirect(url_for("me.advocates"))


@bp.get("/me/access-log")
@login_required
def access_log():
    if current_user.actor.role is not Role.CLIENT:
        raise NotFound()
    entries = audit.access_log(get_db(), current_user.actor)
    return render_template("me/access_log.html", entries=entries)


# Each answer on the account page as the page asks it, so the summary at the top names the
# answer a message is about ("Your pronouns — Please keep this to 40 characters or fewer: it has 41.").
ACCOUNT_ANSWERS = {
    "preferred_name": "The name you like to be called",
    "pronouns": "Your pronouns",
    "current_password": "Your password now",
    "password": "Your new password",
    "password_again": "Your new password again",
    "codes_password": "Your password",
    "codes_code": "The six-digit code your app shows now",
    "off_password": "Your password",
    "off_code": "The six-digit code your app shows now",
}


def _named(errors: dict | None, answers: dict[str, str]) -> list[tuple[str, str]]:
    """A refused form's messages for the summary at the top, each naming its answer."""
    return [(name, in_summary(answers.get(name, ""), msg)) for name, msg in (errors or {}).items()]


@bp.get("/me/account")
@login_required
def account(errors: dict | None = None, status: int = 200, typed: bool = False):
    view = account_settings.account(get_db(), current_user.actor)
    now = {"preferred_name": view.preferred_name, "pronouns": view.pronouns}
    # A refused profile form keeps what was typed in it; what it carries as loaded is what is
    # kept now, so saving it again changes only what it changes.
    form = request.form
    return render_template(
        "me/account.html",
        account=view,
        suggestions=PRONOUN_SUGGESTIONS,
        errors=errors or {},
        # A refused form is said at the top, where a phone opens the page, each message
        # linking to its field (the forms send the browser there: "#error-summary").
        problems=_named(errors, ACCOUNT_ANSWERS),
        profile=kept_typing(form, loaded_from(form, PROFILE), now) if typed else now,
        loaded=now,
    ), status


PROFILE = ("preferred_name", "pronouns")


@bp.post("/me/account/profile")
@login_required
def save_profile():
    form = request.form
    loaded = loaded_from(form, PROFILE)
    try:
        profile = account_settings.save_profile(
            get_db(), current_user.actor, form.get("preferred_name", ""), form.get("pronouns", ""),
            # From a form without them (a page loaded before forms carried them), its values
            # are saved as they are.
            Profile(**loaded) if None not in loaded.values() else None,
        )  # fmt: skip
    except ContentInvalid as err:
        return account(err.errors, 422, typed=True)
    except ChangedMeanwhile as err:
        return account(err.errors, 409, typed=True)
    # The greeting at the top of every page follows at once.
    login_user(replace(current_user._get_current_object(),
                       called=profile.preferred_name or current_user.name))  # fmt: skip
    flash("Saved. This is how people here will call you.")
    return redirect(url_for("me.account"))


@bp.post("/me/account/password")
@login_required
def change_password():
    form = request.form
    try:
        epoch = account_settings.change_password(
            get_db(),
            current_user.actor,
            form.get("current_password", ""),
            form.get("password", ""),
            form.get("password_again", ""),
        )
    except ContentInvalid as err:
        return account(err.errors, 422)
    # Every other session of this account has just ended; this one carries on.
    last_seen = session.get("last_seen")
    login_user(replace(current_user._get_current_object(), session_epoch=epoch))
    session["last_seen"] = last_seen
    flash("Your password is changed. Anywhere else you were signed in, you are now signed out.")
    return redirect(url_for("me.account"))


# --- the second step when signing ------------------------------------------------------------


@bp.get("/me/second-factor")
@login_required
def second_factor(errors: dict | None = None, status: int = 200, secret: str | None = None):
    issuer = urlsplit(current_app.config["PUBLIC_BASE_URL"]).hostname or "careplan"
    setup = second_factors.begin(get_db(), current_user.actor, issuer, secret)
    qr = segno.make(setup.uri, error="m").svg_inline(
        scale=4, border=2, omitsize=True, title="A square code holding the key below"
    )
    errors = errors or {}
    return render_template(
        "me/second_factor.html",
        setup=setup,
        qr_svg=qr,
        errors=errors,
        # Said at the top, as on every refused form: on a phone the form is screens below
        # the square code. In the form's order, code first.
        problems=[(name, errors[name]) for name in ("code", "password") if name in errors],
    ), status


@bp.post("/me/second-factor")
@login_required
def second_factor_on():
    form = request.form
    try:
        codes = second_factors.turn_on(
            get_db(),
            current_user.actor,
            form.get("secret", ""),
            form.get("code", ""),
            form.get("password", ""),
        )
    except ContentInvalid as err:
        # The same key again: the person may already have added it to their app.
        return second_factor(err.errors, 422, form.get("secret"))
    except Invalid as err:
        flash(str(err))
        return redirect(url_for("me.account"))
    return _show_once(codes, just_turned_on=True)


@bp.post("/me/second-factor/backup-codes")
@login_required
def new_backup_codes():
    form = request.form
    try:
        codes = second_factors.replace_backup_codes(
            get_db(), current_user.actor, form.get("codes_password", ""), form.get("codes_code", "")
        )
    except ContentInvalid as err:
        return account(_named_in(err.errors, "codes_"), 422)
    except Invalid as err:
        flash(str(err))
        return redirect(url_for("me.account"))
    return _show_once(codes, just_turned_on=False)


# New backup codes on their way from the form that made them to the page that shows them.
NEW_BACKUP_CODES = carried_secrets.Purpose(
    "backup_codes", b"careplan: new backup codes on their way"
)


def _show_once(codes: list[str], just_turned_on: bool):
    """Redirected, so reloading the page sends no form again (its code, used up, would be
    refused and the codes lost from the screen). The codes ride in the session to their
    page, which takes them (no other page does): never kept, so never shown again."""
    carried_secrets.carry(NEW_BACKUP_CODES, " ".join(codes), just_turned_on=just_turned_on)
    return redirect(url_for("me.backup_codes"))


@bp.get("/me/second-factor/backup-codes")
@login_required
def backup_codes():
    carried = carried_secrets.collect(NEW_BACKUP_CODES)
    # Of two sets made before this page loaded, only the later one works.
    latest = carried[-1] if carried else None
    codes = second_factors.codes_to_show(
        get_db(), current_user.actor, latest.secret.split() if latest else []
    )
    return render_template(
        "me/backup_codes.html",
        codes=codes,
        just_turned_on=bool(codes) and latest.plain.get("just_turned_on", False),
        step_on=second_factors.status(get_db(), current_user.actor).on,
    )


@bp.post("/me/second-factor/off")
@login_required
def second_factor_off():
    form = request.form
    try:
        second_factors.turn_off(
            get_db(), current_user.actor, form.get("off_password", ""), form.get("off_code", "")
        )
    except ContentInvalid as err:
        return account(_named_in(err.errors, "off_"), 422)
    except Invalid as err:
        flash(str(err))
        return redirect(url_for("me.account"))
    flash("The second step is off. You sign with your password alone.")
    return redirect(url_for("me.account") + "#second-step")


def _named_in(errors: dict, form: str) -> dict:
    """The account page has several forms asking for a password and a code: each form's
    fields carry its own prefix, so a message shows by the field it is about."""
    return {form + field: message for field, message in errors.items()}


# --- personal access tokens for the API ---------------------------------------------------------

DEFAULT_TOKEN_DAYS = 90
TOKEN_ANSWERS = {
    "name": "What it is for",
    "scopes": "What it may do",
    "expires_on": "The last day it works",
}


# A new token's secret on its way from the form that made it to the page that shows it.
NEW_TOKEN = carried_secrets.Purpose("new_token", b"careplan: a new access token on its way")


@bp.get("/me/tokens")
@login_required
def tokens(errors: dict | None = None, status: int = 200):
    now = utcnow()
    today = service_day(now)
    listed = api_tokens.tokens_of(get_db(), current_user.actor)
    offered = scopes_for(current_user.actor.role)
    return render_template(
        "me/tokens.html",
        tokens=listed,
        scopes=offered,
        errors=errors or {},
        # Said at the top too, as on every refused form, each message naming its answer.
        # (None to an administrator, who has no form: the page says why.)
        problems=[
            (f"scope-{next(iter(offered))}" if name == "scopes" else name, message)
            for name, message in _named(errors, TOKEN_ANSWERS)
        ]
        if offered
        else [],
        form=request.form,
        made=_just_made(listed),
        now=now,
        default_expiry=(today + timedelta(days=DEFAULT_TOKEN_DAYS)).isoformat(),
        last_day_choices=[day.isoformat() for day in last_day_choices(today)],
    ), status


@bp.post("/me/tokens")
@login_required
def create_token():
    form = request.form
    try:
        made = api_tokens.create(
            get_db(),
            current_user.actor,
            form.get("name", ""),
            form.getlist("scopes"),
            form.get("expires_on", ""),
        )
    except ContentInvalid as err:
        return tokens(err.errors, 422)
    # Redirected, so reloading the page makes no second token. The secret rides in the
    # session to this page, which takes it (no other page does); never in the database.
    carried_secrets.carry(NEW_TOKEN, made.secret, id=made.token.id)
    # Landing at the token, not at the form's #error-summary, which this page does not show.
    return redirect(url_for("me.tokens", _anchor="new-token"))


def _just_made(listed: list[api_tokens.TokenView]) -> list[api_tokens.NewToken]:
    """The tokens the POSTs before this page made, with their secrets: two made in two tabs
    before either tokens page loaded are both shown here (and not on the other tab's page)."""
    by_id = {token.id: token for token in listed}
    return [
        api_tokens.NewToken(carried.secret, by_id[carried.plain["id"]])
        for carried in carried_secrets.collect(NEW_TOKEN)
        if carried.plain.get("id") in by_id
    ]


@bp.post("/me/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    api_tokens.revoke(get_db(), current_user.actor, token_id)
    flash("The token was revoked. Programs using it can no longer get in.")
    return redirect(url_for("me.tokens"))
