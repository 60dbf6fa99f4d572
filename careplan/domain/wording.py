"""How pages name people: the reader is "you", others by name and what they are to the client.

"Kim, your key worker" to the client; "you" to Kim; "Alex" (the client, by the name they go
by) to everyone else. Never a role label in brackets such as "Kim (key_worker)".
"""

from __future__ import annotations

from dataclasses import dataclass

from .roles import Role


@dataclass(frozen=True)
class Named:
    """Someone a page mentions: shown by name alone unless a page says who they are to the
    reader (careplan.web.wording.person)."""

    name: str
    role: str = ""
    id: int | None = None

    def __str__(self) -> str:
        return self.name

    def __bool__(self) -> bool:
        return bool(self.name)


def in_sentence(title: str) -> str:
    """A document's title inside a sentence ("your partnership agreement (shared care with my
    GP practice)"): only its first letter lowered, and not even that where the first word is
    capitals (an abbreviation such as "GP"), so names and abbreviations in it keep theirs."""
    first = title.split(" ", 1)[0]
    if len(first) > 1 and first.isupper():
        return title
    return title[:1].lower() + title[1:]


# What someone is, said to the client ("your key worker") and to anyone else.
_TO_CLIENT = {
    Role.KEY_WORKER: "your key worker",
    Role.ADVOCATE: "your advocate",
    Role.SUPERVISOR: "a supervisor",
    Role.ADMIN: "an administrator",
}
_OF_CLIENT = {Role.KEY_WORKER: "{client}'s key worker", Role.ADVOCATE: "{client}'s advocate"}
_TO_OTHERS = {
    Role.KEY_WORKER: "the key worker",
    Role.ADVOCATE: "an advocate",
    Role.SUPERVISOR: "a supervisor",
    Role.ADMIN: "an administrator",
}
_LABELS = {"administrator": Role.ADMIN, "system": None}

# Whom someone asks about their own account, said to them. A client may not know who
# manages accounts: they ask the people they work with, who ask for them (as the account page
# says); everyone else asks an administrator.
_WHO_TO_ASK = {
    Role.CLIENT: "the people you work with at the service (your key worker, for example)",
    Role.ADMIN: "another administrator of the service",
}
_STAFF_ASK = "an administrator of the service"
# The same, said where nobody is signed in (the forgotten-password page): the reader may be a
# client or staff, and the page must not tell them apart, so it is true for either.
ANYONE_ASKS = f"your key worker if you have one, or otherwise {_STAFF_ASK}"


def role_of(value: object) -> Role | None:
    """A role from its value ("key_worker") or its label ("key worker", "Key worker")."""
    if isinstance(value, Role):
        return value
    text = str(value or "").strip().lower()
    if text in _LABELS:
        return _LABELS[text]
    try:
        return Role(text.replace(" ", "_"))
    except ValueError:
        return None


def who_to_ask(role: object) -> str:
    """Whom the owner of an account asks about it (it was closed, signing in to it was
    paused). An unknown role is spoken to as a client is."""
    kind = role_of(role)
    return _WHO_TO_ASK.get(kind or Role.CLIENT, _STAFF_ASK)


def account_closed(role: object) -> str:
    """Said at sign-in to the owner of a closed account, once their password was right."""
    return (
        "This account has been closed by the service, so you cannot sign in with it. If you "
        f"need it again, please ask {who_to_ask(role)}."
    )


def person(
    name: str,
    role: object,
    *,
    is_reader: bool,
    reader_is_client: bool,
    client_name: str = "",
    former: bool = False,
    never_theirs: bool = False,
) -> str:
    """How to name someone to the reader: "you", "Alex", "Kim, your key worker".
    ``client_name`` is the name the client goes by (their preferred name, where given);
    ``former``: a key worker who no longer holds the client ("Kim, your former key worker");
    ``never_theirs``: a key worker who never held them, such as a colleague who answered for
    their key worker ("Sam, a key worker", as the client's access log says)."""
    if is_reader:
        return "you"
    kind = role_of(role)
    if kind is Role.CLIENT:
        # A record has one client: they are called by the name they go by, where known.
        return client_name or name
    if kind is None:
        return name
    if never_theirs and kind is Role.KEY_WORKER:
        return f"{name}, a key worker"
    if former and kind is Role.KEY_WORKER:
        if reader_is_client:
            return f"{name}, your former key worker"
        whose = possessive(client_name) if client_name else "a"
        return f"{name}, {whose} former key worker"
    if reader_is_client:
        return f"{name}, {_TO_CLIENT[kind]}"
    if client_name and kind in _OF_CLIENT:
        return f"{name}, {_OF_CLIENT[kind].format(client=client_name)}"
    return f"{name}, {_TO_OTHERS[kind]}"


def name_in(name: str, role: object, client_name: str = "") -> str:
    """The name `person` starts its answer with, for someone who is not the reader: the
    name the client goes by, for a client; everyone else's own name."""
    return (client_name or name) if role_of(role) is Role.CLIENT else name


def unwell_plan(client_name: str, *, reader_is_client: bool, after_them: bool = False) -> str:
    """The crisis plan, named to the reader: "the plan for when you are not well" to the
    client, "the plan for when Al is not well" to anyone else (by the name they go by), or,
    `after_them`, in a sentence whose subject is the client already ("Al put their plan for
    when they are not well into effect", not "… for when Al is not well")."""
    if reader_is_client:
        return "the plan for when you are not well"
    if after_them:
        return "their plan for when they are not well"
    return f"the plan for when {client_name or 'the client'} is not well"


def in_access_log(
    name: str,
    role: object,
    *,
    theirs_then: bool,
    theirs_now: bool,
    theirs_before: bool = False,
    taking_over: bool = False,
    advocate_now: bool = True,
) -> str:
    """How a client's access log names someone who read their records. A key worker by what
    they were to the client then and are now: a new key worker reads before taking over
    ("Lee, now your key worker", or while the handover waits "Lee, who is taking over as
    your key worker"); one who held the client earlier (`theirs_before`) is a former one; a
    colleague answering a call for help was never theirs ("Sam, a key worker"). An advocate
    whose access the client stopped is "your former advocate"."""
    kind = role_of(role)
    if kind is Role.KEY_WORKER:
        if theirs_then:
            return f"{name}, your key worker" if theirs_now else f"{name}, your former key worker"
        if theirs_now:
            return f"{name}, now your key worker"
        if taking_over:
            return f"{name}, who is taking over as your key worker"
        return f"{name}, your former key worker" if theirs_before else f"{name}, a key worker"
    if kind is Role.ADVOCATE and not advocate_now:
        return f"{name}, your former advocate"
    return person(name, role, is_reader=False, reader_is_client=True)


def both_of(
    *, reader_is_party: bool, client_name: str = "", former: bool = False, no_key_worker=False
) -> str:
    """The two who sign, named to the reader: "both of you" to the client and their key
    worker; to anyone else reading (an advocate, a supervisor, a colleague, a key worker who
    took over since), who they are. `former`: the key worker who signed has since handed
    the client over. `no_key_worker`: the client has none now (they left, or have not been
    given one yet), so "both of you" would be one person."""
    if no_key_worker:
        return (
            "you and a key worker"
            if reader_is_party
            else (f"both {client_name or 'the client'} and a key worker")
        )
    if reader_is_party:
        return "both of you"
    worker = "former key worker" if former else "key worker"
    return f"both {client_name or 'the client'} and their {worker}"


def _opening(
    who: str, who_role: object, reader_is_client: bool, client_name: str, never_theirs=False
) -> str:
    """Whoever did it, named to the reader at the start of a message: "Kim, your key worker,"
    (see `person`)."""
    named = person(who, who_role, is_reader=False, reader_is_client=reader_is_client,
                   client_name=client_name, never_theirs=never_theirs)  # fmt: skip
    return sentence(closed(named))


def sentence(text: str) -> str:
    """The first letter in capitals ("you signed" -> "You signed"), the rest as it is."""
    return text[:1].upper() + text[1:]


def closed(text: str) -> str:
    """ "Kim, your key worker" mid-sentence needs its closing comma ("Kim, your key worker, on
    3 May"); a bare name or "you" does not."""
    return f"{text}," if ", " in text else text


def waiting_for(
    roles: list[Role] | tuple[Role, ...],
    *,
    reader_role: Role | None,
    client_name: str,
    key_worker_name: str = "",
) -> str:
    """Whose signature a version waits for, said to the reader: "your signature", "your
    signature and Alex's", "your key worker Kim's signature", "Alex's and Kim's signatures"."""
    others: list[str] = []
    mine = False
    for role in roles:
        if role is reader_role and role in (Role.CLIENT, Role.KEY_WORKER):
            mine = True
        elif role is Role.CLIENT:
            others.append(client_name or "the client")
        elif not key_worker_name:  # the client has none (they left the service)
            others.append("a key worker")
        elif reader_role is Role.CLIENT:
            others.append(f"your key worker {key_worker_name}")
        else:
            others.append(key_worker_name)
    if mine:
        return "your signature" + "".join(f" and {possessive(o)}" for o in others)
    if not others:
        return "nobody"
    if len(others) == 1:
        return f"{possessive(others[0])} signature"
    return " and ".join(possessive(o) for o in others) + " signatures"


def who_reads(reader_is_client: bool, reader_is_key_worker: bool = False) -> str:
    """Who reads what is written on a document's page (a comment, a reason, a question about a
    review), named rather than "everyone who can see it": a client writing a reason for not
    signing should know whom they are telling. Said to the client, to their key worker, or to
    anyone else (a supervisor, an advocate)."""
    if reader_is_client:
        return "your key worker, their team's supervisors and any advocate you choose"
    if reader_is_key_worker:
        return "the client, your team's supervisors and any advocate the client chooses"
    return (
        "the client, their key worker, the team's supervisors and any advocate the client chooses"
    )


def everyone(names: list[str]) -> str:
    """Several people in one sentence: "you and Kim, your key worker". Where a name carries
    who they are ("Kim, your key worker"), three or more are kept apart with semicolons, so
    nobody reads "your key worker" as a separate person."""
    if len(names) < 2:
        return "".join(names)
    if len(names) == 2:
        return f"{names[0]} and {names[1]}"
    mark = "; " if any(", " in n for n in names) else ", "
    return mark.join(names[:-1]) + f"{mark}and {names[-1]}"


def possessive(name: str) -> str:
    """ "Chris's": the plain form, read aloud as it is written, with the apostrophe every other
    text of the app uses."""
    return f"{name}'s"


# The link back to someone's own changes not saved yet (their draft), wherever it is offered.
CARRY_ON = "Carry on with your changes"


def unsaved(last_typed: str, what: str = "") -> str:
    """Someone's own changes not saved yet, as every list says it: "Your changes to Alex's
    care plan are not saved yet (you last typed on 3 December 2026, 14:05)." `what` is left
    out where the document is named beside it (a plan's card)."""
    to = f" to {what}" if what else ""
    return f"Your changes{to} are not saved yet (you last typed on {last_typed})."


def comment_notice(
    author: str,
    author_role: Role,
    *,
    reader_is_client: bool,
    client_name: str,
    title: str,
    section: str,
    version: int,
) -> str:
    """The message telling the client or their key worker of someone else's comment: who,
    on which part of which version, and nothing of what it says."""
    who = _opening(author, author_role, reader_is_client, client_name)
    whose = "your" if reader_is_client else possessive(client_name)
    return f"{who} commented on “{section}” in version {version} of {whose} {in_sentence(title)}."


def earlier_review_notice(
    asker: str,
    asker_role: Role,
    *,
    reader_is_client: bool,
    client_name: str,
    title: str,
    wanted_by: str,
) -> str:
    """The message telling the other party that someone asked to review a document sooner:
    who, which document and by when. The reason stays on the document, where both read it."""
    who = _opening(asker, asker_role, reader_is_client, client_name)
    # Only the two parties ask: a key worker reading it was asked by the client.
    whose = "your" if reader_is_client else "their"
    return (
        f"{who} asked to review {whose} {in_sentence(title)} sooner, by {wanted_by}. "
        "Their reason is on it."
    )


def declined_notice(
    who: str,
    who_role: Role,
    *,
    reader_is_client: bool,
    client_name: str,
    title: str,
    version: int,
    reason: str,
) -> str:
    """The message telling the other party that someone declined to sign a version: who,
    which version of which document, and the reason they gave (in the app only, where the
    reader may read the document anyway)."""
    who = _opening(who, who_role, reader_is_client, client_name)
    return f"{who} {declined_line(reader_is_client, title, version, reason)}"


def agreed_notice(
    who: str, who_role: Role, *, reader_is_client: bool, client_name: str, title: str, version: int
) -> str:
    """The message telling whoever signed first that the other's signature made the version
    agreed: until then their signature was waiting, and nothing else would say it is done."""
    whose = "your" if reader_is_client else "their"
    return (
        f"{_opening(who, who_role, reader_is_client, client_name)} signed version {version} of "
        f"{whose} {in_sentence(title)} too: it is agreed by you both now. Its signed PDF can "
        "be downloaded from its page."
    )


# Where a message about a decline starts quoting the reason: the only message that carries
# someone's own words, so the one cut where its reader may no longer read the document.
SAYING = ", saying: "


def declined_line(reader_is_client: bool, title: str, version: int, reason: str) -> str:
    """What follows the name of whoever declined, on the start page and in the message."""
    # Only the two parties sign: a key worker reading it was declined by the client.
    whose = "your" if reader_is_client else "their"
    return (
        f"declined to sign version {version} of {whose} {in_sentence(title)}{SAYING}"
        f"{_quoted(reason)} Talk it over, and change it if something needs to change."
    )


def without_words_quoted(message: str) -> str:
    """A message as shown to someone who can no longer open the records it is about: a
    decline's reason taken off ("Alex declined to sign version 2 of their care plan."). Cut
    at the first mark, so a title holding the same words only hides more."""
    said, found, _ = message.partition(SAYING)
    return f"{said}." if found else message


def _quoted(reason: str) -> str:
    """Someone's reason in quotation marks, ending the sentence: “Not yet.”"""
    reason = reason.strip()
    stop = "" if reason.endswith((".", "!", "?", "…")) else "."
    return f"“{reason}”{stop}"


def _their_document(who_role: Role, client_name: str, title: str) -> str:
    """The client's document, said to their advocate after naming one of the two who sign:
    "their care plan" after the client's name, "Alex's care plan" after the key worker's
    (where "their" would read as the key worker's)."""
    whose = "their" if role_of(who_role) is Role.CLIENT else possessive(client_name)
    return f"{whose} {in_sentence(title)}"


def _to_advocate(who: str, who_role: Role, client_name: str) -> str:
    """One of the two who sign, named to the client's advocate at the start of a sentence:
    "Alex", "Kim, Alex's key worker,"."""
    named = person(who, who_role, is_reader=False, reader_is_client=False, client_name=client_name)
    return sentence(closed(named))


def declined_advocate_notice(
    who: str, who_role: Role, *, client_name: str, title: str, version: int, reason: str
) -> str:
    """The message telling the client's advocate that the client or their key worker declined
    to sign a version, with the reason. The advocate does not sign: nothing is asked of them,
    but they may help the client talk it over."""
    return (
        f"{_to_advocate(who, who_role, client_name)} declined to sign version {version} of "
        f"{_their_document(who_role, client_name, title)}{SAYING}{_quoted(reason)} "
        "You can read it and comment."
    )


def review_confirmed_notice(
    who: str, who_role: Role, *, reader_is_client: bool, client_name: str, title: str
) -> str:
    """The message telling the other party that someone confirmed "reviewed, no changes":
    the review is done once the reader confirms too."""
    who = _opening(who, who_role, reader_is_client, client_name)
    return f"{who} {review_confirmed_line(reader_is_client, title)}"


def crisis_reply_notice(
    who: str, who_role: Role, *, theirs: bool, reader_is_client: bool, client_name: str
) -> str:
    """The message that someone responded to the client's request for help. What they said is
    on the page it links to, not in the message. `theirs`: the client's own key worker (a
    colleague answering for them is "a key worker")."""
    named = _opening(who, who_role, reader_is_client, client_name, never_theirs=not theirs)
    whose = "your" if reader_is_client else possessive(client_name)
    return f"{named} responded to {whose} request for help. Read what they said."


def plan_ended_notice(
    who: str,
    who_role: Role,
    *,
    theirs: bool,
    reader_is_client: bool,
    client_name: str,
    noted: bool,
) -> str:
    """The message that someone ended the plan for when the client is not well, before the day
    it was to end on; `noted`, with a note of why, which is on the page it links to."""
    named = _opening(who, who_role, reader_is_client, client_name, never_theirs=not theirs)
    by_client = role_of(who_role) is Role.CLIENT
    plan = unwell_plan(client_name, reader_is_client=reader_is_client, after_them=by_client)
    return f"{named} ended {plan}." + (" Read what they wrote." if noted else "")


def review_confirmed_line(reader_is_client: bool, title: str) -> str:
    """What follows the name of whoever confirmed, on the start page and in the message. The
    reader is asked to agree, not told to: a client who asked for the review to talk
    something over read "confirm it too" as the only thing left to do."""
    whose = "your" if reader_is_client else "their"
    return (
        f"confirmed the review of {whose} {in_sentence(title)} with no changes. If you agree, "
        "confirm it too: the review is done once you both have. If something should change, "
        "edit it instead."
    )


def review_confirmed_advocate_notice(
    who: str, who_role: Role, *, client_name: str, title: str, other: str = ""
) -> str:
    """The message telling the client's advocate that the client or their key worker confirmed
    "reviewed, no changes": the review is done once `other` (the other of the two, by name)
    confirms too."""
    if role_of(who_role) is Role.CLIENT:
        waits = f"{other}, their key worker," if other else "their key worker"
    else:
        waits = client_name or "the client"
    return (
        f"{_to_advocate(who, who_role, client_name)} confirmed the review of "
        f"{_their_document(who_role, client_name, title)} with no changes. The review is done "
        f"once {waits} confirms too."
    )


def review_done_notice(
    who: str,
    who_role: Role,
    *,
    reader_is_client: bool,
    client_name: str,
    title: str,
    next_review: str = "",
) -> str:
    """The message telling whoever confirmed "reviewed, no changes" first that the other has
    confirmed too: the review is done, and when the next one is (`next_review`, in words)."""
    who = _opening(who, who_role, reader_is_client, client_name)
    whose = "your" if reader_is_client else "their"
    after = f" The next review is on {next_review}." if next_review else ""
    return (
        f"{who} confirmed too: the review of {whose} {in_sentence(title)} is done, with no "
        f"changes.{after}"
    )


# --- handing a client over to another key worker -----------------------------------------------
# Messages in the app only, never e-mailed: nothing in them says what kind of service this is.
# `client_name` in them, as in every message to staff, is the name the client goes by
# (account_rules.called), the name pages call them by.


def handover_coming_notice(new_worker: str, current_worker: str = "") -> str:
    """To the client, as a handover starts: who is coming, that they read first, and who is
    their key worker until then (`current_worker`, if they have one)."""
    until = f" Until then, {current_worker} is still your key worker." if current_worker else ""
    return (
        f"{new_worker} is going to be your new key worker. Before they take over, they will "
        f"read the plans you have agreed, so they know what matters to you.{until}"
    )


def handover_to_you_notice(by: str, client_name: str) -> str:
    """To the incoming key worker, as a handover starts: what they do before taking over."""
    return (
        f"{by} is handing {client_name} over to you. Please read {possessive(client_name)} "
        "agreed plans and say you have read them: then you take over."
    )


def handover_started_notice(by: str, client_name: str, new_worker: str) -> str:
    """To the key worker handing the client over, when someone else (a supervisor) started it."""
    return (
        f"{by} started handing {client_name} over to {new_worker}, who takes over once they "
        "have read the agreed plans."
    )


def handover_called_off_notice(new_worker: str, current_worker: str = "") -> str:
    """To the client, when a handover is cancelled: the message that someone new was coming
    is no longer so."""
    stays = f" {current_worker} is still your key worker." if current_worker else ""
    return f"The change of key worker to {new_worker} has been called off.{stays}"


def handover_called_off_to_worker_notice(
    by: str, client_name: str, new_worker: str, to_reader: bool
) -> str:
    """To the incoming key worker (`to_reader`) or the one who was handing over, when someone
    else cancelled the handover."""
    to_whom = "you" if to_reader else new_worker
    return f"{by} called off handing {client_name} over to {to_whom}."


def new_key_worker_notice(new_worker: str) -> str:
    """To the client, as the handover completes."""
    return f"{new_worker} is now your key worker."


def on_your_caseload_notice(client_name: str, came_back: bool) -> str:
    """To a key worker an administrator gave a client (`came_back`: one who had left)."""
    again = " They had left the service and are back." if came_back else ""
    return f"{client_name} is now on your caseload: you are their key worker.{again}"


def taken_over_notice(new_worker: str, client_name: str) -> str:
    """To the key worker who handed the client over, as the handover completes: their own
    messages about the client's records stop counting as new (services.handovers), so this
    says where what waited in them went."""
    return (
        f"{new_worker} has taken over as {possessive(client_name)} key worker. Anything still "
        f"waiting in your messages about {client_name}, such as a request for help, is theirs "
        "to answer now."
    )
