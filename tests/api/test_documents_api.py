"""Working with documents through the API: saving versions (and the conflict on a stale
base), signing with the password, comments, lists page by page, reads in the access log, and
the same refusals as the forms for hostile bodies."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pyotp
import pytest
import sqlalchemy as sa

from careplan.db.models import Document
from careplan.domain.blocks import STEP_WITHOUT_WORDS
from careplan.domain.local_time import service_today
from careplan.services import audit, caseloads, documents, second_factor, signoff
from careplan.services.accounts import actor_for
from careplan.web.request_checks import NUL_MESSAGE
from tests.api.conftest import assert_error, bearer
from tests.factories import (
    PASSWORD,
    CaseloadLinkFactory,
    ClientFactory,
    NotificationFactory,
    make_plan,
    plan_content,
)


def _save(client, token, doc_id, base, text="Changed through the API.", **extra):
    body = {
        "base_version": base,
        "content": plan_content(what_matters={"text": text}),
        "change_note": "api",
        **extra,
    }
    return client.post(f"/api/v1/documents/{doc_id}/versions", json=body, headers=bearer(token))


def test_a_new_version_names_its_base_and_a_stale_base_answers_409(client, db, world, token_for):
    kw, me = token_for(world.own.key_worker), token_for(world.own.client)

    saved = _save(client, kw, world.own_plan, 2)
    assert saved.status_code == 201, saved.get_json()
    assert saved.get_json()["number"] == 3 and saved.get_json()["saved"] is True

    stale = _save(client, me, world.own_plan, 2, text="My own words, written meanwhile.")

    error = assert_error(stale, 409)
    conflict = error["conflict"]
    assert conflict["base_version"] == 2 and conflict["head_version"] == 3
    assert [v["number"] for v in conflict["landed"]] == [3]
    assert conflict["proposal"]["what_matters"]["text"] == "My own words, written meanwhile."
    assert "What matters" in " ".join(conflict["clashes"]) or conflict["clashes"]
    assert documents.count_versions(db, world.own_plan) == 3, "a stale save wrote nothing"
    # Saving again on the latest works, as after the web's conflict page.
    assert _save(client, me, world.own_plan, 3, text="My own words.").status_code == 201


def test_saving_nothing_new_answers_200_without_a_version(client, db, world, token_for):
    kw = token_for(world.own.key_worker)
    content = client.get(f"/api/v1/documents/{world.own_plan}", headers=bearer(kw)).get_json()
    response = client.post(
        f"/api/v1/documents/{world.own_plan}/versions",
        json={"base_version": 2, "content": content["content"]},
        headers=bearer(kw),
    )
    assert response.status_code == 200 and response.get_json()["saved"] is False
    assert documents.count_versions(db, world.own_plan) == 2


def test_content_is_validated_like_the_forms(client, world, token_for):
    response = client.post(
        f"/api/v1/documents/{world.own_plan}/versions",
        json={"base_version": 2, "content": plan_content(goals=[{"title": "x" * 5000}])},
        headers=bearer(token_for(world.own.client)),
    )
    error = assert_error(response, 422)
    assert any(name.startswith("content-goals") for name in error["fields"])


def test_a_needed_text_of_only_spaces_answers_422_and_saves_nothing(client, db, world, token_for):
    kw = token_for(world.own.key_worker)
    content = client.get(f"/api/v1/documents/{world.own_plan}", headers=bearer(kw)).get_json()
    content = content["content"]
    content["goals"] = [{"title": "Sleep", "steps": [
        {"text": " \t ", "owner": {"kind": "client"}, "due": "2027-01-01"}]}]  # fmt: skip
    response = client.post(
        f"/api/v1/documents/{world.own_plan}/versions",
        json={"base_version": 2, "content": content},
        headers=bearer(kw),
    )
    error = assert_error(response, 422)
    assert error["fields"]["content-goals-0-steps-0-text"] == [STEP_WITHOUT_WORDS]
    assert documents.count_versions(db, world.own_plan) == 2


def test_a_date_refused_says_the_format_a_program_sends(client, db, world, token_for):
    kw = token_for(world.own.key_worker)
    content = client.get(f"/api/v1/documents/{world.own_plan}", headers=bearer(kw)).get_json()
    content = content["content"]
    content["goals"] = [{"title": "Sleep", "steps": [
        {"text": "Bed by ten", "owner": {"kind": "client"}, "due": "01/03/2027"},
        {"text": "No screens", "owner": {"kind": "client"}}]}]  # fmt: skip
    response = client.post(
        f"/api/v1/documents/{world.own_plan}/versions",
        json={"base_version": 2, "content": content},
        headers=bearer(kw),
    )
    fields = assert_error(response, 422)["fields"]
    assert fields["content-goals-0-steps-0-due"] == [
        "Please give a real date as YYYY-MM-DD, for example 2027-03-01."
    ]
    assert fields["content-goals-0-steps-1-due"] == [
        "Please give a date as YYYY-MM-DD, for example 2027-03-01."
    ]


def _save_with_first_step(client, world, token_for, **step):
    """The key worker saves the plan back with its first step changed so, by the API: the
    answer, and the content sent."""
    kw = token_for(world.own.key_worker)
    content = client.get(f"/api/v1/documents/{world.own_plan}", headers=bearer(kw)).get_json()
    content = content["content"]
    content["goals"][0]["steps"][0].update(step)
    response = client.post(
        f"/api/v1/documents/{world.own_plan}/versions",
        json={"base_version": 2, "content": content},
        headers=bearer(kw),
    )
    return response, content


def test_a_date_years_ahead_is_refused_by_name_and_saves_nothing(client, db, world, token_for):
    response, _ = _save_with_first_step(client, world, token_for, due="9999-12-31")
    fields = assert_error(response, 422)["fields"]
    assert fields == {
        "content-goals-0-steps-0-due": [
            "That date is more than 10 years away. Please check the year."
        ]
    }
    assert documents.count_versions(db, world.own_plan) == 2


def test_a_date_years_ahead_is_said_with_every_other_problem_in_one_answer(
    client, db, world, token_for
):
    response, content = _save_with_first_step(
        client, world, token_for, text="", due="9999-12-31", status="someday"
    )
    fields = assert_error(response, 422)["fields"]
    assert fields == {
        "content-goals-0-steps-0-text": [STEP_WITHOUT_WORDS],
        "content-goals-0-steps-0-due": [
            "That date is more than 10 years away. Please check the year."
        ],
        "content-goals-0-steps-0-status": [fields["content-goals-0-steps-0-status"][0]],
    }
    # In the order the step's answers were sent, as the form's summary reads down the page.
    sent = list(content["goals"][0]["steps"][0])
    assert list(fields) == sorted(fields, key=lambda name: sent.index(name.rsplit("-", 1)[1]))
    assert documents.count_versions(db, world.own_plan) == 2


def test_a_save_says_exactly_what_it_changes_and_nothing_is_emptied_by_leaving_it_out(
    client, db, world, token_for
):
    url = f"/api/v1/documents/{world.own_plan}/versions"
    me = bearer(token_for(world.own.client))

    def post(**body):
        return client.post(url, json={"base_version": 2, **body}, headers=me)

    # Without `part`, the whole content: a section left out would have been emptied.
    whole = plan_content()
    del whole["goals"], whole["care_team"]
    error = assert_error(post(content=whole), 422)
    assert error["fields"]["content"] == [
        "Missing: goals, care_team. Send the whole content (as reading the version gives "
        "it), or one part with `part`."
    ]
    # With `part`, that part alone: anything else is refused, not ignored.
    extra = {"what_matters": {"text": "Mine"}, "goals": "not a list"}
    assert "content" in assert_error(post(part="what_matters", content=extra), 422)["fields"]
    assert "content" in assert_error(post(part="what_matters", content={}), 422)["fields"]
    typo = {"whatmatters": {"text": "Mine"}}
    assert "content" in assert_error(post(part="what_matters", content=typo), 422)["fields"]
    assert "part" in assert_error(post(part="nonsense", content={}), 422)["fields"]
    # A version that does not exist is said to, whether or not a part is named: beside
    # base_version, as any other value refused (it was a 400 naming no field).
    for part in ("", "what_matters"):
        body = {"base_version": 9, "part": part, "content": {"what_matters": {}}}
        answer = assert_error(client.post(url, json=body, headers=me), 422)
        assert answer["fields"] == {
            "base_version": ["There is no version 9: the latest is version 2."]
        }
    assert documents.count_versions(db, world.own_plan) == 2
    # What reading a version gives, sent back as it is, saves nothing (and the part emptied
    # on purpose, sent empty, saves).
    current = client.get(f"{url}/2", headers=me).get_json()["content"]
    same = client.post(url, json={"base_version": 2, "content": current}, headers=me)
    assert same.status_code == 200 and same.get_json()["saved"] is False
    emptied = post(part="what_matters", content={"what_matters": {}})
    assert emptied.status_code == 201 and documents.count_versions(db, world.own_plan) == 3


@pytest.mark.parametrize(
    "body, field",
    [
        ({"base_version": 2, "content": {}, "colour": "red"}, "colour"),
        ({"content": {}}, "base_version"),
        ({"base_version": "2", "content": {}}, "base_version"),
        ({"base_version": 2, "content": []}, "content"),
        ({"base_version": -1, "content": {}}, "base_version"),
        ({"base_version": 2**31, "content": {}}, "base_version"),
    ],
)
def test_unknown_and_wrong_fields_are_refused_by_name(client, world, token_for, body, field):
    response = client.post(
        f"/api/v1/documents/{world.own_plan}/versions",
        json=body,
        headers=bearer(token_for(world.own.client)),
    )
    assert field in assert_error(response, 422)["fields"]


def test_unknown_query_parameters_are_refused(client, world, token_for):
    response = client.get("/api/v1/clients?colour=red", headers=bearer(token_for(world.own.client)))
    assert "colour" in assert_error(response, 422)["fields"]


@pytest.mark.parametrize(
    "raw, message",
    [
        (json.dumps({"base_version": 2, "content": {"what_matters": {"text": "a\x00b"}}}), "NUL"),
        (json.dumps({"base_version\x00": 2, "content": {}}), "NUL"),
        ('{"base_version": 2, "content": ' + "[" * 40 + "]" * 40 + "}", "nested"),
        ("[" * 100_000 + "]" * 100_000, "nested"),
        ("{not json", "not valid JSON"),
        ('{"base_version": NaN, "content": {}}', "not valid JSON"),
        ('{"base_version": 1e999, "content": {}}', "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"base_version": 2, "base_version": 3, "content": {}}', "'base_version' twice"),
        ('{"base_version": 2, "content": {"what_matters": {"text": "a", "text": "b"}}}', "twice"),
        (b'{"base_version": 2, "content": {"what_matters": {"text": "caf\xe9"}}}', "UTF-8"),
    ],
)
def test_hostile_bodies_answer_400(client, db, world, token_for, raw, message):
    response = client.post(
        f"/api/v1/documents/{world.own_plan}/versions",
        data=raw,
        content_type="application/json",
        headers=bearer(token_for(world.own.client)),
    )
    assert message in assert_error(response, 400)["message"]
    assert documents.count_versions(db, world.own_plan) == 2


def test_json_is_taken_as_utf_8_only(client, db, world, token_for):
    url = f"/api/v1/documents/{world.own_plan}/versions"
    headers = bearer(token_for(world.own.client))
    body = '{"base_version": 2, "content": {}}'.encode("utf-16")
    for charset in ("utf-16", "latin-1"):
        response = client.post(
            url, data=body, content_type=f"application/json; charset={charset}", headers=headers
        )
        assert "UTF-8" in assert_error(response, 415)["message"]
    assert documents.count_versions(db, world.own_plan) == 2
    # Said outright, UTF-8 is as welcome as when it goes without saying.
    unchanged = client.get(url.replace("/versions", ""), headers=headers).get_json()
    response = client.post(
        url,
        data=json.dumps({"base_version": 2, "content": unchanged["content"]}),
        content_type="application/json; charset=UTF-8",
        headers=headers,
    )
    assert response.status_code in (200, 201), response.get_data(as_text=True)


def test_nul_in_the_query_answers_400_in_the_api_s_shape(client, world, token_for):
    response = client.get("/api/v1/clients?page=%00", headers=bearer(token_for(world.own.client)))
    assert assert_error(response, 400)["message"] == NUL_MESSAGE


def test_a_body_that_is_not_json_answers_415_and_a_huge_one_413(client, world, token_for):
    token = token_for(world.own.client)
    url = f"/api/v1/documents/{world.own_plan}/versions"
    assert_error(client.post(url, data={"base_version": "2"}, headers=bearer(token)), 415)
    huge = '{"content": {}, "change_note": "' + "x" * (3 * 1024 * 1024) + '"}'
    assert_error(
        client.post(url, data=huge, content_type="application/json", headers=bearer(token)), 413
    )


def test_an_unexpected_failure_answers_500_in_the_same_shape(app, client, world, token_for):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    original = documents.history
    documents.history = broken
    try:
        response = client.get(
            f"/api/v1/documents/{world.own_plan}/versions",
            headers=bearer(token_for(world.own.client)),
        )
    finally:
        documents.history = original
    error = assert_error(response, 500)
    assert "database" not in error["message"]


def test_lists_come_page_by_page_with_a_next_link(client, db, world, token_for):
    token = token_for(world.own.key_worker)
    for n in range(3, 6):
        assert _save(client, token, world.own_plan, n - 1, text=f"Revision {n}").status_code == 201
    url = f"/api/v1/documents/{world.own_plan}/versions?per_page=2"

    first = client.get(url, headers=bearer(token)).get_json()
    assert [v["number"] for v in first["items"]] == [5, 4]
    assert first["total"] == 5 and first["page"] == 1
    second = client.get(first["next"], headers=bearer(token)).get_json()
    assert [v["number"] for v in second["items"]] == [3, 2]
    last = client.get(second["next"], headers=bearer(token)).get_json()
    assert [v["number"] for v in last["items"]] == [1] and last["next"] is None
    beyond = client.get(url + "&page=9", headers=bearer(token)).get_json()
    assert beyond["items"] == [] and beyond["next"] is None

    for per_page in ("0", "101", "x"):
        response = client.get(f"/api/v1/clients?per_page={per_page}", headers=bearer(token))
        assert "per_page" in assert_error(response, 422)["fields"]


def _every_page(client, token, url) -> tuple[list[dict], list[dict]]:
    """Follows the next links from `url`; returns every page's body and all the items."""
    pages, items = [], []
    while url:
        body = client.get(url, headers=bearer(token)).get_json()
        pages.append(body)
        items += body["items"]
        url = body["next"]
    return pages, items


def test_long_lists_count_every_item_and_each_page_comes_from_the_database(
    client, db, world, token_for
):
    # More notices than the reminders page shows (100): the API still counts and pages them all.
    NotificationFactory.create_batch(103, user_id=world.own.client.id)
    token = token_for(world.own.client)

    pages, items = _every_page(client, token, "/api/v1/reminders?per_page=100")

    assert [len(p["items"]) for p in pages] == [100, 3]
    assert {p["total"] for p in pages} == {103}
    ids = [n["id"] for n in items]
    assert ids == sorted(set(ids), reverse=True), "newest first, none twice"

    # A key worker with five more clients: pages of two, in name order, each client once.
    for _ in range(5):
        CaseloadLinkFactory(client_id=ClientFactory().id, key_worker_id=world.own.key_worker.id)
    worker = token_for(world.own.key_worker)
    pages, items = _every_page(client, worker, "/api/v1/clients?per_page=2")
    assert [len(p["items"]) for p in pages] == [2, 2, 2]
    assert {p["total"] for p in pages} == {6}
    whole = caseloads.people_for(db, actor_for(world.own.key_worker))  # the start page's list
    assert [c["id"] for c in items] == [p.client_id for p in whole]
    assert len({c["id"] for c in items}) == 6


def test_reads_through_the_api_are_in_the_client_s_access_log(client, db, world, token_for):
    token = token_for(world.own.supervisor)
    client.get(f"/api/v1/documents/{world.own_plan}/versions/1", headers=bearer(token))
    client.get(f"/api/v1/documents/{world.own_plan}/versions/2/fhir", headers=bearer(token))
    # The client's and key worker's own reads are not logged, as on the web.
    client.get(f"/api/v1/documents/{world.own_plan}", headers=bearer(token_for(world.own.client)))

    log = audit.access_log(db, actor_for(world.own.client))

    assert [(e.who, e.what) for e in log] == [
        (world.own.supervisor.display_name, "downloaded your care plan (version 2) in FHIR format"),
        (world.own.supervisor.display_name, "read version 1 of your care plan"),
    ]


def test_signing_needs_the_password_and_both_signatures_agree(client, db, world, token_for):
    url = f"/api/v1/documents/{world.own_plan}/versions/2/sign"
    me, kw = token_for(world.own.client), token_for(world.own.key_worker)

    def counts():
        [row] = [
            c
            for c in client.get("/api/v1/clients", headers=bearer(kw)).get_json()["items"]
            if c["id"] == world.own.client.id
        ]
        return row["awaiting_signature"], row["unsigned"]

    waiting, unsigned = counts()
    assert unsigned >= 1  # version 2 is a draft nobody has signed

    for loose in ("yes", 1, 0):  # true or false, no guessing
        body = {"password": PASSWORD, "confirm_blank": loose}
        refused = assert_error(client.post(url, json=body, headers=bearer(me)), 422)
        assert "confirm_blank" in refused["fields"]
    wrong = client.post(url, json={"password": "not it"}, headers=bearer(me))
    assert "password" in assert_error(wrong, 422)["fields"]
    missing = client.post(url, json={}, headers=bearer(me))
    assert "password" in assert_error(missing, 422)["fields"]

    mine = client.post(url, json={"password": PASSWORD, "comment": "Fine."}, headers=bearer(me))
    assert mine.status_code == 200
    assert mine.get_json()["outcome"] == "signed_with_comment"
    assert mine.get_json()["state"] == "awaiting_signature"
    again = client.post(url, json={"password": PASSWORD}, headers=bearer(me))
    assert_error(again, 409)
    assert counts() == (waiting + 1, unsigned)  # one side signed: still not signed by both
    theirs = client.post(url, json={"password": PASSWORD}, headers=bearer(kw))
    assert theirs.get_json()["state"] == "agreed" and theirs.get_json()["agreed_version"] == 2
    assert counts() == (waiting, unsigned - 1)

    signatures = client.get(
        f"/api/v1/documents/{world.own_plan}/signatures", headers=bearer(me)
    ).get_json()
    assert signatures["agreed_version"] == 2 and len(signatures["signatures"]) == 2


def test_with_the_second_step_on_the_api_signs_only_with_a_fresh_code(client, db, world, token_for):
    person = actor_for(world.own.client)
    setup = second_factor.begin(db, person, "app.example.org")
    totp = pyotp.TOTP(setup.secret)
    backup = second_factor.turn_on(db, person, setup.secret, totp.at(time.time() - 30), PASSWORD)
    url = f"/api/v1/documents/{world.own_plan}/versions/2/sign"
    me = bearer(token_for(world.own.client))

    missing = client.post(url, json={"password": PASSWORD}, headers=me)
    assert "code" in assert_error(missing, 422)["fields"]
    signed = client.post(url, json={"password": PASSWORD, "code": totp.now()}, headers=me)
    assert signed.status_code == 200 and signed.get_json()["state"] == "awaiting_signature"
    [mine] = [
        s
        for s in client.get(
            f"/api/v1/documents/{world.own_plan}/signatures", headers=me
        ).get_json()["signatures"]
    ]
    assert mine["method"].endswith("authenticator app")

    # A backup code works over the API as on the pages: once.
    first, second = (make_plan(world.own.key_worker, world.own.client) for _ in range(2))
    form = {"password": PASSWORD, "code": backup[0], "reason": "Not yet."}
    declined = client.post(f"/api/v1/documents/{first}/versions/1/decline", json=form, headers=me)
    assert declined.status_code == 200, declined.get_json()
    again = client.post(f"/api/v1/documents/{second}/versions/1/decline", json=form, headers=me)
    assert "code" in assert_error(again, 422)["fields"]


def test_declining_keeps_the_reason_and_an_old_version_cannot_be_signed(client, world, token_for):
    me = token_for(world.own.client)
    old = client.post(
        f"/api/v1/documents/{world.own_plan}/versions/1/sign",
        json={"password": PASSWORD},
        headers=bearer(me),
    )
    assert "not the latest" in assert_error(old, 409)["message"]
    no_reason = client.post(
        f"/api/v1/documents/{world.own_plan}/versions/2/decline",
        json={"password": PASSWORD, "reason": "  "},
        headers=bearer(me),
    )
    assert "reason" in assert_error(no_reason, 422)["fields"]
    declined = client.post(
        f"/api/v1/documents/{world.own_plan}/versions/2/decline",
        json={"password": PASSWORD, "reason": "The goals are not mine."},
        headers=bearer(me),
    )
    assert declined.get_json()["state"] == "declined"
    signoff = client.get(
        f"/api/v1/documents/{world.own_plan}/signatures", headers=bearer(me)
    ).get_json()
    assert signoff["signatures"][0]["comment"] == "The goals are not mine."


def test_comments_and_a_new_agreement(client, app, world, token_for):
    adv = token_for(world.own.advocate)
    url = f"/api/v1/documents/{world.own_plan}/comments"
    added = client.post(
        url,
        json={"section_key": "what_matters", "version_number": 2, "body": "Well put."},
        headers=bearer(adv),
    )
    assert added.status_code == 204 and added.data == b""
    assert "Content-Type" not in added.headers  # no body, so no kind of body
    wrong = client.post(
        url,
        json={"section_key": "nowhere", "version_number": 2, "body": "x"},
        headers=bearer(adv),
    )
    assert "section_key" in assert_error(wrong, 422)["fields"]
    listed = client.get(url, headers=bearer(adv)).get_json()
    assert [c["body"] for c in listed["items"]] == ["Well put."]

    kw = token_for(world.own.key_worker)
    agreements = f"/api/v1/clients/{world.own.client.id}/documents"
    made = client.post(
        agreements, json={"kind": "agreement", "template_id": "general"}, headers=bearer(kw)
    )
    assert made.status_code == 201 and made.get_json()["kind"] == "agreement"
    unknown = client.post(
        agreements, json={"kind": "agreement", "template_id": "nope"}, headers=bearer(kw)
    )
    assert "template_id" in assert_error(unknown, 422)["fields"]
    records = client.get(f"/api/v1/clients/{world.own.client.id}", headers=bearer(kw)).get_json()
    assert {d["kind"] for d in records["documents"]} == {"care_plan", "agreement"}


def test_the_openapi_document_and_its_page(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/documents/{document_id}/versions" in spec["paths"]
    post = spec["paths"]["/api/v1/documents/{document_id}/versions"]["post"]
    assert {"200", "201", "409", "422", "401", "403"} <= set(post["responses"])
    assert spec["components"]["schemas"]["NewVersion"]["additionalProperties"] is False
    document = spec["components"]["schemas"]["Document"]["properties"]
    assert document["sections"]["items"]["properties"]["key"] == {"type": "string"}
    agreed = spec["components"]["schemas"]["SignOff"]["properties"]["agreed_version"]
    assert (agreed["type"], agreed["nullable"]) == ("integer", True)
    page = client.get("/api/v1/docs")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "POST /api/v1/documents/{document_id}/versions" in html
    assert "http://" not in html.replace("http://localhost", "")
    assert "<script" not in html
    # It names its icon, so the browser does not ask for /favicon.ico.
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html


def test_the_dashboard_is_the_supervisor_s_own_teams_filtered_like_the_page(
    client, world, token_for
):
    token = token_for(world.own.supervisor)
    url = "/api/v1/supervision/dashboard"

    board = client.get(url, headers=bearer(token)).get_json()

    assert [r["document_id"] for r in board["items"]] == [world.own_plan]
    assert board["items"][0]["state"] == "never_agreed" and board["next"] is None
    assert [t["id"] for t in board["teams"]] == [world.own.team.id]
    assert [w["id"] for w in board["key_workers"]] == [world.own.key_worker.id]
    assert (board["overdue"], board["overdue_counted"]) == (0, 100)
    mine = client.get(f"{url}?key_worker={world.own.key_worker.id}", headers=bearer(token))
    assert len(mine.get_json()["items"]) == 1
    none = client.get(f"{url}?state=agreed&sort=client", headers=bearer(token))
    assert none.get_json()["items"] == []
    assert (
        "state"
        in assert_error(client.get(f"{url}?state=lost", headers=bearer(token)), 422)["fields"]
    )
    backwards = client.get(f"{url}?due_from=2027-02-01&due_to=2027-01-01", headers=bearer(token))
    assert "due_to" in assert_error(backwards, 422)["fields"]
    not_theirs = client.get(f"{url}?team={world.own.team.id + 1000}", headers=bearer(token))
    assert "team" in assert_error(not_theirs, 422)["fields"]
    # Past the last page, as every list here: empty, where the web shows the last page.
    beyond = client.get(f"{url}?page=2", headers=bearer(token)).get_json()
    assert (beyond["items"], beyond["page"], beyond["next"]) == ([], 2, None)


def test_review_dates_and_reminders_are_the_caller_s_own(client, db, world, token_for):
    for person in (world.own.client, world.own.key_worker):
        signoff.sign(db, actor_for(person), world.own_plan, 2, "signed", "", PASSWORD)
    token = token_for(world.own.client)

    dates = client.get("/api/v1/review-dates", headers=bearer(token)).get_json()
    assert [d["document_id"] for d in dates["items"]] == [world.own_plan]
    review = client.get(f"/api/v1/documents/{world.own_plan}/review", headers=bearer(token))
    assert review.get_json()["next_review_on"] == dates["items"][0]["on"]
    assert review.get_json()["agreed_version"] == 2
    other = client.get("/api/v1/review-dates", headers=bearer(token_for(world.other.client)))
    assert other.get_json()["items"] == []
    reminders = client.get("/api/v1/reminders", headers=bearer(token)).get_json()
    assert reminders["total"] == len(reminders["items"])


@pytest.mark.parametrize("raw", ["+1", " 1", "1.0", "١", "0x1", "1e2", ""])
def test_numbers_in_the_query_are_ascii_digits_only(client, world, token_for, raw):
    response = client.get(
        "/api/v1/clients", query_string={"page": raw}, headers=bearer(token_for(world.own.client))
    )
    assert "page" in assert_error(response, 422)["fields"]


@pytest.mark.parametrize("raw", ["-5", "0", "99999999999", "2147483648", "abc"])
def test_a_page_number_refused_says_what_would_do(client, world, token_for, raw):
    """Not "Not a valid integer." for -5, nor for a number too large to be a page."""
    token = token_for(world.own.client)
    response = client.get("/api/v1/clients", query_string={"page": raw}, headers=bearer(token))
    assert assert_error(response, 422)["fields"]["page"] == [
        "Please give a page number from 1 to 2,147,483,647."
    ]
    response = client.get("/api/v1/clients", query_string={"per_page": raw}, headers=bearer(token))
    assert assert_error(response, 422)["fields"]["per_page"] == [
        "Please give a number of items per page from 1 to 100."
    ]


@pytest.mark.parametrize("raw", ["-5", "0", "99999999999", "abc"])
def test_a_version_or_an_id_refused_in_the_query_says_which_numbers_there_are(
    client, world, token_for, raw
):
    """As a page number: not "Not a valid integer." for -5, nor a Range's wording for 0."""
    compare = f"/api/v1/documents/{world.own_plan}/compare"
    board = "/api/v1/supervision/dashboard"
    asked = [
        (compare, world.own.client, {"older": raw, "newer": "1"}, "older", "a version number"),
        (compare, world.own.client, {"older": "1", "newer": raw}, "newer", "a version number"),
        (board, world.own.supervisor, {"team": raw}, "team", "a team's id"),
        (board, world.own.supervisor, {"key_worker": raw}, "key_worker", "a key worker's id"),
    ]
    for path, person, args, name, what in asked:
        response = client.get(path, query_string=args, headers=bearer(token_for(person)))
        assert assert_error(response, 422)["fields"] == {
            name: [f"Please give {what} from 1 to 2,147,483,647."]
        }


@pytest.mark.parametrize("value", ["2", 2.0, True, None])
def test_numbers_in_a_body_are_json_integers(client, world, token_for, value):
    response = client.post(
        f"/api/v1/documents/{world.own_plan}/comments",
        json={"section_key": "what_matters", "version_number": value, "body": "x"},
        headers=bearer(token_for(world.own.client)),
    )
    assert "version_number" in assert_error(response, 422)["fields"]


FROM_1 = "Please give a version number from 1 to 2,147,483,647."
FROM_0 = "Please give a version number from 0 to 2,147,483,647."
AS_JSON = 'Send it as a whole number without quotes: 2, not "2", 2.0 or true.'


@pytest.mark.parametrize(
    "value, comment_says, save_says",
    [
        (-5, FROM_1, FROM_0),
        (0, FROM_1, None),  # a version saved on nothing: a base of 0 is the first's
        (2**31, FROM_1, FROM_0),  # past PostgreSQL's INTEGER
        (2**63, FROM_1, FROM_0),  # past SQLite's and PostgreSQL's BIGINT
        (10**40, FROM_1, FROM_0),
        ("2", f"{FROM_1} {AS_JSON}", f"{FROM_0} {AS_JSON}"),
        (2.5, f"{FROM_1} {AS_JSON}", f"{FROM_0} {AS_JSON}"),
        (True, f"{FROM_1} {AS_JSON}", f"{FROM_0} {AS_JSON}"),
        (False, f"{FROM_1} {AS_JSON}", f"{FROM_0} {AS_JSON}"),
        (None, f"{FROM_1} {AS_JSON}", f"{FROM_0} {AS_JSON}"),
    ],
)
def test_a_number_refused_in_a_body_says_which_numbers_there_are(
    client, db, world, token_for, value, comment_says, save_says
):
    """As in the query: not "Not a valid integer." for "2" nor a Range's wording for -5."""
    token = token_for(world.own.key_worker)
    url = f"/api/v1/documents/{world.own_plan}"
    comment = {"section_key": "what_matters", "version_number": value, "body": "x"}
    response = client.post(f"{url}/comments", json=comment, headers=bearer(token))
    assert assert_error(response, 422)["fields"] == {"version_number": [comment_says]}
    response = _save(client, token, world.own_plan, value)
    if save_says is None:  # 0 is a number there is, but not this document's latest
        assert_error(response, 409)
    else:
        assert assert_error(response, 422)["fields"] == {"base_version": [save_says]}
    assert documents.count_versions(db, world.own_plan) == 2
    assert client.get(f"{url}/comments", headers=bearer(token)).get_json()["items"] == []


def test_a_number_of_thousands_of_digits_is_refused_as_too_long(client, db, world, token_for):
    """Python reads no integer of more than 4,300 digits; the JSON is valid all the same."""
    response = client.post(
        f"/api/v1/documents/{world.own_plan}/versions",
        data='{"base_version": ' + "9" * 5000 + ', "content": {}}',
        content_type="application/json",
        headers=bearer(token_for(world.own.key_worker)),
    )
    message = assert_error(response, 400)["message"]
    assert "thousands of digits" in message and "not valid JSON" not in message
    assert documents.count_versions(db, world.own_plan) == 2


def test_a_lone_surrogate_answers_400_and_saves_nothing(client, db, world, token_for):
    raw = '{"section_key": "what_matters", "version_number": 2, "body": "broken \\ud800"}'
    response = client.post(
        f"/api/v1/documents/{world.own_plan}/comments",
        data=raw,
        content_type="application/json",
        headers=bearer(token_for(world.own.client)),
    )
    assert "broken" in assert_error(response, 400)["message"]
    assert (
        client.get(
            f"/api/v1/documents/{world.own_plan}/comments",
            headers=bearer(token_for(world.own.client)),
        ).get_json()["items"]
        == []
    )


def test_the_dashboard_says_how_many_reviews_are_overdue_as_the_page_does(
    client, db, world, token_for
):
    for person in (world.own.client, world.own.key_worker):
        signoff.sign(db, actor_for(person), world.own_plan, 2, "signed", "", PASSWORD)
    with db.write() as s:
        s.get(Document, world.own_plan).next_review_on = service_today() - timedelta(days=3)
    url = "/api/v1/supervision/dashboard?state=agreed"  # whatever the filters
    board = client.get(url, headers=bearer(token_for(world.own.supervisor))).get_json()
    assert board["overdue"] == 1


def test_the_charts_count_overdue_reviews_by_key_worker(client, db, world, token_for):
    for person in (world.own.client, world.own.key_worker):
        signoff.sign(db, actor_for(person), world.own_plan, 2, "signed", "", PASSWORD)
    with db.write() as s:
        s.execute(
            sa.update(Document)
            .where(Document.id == world.own_plan)
            .values(next_review_on=service_today() - timedelta(days=3))
        )

    charts = client.get(
        "/api/v1/supervision/charts", headers=bearer(token_for(world.own.supervisor))
    ).get_json()

    assert charts["overdue_by_key_worker"] == [
        {"key_worker": world.own.key_worker.display_name, "overdue": 1}
    ]
    assert len(charts["on_time_by_month"]) >= 12
    # The missed review makes its month 0% on time; a month with nothing due is null, never
    # a 0 that a program would read as "none on time", and the description says it may be.
    months = {m["month"]: m for m in charts["on_time_by_month"]}
    missed = (service_today() - timedelta(days=3)).strftime("%b %Y")
    now = service_today().strftime("%b %Y")
    label = "0% (0 of 1 so far)" if missed == now else "0% (0 of 1)"  # this month is not over
    assert months.pop(missed) == {"month": missed, "on_time_percent": 0.0, "label": label}
    assert months and all(
        (m["on_time_percent"], m["label"])
        == (None, "no reviews due so far" if month == now else "no reviews due")
        for month, m in months.items()
    )
    spec = client.get("/api/v1/openapi.json").get_json()
    share = spec["components"]["schemas"]["MonthOnTime"]["properties"]["on_time_percent"]
    assert share.get("nullable") is True or "null" in share.get("type", [])
    assert "null when no reviews were due" in share["description"]


def test_the_dashboard_lists_a_client_with_no_document_as_its_schema_says(client, world, token_for):
    cal = ClientFactory(display_name="Cal Noplan")
    CaseloadLinkFactory(client_id=cal.id, key_worker_id=world.own.key_worker.id)
    token = token_for(world.own.supervisor)
    url = "/api/v1/supervision/dashboard"
    items = client.get(url, headers=bearer(token)).get_json()["items"]
    assert [r["client_id"] for r in items] == [cal.id, world.own.client.id]
    row = items[0]
    assert (row["document_id"], row["kind_label"], row["state"]) == (None, None, "no_plan")
    assert row["client_since"] == cal.created_at.date().isoformat()
    assert row["key_worker"] == world.own.key_worker.display_name
    alone = client.get(f"{url}?state=no_plan", headers=bearer(token)).get_json()["items"]
    assert [r["client_id"] for r in alone] == [cal.id]
    spec = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    described = spec["DashboardRow"]["properties"]
    assert described["document_id"]["nullable"] and "no_plan" in described["state"]["enum"]
    assert described["client_since"]["format"] == "date"


def test_a_comparison_names_everyone_between_and_who_last_changed_each_part(
    client, db, world, token_for
):
    """As the page says it: everyone who made the versions after the older one (not only the
    newer one's author), per change the version and person that last changed it, and words
    written where there were none "added", emptied ones "removed"."""
    kw, you = world.own.key_worker, world.own.client
    content = documents.open_document(db, actor_for(you), world.own_plan).content
    content["domains"]["housing"]["own_words"] = ""  # version 3, by the client
    content["domains"]["money"] = {"own_words": "Rent is paid."}
    documents.save_version(db, actor_for(you), world.own_plan, 2, content)
    content = documents.open_document(db, actor_for(kw), world.own_plan).content
    content["what_matters"]["text"] = "Being heard."  # version 4, by the key worker
    documents.save_version(db, actor_for(kw), world.own_plan, 3, content)

    url = f"/api/v1/documents/{world.own_plan}/compare"
    body = client.get(url, query_string={"older": 1, "newer": 4}, headers=bearer(token_for(you)))
    body = body.get_json()
    person = {u.id: {"id": u.id, "name": u.display_name, "role": u.role} for u in (kw, you)}
    # The key worker made versions 2 and 4, the client 3: each named once, first first.
    assert body["made_by"] == [person[kw.id], person[you.id]]
    changes = {c["label"]: c for c in body["changes"]}
    housing = next(c for c in body["changes"] if c["before"] == "I live with my sister for now.")
    money = next(c for c in body["changes"] if c["after"] == "Rent is paid.")
    matters = next(c for c in body["changes"] if c["after"] == "Being heard.")
    assert (housing["status"], housing["after"]) == ("removed", "")
    assert (money["status"], money["before"]) == ("added", "")
    assert matters["status"] == "changed"
    assert housing["last_changed"] == {"version": 3, "by": person[you.id]}
    assert money["last_changed"] == {"version": 3, "by": person[you.id]}
    assert matters["last_changed"] == {"version": 4, "by": person[kw.id]}
    assert {c["part"] for c in changes.values()} == {
        "My life, in my own words",
        "What matters to me",
    }
    # Two versions next to each other: the newer one's author, as the page says.
    body = client.get(url, query_string={"older": 3, "newer": 4}, headers=bearer(token_for(you)))
    body = body.get_json()
    assert body["made_by"] == [person[kw.id]]
    assert [c["last_changed"] for c in body["changes"]] == [{"version": 4, "by": person[kw.id]}]
    # The OpenAPI document describes the new fields.
    spec = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert spec["Comparison"]["properties"]["made_by"]["items"] == {
        "$ref": "#/components/schemas/Person"
    }
    change = spec["ComparedChange"]["properties"]
    assert {"nullable": True, "type": "object"} in change["last_changed"]["anyOf"]
    assert set(change["status"]["enum"]) == {"added", "changed", "removed"}
    assert set(spec["Person"]["properties"]) == {"id", "name", "role"}
    assert set(spec["LastChanged"]["properties"]) == {"version", "by"}
