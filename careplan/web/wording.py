"""Template helpers that name people to the signed-in reader (rules in domain.wording)."""

from __future__ import annotations

from collections.abc import Container

from flask import Flask
from flask_login import current_user
from jinja2 import pass_context, pass_eval_context
from markupsafe import Markup, escape

from ..domain import wording
from ..domain.roles import Role
from ..domain.second_factor import method_said


def _reader(context) -> tuple[int | None, Role | None]:
    # The page's own `current_user` (Flask-Login puts the signed-in person in every page's
    # context) before the proxy, which only a render without it needs: a history page names
    # 150 people, and each look through the proxy cost more than naming them.
    reader = context.get("current_user")
    if reader is None:
        reader = current_user._get_current_object()
    if reader is None or not reader.is_authenticated:
        return None, None
    return reader.id, reader.role


# `holder` not given: the page's document says who holds the client, if the page has one.
_FROM_THE_DOCUMENT = object()


@pass_context
def person(
    context,
    name: str | wording.Named,
    role: object = "",
    user_id: int | None = None,
    client: str = "",
    holder: int | None | object = _FROM_THE_DOCUMENT,
    theirs: Container[int] | None = None,
    isolate: bool = False,
) -> str:
    """{{ person(sig.name, sig.role, sig.user_id, doc.client_called) }}: "you", "Alex",
    "Kim, your key worker", "Kim, Alex's key worker". A Named carries its role and id. A key
    worker other than the one who holds the client now is a former one ("Kim, your former
    key worker"), every one of them once the client has left the service. Who holds the
    client: `holder` (None: nobody), or on a document's pages its sign-off's key worker, or
    the page's `client_holder`.
    `theirs`: every key worker the client has had, where a page names others too ("Sam, a
    key worker" answered for theirs); not given, everyone named has held the client.
    `isolate`: the name in its own <bdi> (see `isolated`), where a date or number follows."""
    if isinstance(name, wording.Named):
        name, role, user_id = name.name, name.role, name.id
    reader_id, reader_role = _reader(context)
    known = holder is not _FROM_THE_DOCUMENT
    if not known:
        signoff = getattr(context.get("doc"), "signoff", None)
        known = signoff is not None
        holder = getattr(signoff, "key_worker_id", None)  # None as well after the client left
    if not known and "client_holder" in context:  # a page about one client, not a document's
        known, holder = True, context["client_holder"]
    not_now = known and user_id is not None and user_id != holder
    never = not_now and theirs is not None and user_id not in theirs
    is_reader = user_id is not None and user_id == reader_id
    said = wording.person(
        name,
        role,
        is_reader=is_reader,
        reader_is_client=reader_role is Role.CLIENT,
        client_name=client,
        former=not_now and not never,
        never_theirs=never,
    )
    if not isolate:
        return said
    return isolated(said, "" if is_reader else wording.name_in(name, role, client))


def isolated(said: str, name: str) -> Markup:
    """`said` with the name it starts with in its own <bdi>, as pages show every name a
    person wrote: a name in a right-to-left script ("Cally 🌙 كال") then cannot pull the
    words, dates or numbers after it into its own direction ("…, 6 December 2026")."""
    if name and said.startswith(name):
        return Markup("<bdi>{}</bdi>{}").format(name, said[len(name) :])
    return escape(said)


def _sentence(text: str) -> str:
    """wording.sentence, past the <bdi> an isolated name starts with."""
    text = str(text)  # as it is (already escaped on a page), not escaped again when joined
    opening = "<bdi>" if text.startswith("<bdi>") else ""
    return opening + wording.sentence(text[len(opening) :])


def _keeps_markup(rule):
    """A domain wording rule as a filter. On a page, what it is given is escaped first (a
    name already isolated stays as it is) and what it adds is plain words, so the answer is
    safe to show as it is; in a plain-text e-mail, words stay words."""

    @pass_eval_context
    def apply(eval_ctx, text):
        if not eval_ctx.autoescape:
            return rule(text)
        if isinstance(text, list):
            return Markup(rule([escape(t) for t in text]))
        return Markup(rule(escape(text)))

    return apply


@pass_context
def both(context, signed: int | None = None) -> str:
    """{{ both() }} on a document's pages: "both of you" to its client and their key worker,
    "both Alex and their key worker" to everyone else. `signed`: a version already signed by
    the two, where "you" is only someone who signed it (not a key worker who took over
    since)."""
    reader_id, _ = _reader(context)
    doc = context.get("doc")
    signoff = getattr(doc, "signoff", None)
    parties: set[int | None] = set()
    if signoff is not None:
        parties = {doc.client_id} | (
            {signoff.key_worker_id}
            if signed is None
            else {sig.user_id for sig in signoff.signatures if sig.version_number == signed}
        )
    return wording.both_of(
        reader_is_party=reader_id is not None and reader_id in parties,
        client_name=getattr(doc, "client_called", "") or getattr(doc, "client_name", ""),
        former=signed is not None and signoff is not None and signoff.key_worker_id not in parties,
        no_key_worker=signed is None and signoff is not None and signoff.key_worker_id is None,
    )


@pass_context
def unwell_plan(context, client_id: int | None, client: str, after_them: bool = False) -> str:
    """{{ unwell_plan(doc.client_id, doc.client_called) }}: "the plan for when you are not
    well" to the client, "the plan for when Al is not well" to anyone else; `after_them`,
    where the client is the sentence's subject already, "their plan for when they are not
    well"."""
    reader_id, _ = _reader(context)
    return wording.unwell_plan(
        client,
        reader_is_client=reader_id is not None and reader_id == client_id,
        after_them=after_them,
    )


@pass_context
def waiting(context, labels, client: str, key_worker: str = "") -> str:
    """{{ waiting(so.waiting_for, doc.client_called, so.key_worker_name) }}: "your signature"."""
    _, reader_role = _reader(context)
    return wording.waiting_for(
        [r for r in map(wording.role_of, labels) if r is not None],
        reader_role=reader_role,
        client_name=client,
        key_worker_name=key_worker,
    )


@pass_context
def who_reads(context, client_id: int, key_worker_id: int | None = None) -> str:
    """{{ who_reads(doc.client_id, so.key_worker_id) }}: who reads what is written on that
    client's document, said to the reader."""
    reader_id, _ = _reader(context)
    return wording.who_reads(
        reader_id is not None and reader_id == client_id,
        reader_id is not None and reader_id == key_worker_id,
    )


def install(app: Flask) -> None:
    app.jinja_env.globals["person"] = person
    app.jinja_env.globals["waiting"] = waiting
    app.jinja_env.globals["both"] = both
    app.jinja_env.globals["unwell_plan"] = unwell_plan
    app.jinja_env.globals["named"] = isolated
    app.jinja_env.globals["who_reads"] = who_reads
    app.jinja_env.globals["signed_how"] = method_said
    # Someone's own unsaved changes, as every page that offers them back says it.
    app.jinja_env.globals["unsaved_words"] = wording.unsaved
    app.jinja_env.globals["carry_on"] = wording.CARRY_ON
    app.jinja_env.filters["sentence"] = _keeps_markup(_sentence)
    app.jinja_env.filters["closed"] = _keeps_markup(wording.closed)
    app.jinja_env.filters["everyone"] = _keeps_markup(wording.everyone)
