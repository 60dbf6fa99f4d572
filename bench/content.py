"""Realistic care-plan content, and the small edits people make to it from one version to the next.

Content is produced directly in the clean form that `CARE_PLAN.validate` returns (every life
domain present, ids on goals, steps and care-team members, ISO dates), so the seeder does not
have to run the form validation for each of 500,000 versions; `check_valid` proves it on a sample.
Attribution is always added by the app's own `CARE_PLAN.attribute`.
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta

from careplan.domain.care_plan import CARE_PLAN, DOMAIN_KEYS
from careplan.domain.documents import strip_attribution

FIRST_NAMES = [
    *("Aisha", "Ben", "Carla", "Dev", "Ellie", "Femi", "Grace", "Harry", "Imran", "Jade"),
    *("Kieran", "Leah", "Marek", "Nadia", "Owen", "Priya", "Quinn", "Rosa", "Sam", "Tariq"),
    *("Una", "Vikram", "Wendy", "Yusuf", "Zoë", "Connor", "Siobhan", "Gareth", "Megan", "Kofi"),
]
LAST_NAMES = [
    *("Ahmed", "Brown", "Clarke", "Davies", "Evans", "Fraser", "Green", "Hughes", "Iqbal"),
    *("Jones", "Khan", "Lewis", "Murphy", "Nowak", "O'Brien", "Patel", "Quinn", "Roberts"),
    *("Smith", "Taylor", "Usman", "Walsh", "Wilson", "Young", "Zielinski", "Okafor", "Byrne"),
]

DOMAIN_WORDS: dict[str, list[str]] = {
    "drug_alcohol": [
        "I've been on my script for three months and I'm not using on top most days.",
        "Drinking less than before, mostly weekends now. Mornings are still hard.",
        "I used twice last week after the bad news about my mum. I want to get back on track.",
        "Methadone dose is 60ml and it holds me. I'd like to talk about reducing in the spring.",
        "Crack is the one that gets me when I have money in my pocket.",
        "Nine weeks without a drink. Going to the Tuesday group helps.",
        "I'm not ready to stop smoking weed, it helps me sleep.",
    ],
    "physical_health": [
        "My leg wound is healing, the nurse dresses it on Mondays and Thursdays.",
        "Hep C treatment finished, waiting for the last blood test.",
        "Teeth are bad and it hurts to eat. I haven't seen a dentist in years.",
        "Sleeping better since I moved. Still get out of breath on the stairs.",
        "I need to register with a GP near the new place.",
        "Back pain most days. Walking helps a bit.",
    ],
    "mental_health": [
        "Low most mornings, better in the afternoon when I've been out.",
        "The voices are quieter since the new medication but I feel slowed down.",
        "Anxious in crowds, I do the shopping early to avoid people.",
        "Some dark thoughts around the anniversary in March. I know who to call.",
        "Counselling on Wednesdays is helping me understand the anger.",
        "Feeling more hopeful than I have in a long time.",
    ],
    "housing": [
        "Staying at my sister's on the sofa, she wants me out by the end of the month.",
        "In the hostel on Mill Road. It's noisy but I feel safe there.",
        "Got the keys to a one-bed flat, need furniture and a cooker.",
        "Rent arrears of about £400, I've been getting letters.",
        "On the council list, band C. Bidding every week.",
        "The flat is damp and the landlord isn't answering.",
    ],
    "money": [
        "Universal Credit comes on the 14th and is gone in a week.",
        "PIP assessment is booked, I'm worried about it.",
        "I owe money to people and it makes me anxious to go out.",
        "Budgeting with the money advice service, paying £10 a week off the gas debt.",
        "Benefits were sanctioned after I missed the appointment.",
    ],
    "relationships": [
        "I see my daughter every other Saturday at my mum's.",
        "My partner still uses and it makes it hard for me.",
        "Back in touch with my brother after two years.",
        "I don't have many people I trust. My neighbour checks in on me.",
        "Social services are involved with the kids; next meeting is in four weeks.",
    ],
    "activity": [
        "Volunteering at the food bank on Fridays.",
        "I'd like to do a cooking course at the college.",
        "Most days I stay in and watch TV. I want more to do.",
        "Started the allotment group, I like being outside.",
        "Looking for part-time work, warehouse or kitchen.",
    ],
    "legal": [
        "Court date for the shoplifting charge is in six weeks.",
        "On probation until next year, I see my officer every fortnight.",
        "Nothing legal going on at the moment.",
        "Solicitor is helping with the eviction notice.",
    ],
    "safety": [
        "I feel safe where I am now.",
        "My ex knows where I live and I'm scared he'll come round.",
        "I keep naloxone in my bag and my sister knows how to use it.",
        "Sometimes people I owe money to wait outside.",
        "I lock the door and keep my phone charged.",
    ],
}

GOALS: list[tuple[str, list[str]]] = [
    (
        "Find somewhere stable to live",
        [
            "Call the housing options team",
            "Fill in the housing register form",
            "Ask for a letter of support from my key worker",
            "View the flat on Station Road",
            "Apply for a furniture grant",
        ],
    ),
    (
        "Cut down my drinking",
        [
            "Keep a drinking diary for two weeks",
            "Go to the Tuesday group",
            "Talk to my GP about detox",
            "No drinking before 6pm",
        ],
    ),
    (
        "Get my health checked",
        [
            "Register with the GP",
            "Book a blood test for hep C",
            "See the dentist about my teeth",
            "Get my leg dressed twice a week",
        ],
    ),
    (
        "Sort out my money",
        [
            "Meet the money advice worker",
            "Open a bank account",
            "Set up a payment plan for the gas debt",
            "Get help with the PIP form",
        ],
    ),
    (
        "See more of my children",
        [
            "Go to the meeting with social services",
            "Keep every contact visit",
            "Ask the family court adviser about more time",
        ],
    ),
    (
        "Feel less anxious day to day",
        [
            "Self-refer to talking therapies",
            "Try the breathing exercises each morning",
            "Walk to the park three times a week",
            "Ask the GP to review my medication",
        ],
    ),
    (
        "Reduce my methadone",
        [
            "Talk to the prescriber about a plan",
            "Reduce by 5ml every two weeks",
            "Go to the recovery café on Saturdays",
        ],
    ),
    (
        "Find something meaningful to do",
        [
            "Visit the volunteer centre",
            "Enrol on the cooking course",
            "Try the allotment group",
            "Update my CV with the employment adviser",
        ],
    ),
]

CARE_TEAM: list[tuple[str, str, str, str]] = [
    (
        "Dr Patel",
        "GP",
        "Prescribes my medication and checks my health.",
        "My health and medication.",
    ),
    ("Sarah Mills", "Prescriber", "Reviews my script every month.", "My drug use and script."),
    ("Tom Reid", "Housing officer", "Helps me with my housing application.", "Where I live."),
    ("Janet Cole", "Probation officer", "I see her every two weeks.", "Attendance only."),
    (
        "Mo Hassan",
        "Peer mentor",
        "Meets me for coffee and comes to groups with me.",
        "Nothing unless I say so.",
    ),
    ("Linda Grey", "Community nurse", "Dresses my leg wound.", "My physical health."),
    ("Alex Turner", "Social worker", "Works with me and the children.", "What affects the kids."),
    ("Priya Shah", "Money adviser", "Helps with debts and benefits.", "My money situation."),
]

WHAT_MATTERS = [
    "Being listened to and not judged.",
    "My children. Everything I do is so I can see them more.",
    "Having my own front door.",
    "Being honest with each other, even when it's a bad week.",
    "My dog Bailey. I won't go anywhere she can't come.",
    "Not having to tell my story again every time I see someone new.",
    "Getting back to work and paying my own way.",
    "Staying well enough to look after my mum.",
]

CHANGE_NOTES = [
    "",
    "",
    "",
    "Updated after our review meeting",
    "Added what we talked about today",
    "My words after the group",
    "Changed after the phone call",
    "Updated step progress",
    "Review with key worker",
    "Client asked to change this",
    "Update after the housing appointment",
]

STATUS_NEXT = {
    "not_started": ("in_progress", "stopped"),
    "in_progress": ("done", "stopped"),
    "done": ("in_progress",),
    "stopped": ("not_started", "in_progress"),
}
REVIEW_WEEKS = (4, 6, 8, 12, 26)
MAX_GOALS, MAX_STEPS, MAX_TEAM = 3, 3, 4


def person_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def new_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(48):012x}"


def _words(rng: random.Random, key: str, current: str = "") -> str:
    pool = DOMAIN_WORDS[key]
    for _ in range(10):
        words = " ".join(rng.sample(pool, rng.choice((1, 1, 1, 2))))
        if words != current:
            return words
    return current + " Still the same."


def _step(rng: random.Random, text: str, today: date) -> dict:
    kind = rng.choice(("client", "client", "key_worker", "other"))
    return {
        "id": new_id(rng),
        "text": text,
        "owner": {"kind": kind, "name": person_name(rng) if kind == "other" else ""},
        "due": (today + timedelta(days=rng.randint(7, 90))).isoformat(),
        "status": "not_started",
    }


def _goal(rng: random.Random, today: date, taken: set[str]) -> dict:
    choices = [g for g in GOALS if g[0] not in taken] or GOALS
    title, steps = rng.choice(choices)
    picked = rng.sample(steps, rng.randint(1, 2))
    return {"id": new_id(rng), "title": title, "steps": [_step(rng, s, today) for s in picked]}


def _member(rng: random.Random, taken: set[str]) -> dict:
    choices = [m for m in CARE_TEAM if m[0] not in taken] or CARE_TEAM
    name, role, does, sees = rng.choice(choices)
    return {"id": new_id(rng), "name": name, "role": role, "what_they_do": does, "may_see": sees}


def new_plan(rng: random.Random, today: date) -> dict:
    """A first version as a key worker and client would write it together (no attribution)."""
    filled = set(rng.sample(DOMAIN_KEYS, rng.randint(2, 6)))
    goals: list[dict] = []
    for _ in range(rng.randint(1, 2)):
        goals.append(_goal(rng, today, {g["title"] for g in goals}))
    team: list[dict] = []
    for _ in range(rng.randint(1, 3)):
        team.append(_member(rng, {m["name"] for m in team}))
    return {
        "domains": {k: {"own_words": _words(rng, k) if k in filled else ""} for k in DOMAIN_KEYS},
        "goals": goals,
        "care_team": team,
        "what_matters": {"text": rng.choice(WHAT_MATTERS)},
        "review_interval_weeks": rng.choice(REVIEW_WEEKS),
    }


def edit(rng: random.Random, content: dict, today: date) -> tuple[str, list[dict], list[dict]]:
    """Change one thing in `content` in place, as one save would.

    Returns (change note, attributable parts added, attributable parts changed). Every edit
    really changes something, so no save is a no-op. Lists are capped so a plan with a thousand
    versions stays the size of an ordinary plan.
    """
    added: list[dict] = []
    changed: list[dict] = []
    steps = [s for g in content["goals"] for s in g["steps"]]
    action = rng.choices(
        ("words", "status", "due", "step", "goal", "matters", "team", "review"),
        weights=(30, 20, 10, 10, 8, 10, 8, 4),
    )[0]
    if action == "status" and steps:
        step = rng.choice(steps)
        step["status"] = rng.choice(STATUS_NEXT[step["status"]])
        changed.append(step)
    elif action == "due" and steps:
        step = rng.choice(steps)
        due = (today + timedelta(days=rng.randint(7, 120))).isoformat()
        step["due"] = due if due != step["due"] else (today + timedelta(days=121)).isoformat()
        changed.append(step)
    elif action == "step" and content["goals"]:
        goal = rng.choice(content["goals"])
        if len(goal["steps"]) >= MAX_STEPS:
            goal["steps"].pop(0)
        known = dict(GOALS).get(goal["title"], ["Talk it through with my key worker"])
        goal["steps"].append(_step(rng, rng.choice(known), today))
        added.append(goal["steps"][-1])
    elif action == "goal":
        if len(content["goals"]) >= MAX_GOALS:
            content["goals"].pop(0)
        goal = _goal(rng, today, {g["title"] for g in content["goals"]})
        content["goals"].append(goal)
        added += [goal, *goal["steps"]]
    elif action == "team":  # care-team entries carry no attribution
        team = content["care_team"]
        if len(team) >= MAX_TEAM or (team and rng.random() < 0.3):
            team.pop(rng.randrange(len(team)))
        else:
            team.append(_member(rng, {m["name"] for m in team}))
    elif action == "review":
        current = content["review_interval_weeks"]
        content["review_interval_weeks"] = rng.choice([w for w in REVIEW_WEEKS if w != current])
    elif action == "matters":
        node = content["what_matters"]
        (changed if node["text"] else added).append(node)
        node["text"] = rng.choice([t for t in WHAT_MATTERS if t != node["text"]])
    else:
        key = rng.choice(DOMAIN_KEYS)
        node = content["domains"][key]
        (changed if node["own_words"] else added).append(node)
        node["own_words"] = _words(rng, key, node["own_words"])
    return rng.choice(CHANGE_NOTES), added, changed


def attribute(content: dict, added: list[dict], changed: list[dict], author: dict) -> None:
    """What `CARE_PLAN.attribute` does, given what the edit touched (checked on a sample).

    New parts, and parts that were empty before, are written by the author; changed parts keep
    their writer and are changed by the author; empty parts count as written by whoever saves.
    """
    for node in added:
        node["written_by"] = node["changed_by"] = author
    for node in changed:
        node["changed_by"] = author
    for node in content["domains"].values():
        if not node["own_words"]:
            node["written_by"] = node["changed_by"] = author
    if not content["what_matters"]["text"]:
        content["what_matters"]["written_by"] = content["what_matters"]["changed_by"] = author


def all_parts(content: dict) -> list[dict]:
    return [node for _, node in CARE_PLAN.attributable(content)]


def canonical_text(content: dict) -> str:
    """The same serialisation as careplan.domain.canonical, as text (stored and hashed)."""
    return json.dumps(
        content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    )


def check_valid(content: dict) -> None:
    """Raise if `content` is not exactly what the form validation would store."""
    plain = strip_attribution(content)
    cleaned = CARE_PLAN.validate(json.loads(json.dumps(plain)))
    if cleaned != plain:
        raise AssertionError(
            "generated content differs from its validated form:\n"
            f"{canonical_text(plain)}\n{canonical_text(cleaned)}"
        )
