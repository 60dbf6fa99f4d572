"""The supervisor's review-date audit: what state each document is in, the filters, and the
charts' arithmetic. Dates and states only, never clinical content."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from enum import StrEnum

from .errors import ContentInvalid
from .numbers import whole_number_or_none
from .paging import page_asked
from .plan_dates import stuck_on_passed_day

DUE_SOON_DAYS = 14
PAGE_SIZE = 50


class DashState(StrEnum):
    NEVER_AGREED = "never_agreed"
    AWAITING = "awaiting_signature"
    # One side signed, but a decision in it was handed over until a day since passed: nobody
    # can sign it now (plan_dates.stuck_on_passed_day), so it waits for a new version.
    PASSED_DAY = "passed_day"
    DECLINED = "declined"
    DRAFT = "draft"  # agreed before; a new draft is being written
    AGREED = "agreed"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    # Not a document's state: a client in the teams with no care plan saved (agreements
    # aside), listed as a row of its own (what an inspector asks about first).
    NO_PLAN = "no_plan"

    @property
    def label(self) -> str:
        return STATE_LABELS[self]


STATE_LABELS = {
    # Both say whose signature is wanted: "waiting for a signature" alone was read as every
    # version not yet agreed, and found none of those nobody had signed. Not "nobody has
    # signed": a key worker who handed the client over may have, and it no longer counts.
    DashState.NEVER_AGREED: "never agreed, waiting for both to sign",
    DashState.AWAITING: "signed by one, waiting for the other",
    DashState.PASSED_DAY: "cannot be signed: a day in it has passed, needs a new version",
    DashState.DECLINED: "declined",
    DashState.DRAFT: "agreed, new draft in progress",
    DashState.AGREED: "agreed",
    DashState.DUE_SOON: "review due soon",
    DashState.OVERDUE: "review overdue",
    DashState.NO_PLAN: "no care plan yet",
}

SORTS = {
    "review": "next review date (soonest first)",
    "overdue": "days overdue (most first)",
    "client": "client name",
    "key_worker": "key worker",
    "signed": "last signature of any kind (oldest first)",
}


def dash_state(
    signoff_state: str,
    agreed_version: int | None,
    head_number: int,
    next_review_on: date | None,
    today: date,
    handed_over_until: date | None = None,
) -> DashState:
    """One state per document. A review owed comes first: an overdue review matters more than
    a draft in progress. That includes the review after a crisis on an agreement not yet
    agreed, the only review a document never agreed can owe. A version nobody can sign any
    more (`handed_over_until`, the earliest day a decision in it is handed over until, has
    passed), signed by one side or by nobody yet, is said to be so, not to wait for a
    signature nor to be a draft."""
    if next_review_on is not None and next_review_on < today:
        return DashState.OVERDUE
    if next_review_on is not None and next_review_on <= today + timedelta(days=DUE_SOON_DAYS):
        return DashState.DUE_SOON
    if agreed_version is not None and head_number <= agreed_version:
        return DashState.AGREED
    if signoff_state == "declined":
        return DashState.DECLINED
    # Signed by one side or by nobody yet: either way nobody can sign it now.
    if stuck_on_passed_day(handed_over_until, today):
        return DashState.PASSED_DAY
    if signoff_state == "awaiting_signature":
        return DashState.AWAITING
    return DashState.NEVER_AGREED if agreed_version is None else DashState.DRAFT


# How the dashboard's address (its export's and the API's too) names each filter.
ADDRESS_NAMES = {
    "team": "team_id",
    "key_worker": "key_worker_id",
    "state": "state",
    "due_from": "due_from",
    "due_to": "due_to",
    "sort": "sort",
}


def _in_address(value: object) -> str:
    if isinstance(value, DashState):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True)
class Filters:
    team_id: int | None = None
    key_worker_id: int | None = None
    state: DashState | None = None
    due_from: date | None = None
    due_to: date | None = None
    sort: str = "review"
    page: int = 1

    @property
    def may_show_clients_without_care_plans(self) -> bool:
        """A client with no care plan has no state but "no care plan yet" and no review date,
        so a filter on another state or on review dates leaves them out."""
        return self.state in (None, DashState.NO_PLAN) and not (self.due_from or self.due_to)

    def check_choices(
        self,
        teams: Mapping[int, str],
        workers: Mapping[int, str],
        worker_teams: Mapping[int, int] | None = None,
    ) -> None:
        """A team or key worker not among the supervisor's (an old link, an edited address) is
        refused, not shown as "all": an empty list or export must never read as "nothing in
        all my teams". So is a key worker with a team they are not in (`worker_teams`: each
        worker's team), which would list nobody without saying why."""
        errors = {}
        if self.team_id is not None and self.team_id not in teams:
            errors["team"] = "Please choose one of your teams from the list."
        if self.key_worker_id is not None and self.key_worker_id not in workers:
            errors["key_worker"] = "Please choose a key worker in your teams from the list."
        elif (
            not errors
            and self.team_id is not None
            and self.key_worker_id is not None
            and worker_teams is not None
            and (theirs := worker_teams.get(self.key_worker_id)) != self.team_id
        ):
            name, team = workers[self.key_worker_id], teams.get(theirs, "another team")
            errors["key_worker"] = (
                f"{name} is in {team}, not {teams[self.team_id]}: choose {team} or all your "
                f"teams to see {name}'s clients."
            )
        if errors:
            raise ContentInvalid(errors)

    def ignoring(self, names: Collection[str]) -> Filters:
        """These filters with those named (as the page's address names them, e.g. the fields
        of a refusal) back at their defaults: a refused filter is ignored, the others kept."""
        defaults = Filters()
        return replace(
            self,
            **{
                ADDRESS_NAMES[n]: getattr(defaults, ADDRESS_NAMES[n])
                for n in names
                if n in ADDRESS_NAMES
            },
        )

    def as_args(self, page: int | None = None) -> dict[str, str]:
        """The filters as the page's address names them, defaults left out. The page's links
        (the export, the other pages) are built from the filters used, so they never carry a
        value that was refused and ignored: the download is what is on screen."""
        defaults = Filters()
        args = {
            name: _in_address(getattr(self, attribute))
            for name, attribute in ADDRESS_NAMES.items()
            if getattr(self, attribute) != getattr(defaults, attribute)
        }
        if page:
            args["page"] = str(page)
        return args

    def describe(
        self, team_names: Mapping[int, str], worker_names: Mapping[int, str]
    ) -> list[tuple[str, str]]:
        """The filters in words, for the page and the export's header rows."""
        return [
            (
                "Team",
                team_names.get(self.team_id, "all my teams") if self.team_id else "all my teams",
            ),
            (
                "Key worker",
                worker_names.get(self.key_worker_id, "all") if self.key_worker_id else "all",
            ),
            ("State", self.state.label if self.state else "all"),
            ("Next review from", self.due_from.isoformat() if self.due_from else "any"),
            ("Next review to", self.due_to.isoformat() if self.due_to else "any"),
            ("Sorted by", SORTS[self.sort]),
        ]


def parse_filters(args: Mapping[str, str]) -> tuple[Filters, dict[str, str]]:
    """The filters asked for, and what was refused, by field. A refused filter is left at its
    default ("all", "any", the usual order) and the others kept: a supervisor who chose their
    team and mistyped a date still sees their team. The page shows what it ignored and why;
    the API and the export refuse the whole request instead."""
    errors: dict[str, str] = {}

    def number(name: str) -> int | None:
        raw = (args.get(name) or "").strip()
        if not raw:
            return None
        number = whole_number_or_none(raw)
        if number is None:
            errors[name] = "Please choose from the list."
        return number

    def day(name: str) -> date | None:
        raw = (args.get(name) or "").strip()
        if not raw:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            errors[name] = "Please give a real date, for example 2027-03-01."
            return None

    state_raw = (args.get("state") or "").strip()
    state = None
    if state_raw:
        try:
            state = DashState(state_raw)
        except ValueError:
            errors["state"] = "Please choose a state from the list."
    sort = (args.get("sort") or "review").strip()
    if sort not in SORTS:
        errors["sort"] = "Please choose how to sort from the list."
        sort = "review"
    due_from, due_to = day("due_from"), day("due_to")
    if due_from and due_to and due_from > due_to:
        # Which end is wrong cannot be told, so neither is used rather than half a range.
        errors["due_to"] = (
            "The end of the date range is before its start, so neither date could be used."
        )
        due_from = due_to = None
    # A page that is not one of the list's is no mistake in the filters: the page shown is
    # the nearest there is (page_asked, and the dashboard past the end).
    filters = Filters(
        number("team"),
        number("key_worker"),
        state,
        due_from,
        due_to,
        sort,
        page_asked(args.get("page")),
    )
    return filters, errors


# --- charts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # what is shown, e.g. 83.3 (%) or 7 (reviews); None: nothing to show
    text: str  # the value in words, e.g. "83% (5 of 6)"
    x: float
    y: float
    width: float
    height: float
    shown: str = ""  # written over the bar: its value ("83%", "7"), or "none" where it has none


@dataclass(frozen=True)
class Chart:
    title: str
    bars: list[Bar] = field(default_factory=list)
    width: int = 640
    height: int = 240
    axis_max: float = 100.0
    unit: str = ""

    @property
    def own_size(self) -> bool:
        """Wider than a page: drawn at its own size, to slide sideways, not shrunk to fit
        (twenty key workers' names ran into each other)."""
        return self.width > DEFAULT_CHART_WIDTH


DEFAULT_CHART_WIDTH = 640
NAME_SLOT = 72  # the room a bar labelled with a name (8 characters a line) needs


def bar_chart(
    title: str,
    items: list[tuple[str, float | None, str]],
    axis_max: float | None = None,
    unit: str = "",
    width: int = DEFAULT_CHART_WIDTH,
    height: int = 240,
    slot: int = 0,
) -> Chart:
    """Geometry for a simple vertical bar chart; drawn as SVG by a template. Every bar is
    labelled with its value, an empty one (0) too. A value of None (nothing to measure, such
    as a month with no reviews due) has no bar, and is labelled "none"."""
    top, bottom, left = 16, 40, 40
    width = max(width, left + 8 + slot * len(items))  # `slot`: the least room for each bar
    plot_h, plot_w = height - top - bottom, width - left - 8
    values = [v for _, v, _ in items if v is not None]
    peak = axis_max if axis_max is not None else max([*values, 1])
    slot = plot_w / max(len(items), 1)
    bars = []
    for i, (label, value, text) in enumerate(items):
        h = 0 if peak == 0 or value is None else plot_h * min(value, peak) / peak
        shown = "none" if value is None else f"{round(value)}{unit}"
        x = left + i * slot + slot * 0.15
        bars.append(Bar(label, value, text, x, top + plot_h - h, slot * 0.7, h, shown))
    return Chart(title, bars, width, height, peak, unit)


def month_starts(today: date, months: int = 12) -> list[date]:
    """The first day of each of the last `months` months, oldest first, ending with this one."""
    year, month = today.year, today.month
    starts = []
    for _ in range(months):
        starts.append(date(year, month, 1))
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return list(reversed(starts))


def on_time_share(
    tallies: Iterable[tuple[date, bool | None, int]], today: date, months: int = 12
) -> list[tuple[date, int, int]]:
    """For each month: (first day, reviews due that month, of which done by their due date).

    `tallies` are (due date, done on time? (None: not done yet), how many). A review still not
    done counts as late once its date has passed; one not yet due is left out until it is.
    """
    starts = month_starts(today, months)
    counts = {s: [0, 0] for s in starts}
    for due, on_time, count in tallies:
        bucket = date(due.year, due.month, 1)
        if bucket not in counts or (on_time is None and due >= today):
            continue
        counts[bucket][0] += count
        if on_time:
            counts[bucket][1] += count
    return [(s, counts[s][0], counts[s][1]) for s in starts]
