"""The wording of every reminder: e-mails, digests, in-app notifications, calendar entries.

Templates are plain-text Jinja files in templates/reminders/messages/. They are discreet by
design: a reminder may be read by someone looking over a shoulder or at a shared inbox, so it
never names drugs, alcohol, medication, mental health, the kind of service, or anything the
document says. Dates and a link only; details are behind sign-in. A test renders every
template in every variant and checks it against FORBIDDEN_WORDS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ..domain.addresses import under
from ..domain.crisis_alerts import alert_of, is_reply_kind
from ..domain.local_time import service_time
from ..domain.reviews import Timing, long_date, timing
from ..paths import PROJECT_ROOT

TEMPLATES = PROJECT_ROOT / "templates" / "reminders" / "messages"

# Words that must never appear in a reminder, subject line or calendar entry (whole words,
# any case; a trailing "s" is allowed). Deliberately broad.
FORBIDDEN_WORDS = (
    "drug", "alcohol", "alcoholic", "drink", "drinking", "medication", "medicine", "methadone",
    "buprenorphine", "subutex", "suboxone", "naloxone", "opioid", "opiate", "heroin", "crack",
    "cocaine", "cannabis", "substance", "addiction", "addict", "addicted", "dependence",
    "recovery", "detox", "rehab", "rehabilitation", "treatment", "prescription", "script",
    "dose", "overdose", "needle", "syringe", "pharmacy", "pharmacist", "clinic", "clinical",
    "health", "mental", "psychiatric", "psychiatrist", "psychiatry", "psychosis", "psychotic",
    "bipolar", "schizophrenia", "depression", "anxiety", "suicide", "self-harm", "crisis",
    "unwell", "illness", "admission", "hospital", "section", "therapy", "counselling",
    "care plan", "careplan", "contingency", "agreement", "substitution", "harm reduction",
)  # fmt: skip

_FORBIDDEN = re.compile(
    r"\b(" + "|".join(re.escape(w) for w in FORBIDDEN_WORDS) + r")s?\b", re.IGNORECASE
)


def indiscretions(text: str) -> list[str]:
    """The forbidden words in `text` (empty when it is discreet)."""
    return sorted({m.group(0).lower() for m in _FORBIDDEN.finditer(text)})


def short_date(value: date) -> str:
    return f"{value:%a} {value.day} {value:%b}"


def _days_ago(days: int) -> str:
    n = -days
    return f"{n} day{'s' if n != 1 else ''} ago"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=False,  # plain text; nothing here is HTML
        undefined=StrictUndefined,
        keep_trailing_newline=False,
    )
    env.filters["long_date"] = long_date
    env.filters["short_date"] = short_date
    env.filters["clock"] = lambda moment: f"{moment:%H:%M}"
    env.filters["days_ago"] = _days_ago
    env.filters["sentence"] = lambda s: s[:1].upper() + s[1:]
    return env


def render(name: str, **values) -> str:
    return environment().get_template(name).render(**values).strip()


def document_path(document_id: int) -> str:
    return f"/documents/{document_id}"


@dataclass(frozen=True)
class Email:
    subject: str
    body: str
    stop_link: str = ""  # where e-mails like this one can be stopped (mail.build_message)


def respond_path(document_id: int) -> str:
    """Where a crisis alert is answered (the path says nothing about why)."""
    return f"{document_path(document_id)}/respond"


def reminder_email(
    kind: str,
    due_on: date,
    document_id: int,
    today: date,
    base_url: str,
    alert_times: tuple[datetime, ...] | None = None,
    signing: bool = False,
) -> Email:
    """A client's own reminder by e-mail (staff get a digest instead), a crisis alert, or the
    e-mail telling a client that someone responded to their request. `signing`: a new version
    of the document waits for them to sign (see _phrases.txt)."""
    if alert_of(kind):
        return alert_email(kind, due_on, document_id, base_url, alert_times)
    if is_reply_kind(kind):
        return reply_email(base_url)
    t = timing(kind, due_on, today)
    settings_link = under(base_url, "/me/reminders")
    return Email(
        render("email_subject.txt", t=t),
        render(
            "email_body.txt",
            t=t,
            link=under(base_url, document_path(document_id)),
            settings_link=settings_link,
            signing=signing,
        )
        + "\n",
        settings_link,
    )


def notification(
    kind: str,
    due_on: date,
    document_id: int,
    today: date,
    staff: bool,
    client_name: str,
    alert_times: tuple[datetime, ...] | None = None,
    signing: bool = False,
) -> tuple[str, str]:
    """In-app text and link. Inside the app, staff see whose review it is."""
    if alert_of(kind):
        return alert_notification(kind, due_on, document_id, client_name, alert_times)
    t = timing(kind, due_on, today)
    text = render(
        "notification.txt",
        t=t,
        staff=staff,
        client_name=client_name if staff else "",
        signing=signing and not staff,
    )
    return text, document_path(document_id)


def _moments(alert_times: tuple[datetime, ...] | None) -> dict:
    """When it was asked and by when a reply was promised, on the service's clock: whoever
    reads it can tell how long the person has waited and how long is left."""
    if alert_times is None:
        return {"asked_at": None, "reply_by": None, "asked_before": None}
    # A third time, when given: an earlier request still waiting (the client asked again).
    raised, by, earlier = (*alert_times, None)[:3]
    return {
        "asked_at": service_time(raised),
        "reply_by": service_time(by),
        "asked_before": service_time(earlier) if earlier else None,
    }


def alert_email(
    kind: str,
    raised_on: date,
    document_id: int,
    base_url: str,
    alert_times: tuple[datetime, ...] | None = None,
) -> Email:
    """A crisis alert (or its escalation) by e-mail: that someone waits, since when and until
    when, never who or why."""
    escalation = alert_of(kind)[1]
    return Email(
        render("alert_subject.txt", escalation=escalation),
        render(
            "alert_body.txt",
            escalation=escalation,
            day=raised_on,
            link=under(base_url, respond_path(document_id)),
            **_moments(alert_times),
        )
        + "\n",
    )


def reply_email(base_url: str) -> Email:
    """Someone responded to the client's request for help: the message saying who, in the
    app, is where the link leads."""
    settings_link = under(base_url, "/me/reminders")
    return Email(
        render("reply_subject.txt"),
        render(
            "reply_body.txt", link=under(base_url, "/me/notifications"), settings_link=settings_link
        )
        + "\n",
        settings_link,
    )


def alert_notification(
    kind: str,
    raised_on: date,
    document_id: int,
    client_name: str,
    alert_times: tuple[datetime, ...] | None = None,
) -> tuple[str, str]:
    escalation = alert_of(kind)[1]
    text = render(
        "alert_notification.txt",
        escalation=escalation,
        day=raised_on,
        client_name=client_name,
        **_moments(alert_times),
    )
    return text, respond_path(document_id)


DIGEST_GROUPS = (
    # Not "two weeks": when a late review reaches the supervisor is a setting.
    ("escalation", "Reviews on your team that are well past their date"),
    ("overdue", "Reviews that are late"),
    ("today", "Reviews due today"),
    ("soon", "Reviews coming up"),
    ("waiting", "Waiting for you to sign or confirm"),
)


@dataclass(frozen=True)
class DigestLine:
    t: Timing
    link: str


def digest_email(items, day: date, base_url: str) -> Email:
    """One e-mail listing a key worker's or supervisor's reminders: dates and links only."""
    lines: dict[str, list[DigestLine]] = {key: [] for key, _ in DIGEST_GROUPS}
    seen = set()
    for item in items:
        t = timing(item.kind, item.due_on, day)
        key = (item.document_id, t.kind, item.due_on)
        if key in seen:  # e.g. "14 days before" and "2 days before" caught up together
            continue
        seen.add(key)
        lines[t.kind].append(DigestLine(t, under(base_url, document_path(item.document_id))))
    groups = [{"title": title, "lines": lines[key]} for key, title in DIGEST_GROUPS if lines[key]]
    count = sum(len(g["lines"]) for g in groups)
    return Email(
        render("digest_subject.txt", day=day),
        render(
            "digest_body.txt",
            day=day,
            count=count,
            groups=groups,
            notifications_link=under(base_url, "/me/notifications"),
        )
        + "\n",
    )


def calendar_texts(document_id: int, base_url: str) -> tuple[str, str]:
    """Summary and description of one calendar entry."""
    link = under(base_url, document_path(document_id))
    return render("calendar_summary.txt"), render("calendar_description.txt", link=link)


def calendar_name() -> str:
    return render("calendar_name.txt")
