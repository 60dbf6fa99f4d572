"""Demo accounts and plans for trying the app locally. Safe to run more than once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from .agreement_library import AgreementLibrary
from .db.engine import Database
from .db.models import User
from .domain.local_time import service_today
from .domain.roles import Role
from .paths import PROJECT_ROOT
from .services import accounts, documents, signoff

DEMO_PASSWORD = "demo-password"

PEOPLE = [
    (Role.SUPERVISOR, "Sam Supervisor", "supervisor@demo.careplan", None),
    (Role.KEY_WORKER, "Kim Keyworker", "kim@demo.careplan", "North team"),
    (Role.KEY_WORKER, "Lee Keyworker", "lee@demo.careplan", "South team"),
    (Role.CLIENT, "Alex Client", "alex@demo.careplan", None),
    (Role.CLIENT, "Bea Client", "bea@demo.careplan", None),
    (Role.CLIENT, "Cal Client", "cal@demo.careplan", None),
    (Role.ADVOCATE, "Ash Advocate", "ash@demo.careplan", None),
    (Role.ADMIN, "Ada Admin", "admin@demo.careplan", None),
]


def seed_demo(db: Database) -> list[tuple[str, str, str]]:
    listing = [(role.label, name, email) for role, name, email, _ in PEOPLE]
    with db.read() as s:
        if s.scalar(select(User.id).where(User.email == PEOPLE[0][2])):
            return listing

    for team in ("North team", "South team"):
        accounts.create_team(db, team)
    users = {}
    for role, name, email, team in PEOPLE:
        users[email] = accounts.create_user(db, email, name, role, DEMO_PASSWORD, team)
    accounts.add_supervisor(db, "supervisor@demo.careplan", "North team")
    accounts.add_supervisor(db, "supervisor@demo.careplan", "South team")
    accounts.link_caseload(db, "alex@demo.careplan", "kim@demo.careplan")
    accounts.link_caseload(db, "bea@demo.careplan", "kim@demo.careplan")
    accounts.link_caseload(db, "cal@demo.careplan", "lee@demo.careplan")

    alex = accounts.actor_for(users["alex@demo.careplan"])
    kim = accounts.actor_for(users["kim@demo.careplan"])
    bea = accounts.actor_for(users["bea@demo.careplan"])
    accounts.invite_advocate(db, alex, users["ash@demo.careplan"].id)

    # Alex: a plan written together over three versions.
    soon = service_today() + timedelta(days=21)
    plan = documents.create_document(db, kim, alex.id)
    content = {
        "domains": {
            "housing": {
                "own_words": "I am sofa surfing at my sister's. It is crowded and I want my own place."
            },
            "drug_alcohol": {
                "own_words": "I am on a script and doing alright. Weekends are the hard part."
            },
        },
        "goals": [
            {
                "title": "Get my own flat",
                "steps": [
                    {
                        "text": "Ring the council housing team",
                        "owner": {"kind": "client"},
                        "due": soon.isoformat(),
                    },
                    {
                        "text": "Write a support letter for the housing application",
                        "owner": {"kind": "key_worker"},
                        "due": soon.isoformat(),
                    },
                ],
            }
        ],
        "care_team": [
            {"name": "Dr Patel", "role": "GP", "what_they_do": "Prescribes and checks my health"}
        ],
        "what_matters": {"text": "Being treated like a person, and seeing the same worker."},
    }
    documents.save_version(db, kim, plan, 0, content, "First draft from our meeting")
    page = documents.open_document(db, alex, plan)
    content = page.content
    content["domains"]["money"] = {
        "own_words": "My benefits were sanctioned in May. I am behind on my phone bill."
    }
    content["goals"][0]["steps"].append(
        {
            "text": "Go to the benefits advice drop-in",
            "owner": {"kind": "other", "name": "Citizens Advice"},
            "due": (soon + timedelta(days=14)).isoformat(),
        }
    )
    documents.save_version(db, alex, plan, page.head_number, content, "Added money worries")
    page = documents.open_document(db, kim, plan)
    content = page.content
    content["goals"][0]["steps"][0]["status"] = "in_progress"
    documents.save_version(db, kim, plan, page.head_number, content, "Alex has rung the council")

    # Bea: a plan just started, nothing written yet.
    documents.create_document(db, bea, bea.id)

    # Alex and Kim sign Alex's plan, and Kim asks for a review soon, so the scheduler started
    # by scripts/run has reminders to send.
    from .reminders.demo import seed_review_demo

    seed_review_demo(db, DEMO_PASSWORD)

    # Alex: a partnership agreement Kim has signed, waiting for Alex's signature.
    library = AgreementLibrary(PROJECT_ROOT / "agreements").current()
    template = library.templates.get("smi_self_referral")
    if template:
        agreement = documents.create_document(db, kim, alex.id, "agreement", template=template)
        raw = {
            "sections": {
                "communication": {
                    "channels": {"text": "Texts are best. No letters to my address."}
                },
                "boundaries": {
                    "worker_hours": {"text": "Kim works Monday to Thursday, 9 to 5."},
                    "out_of_hours": [
                        {"name": "Out-of-hours team", "how_to_contact": "0161 496 0000"}
                    ],
                    "how_to_reach_me": {"text": "Texts without the service's name, please."},
                },
                "contingencies": {
                    "warning_signs": {"text": "I stop sleeping and stop answering my phone."},
                    "what_helps": {"text": "A call from Kim, and my sister coming round."},
                    "do_not_want": {"text": "Police at my door."},
                    "contacts": [
                        {"name": "Jo Morgan", "role": "sister", "how_to_contact": "07700 900123"}
                    ],
                    "self_referral_how": {"text": "I ring the ward and say I am using my plan."},
                },
            }
        }
        documents.save_version(db, kim, agreement, 0, raw, "Drafted together at our meeting")
        # The shared goals are left for the next meeting: Kim signs saying so; Alex is shown
        # the empty part and asked the same when signing.
        signoff.sign(db, kim, agreement, 1, "signed", "", DEMO_PASSWORD, confirm_blank=True)
    return listing
