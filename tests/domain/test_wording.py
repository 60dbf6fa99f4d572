"""How pages name people to their reader: "you", the client's own name, "Kim, your key worker"."""

from careplan.domain.roles import Role
from careplan.domain.wording import (
    Named,
    both_of,
    closed,
    declined_notice,
    handover_coming_notice,
    in_access_log,
    person,
    review_confirmed_advocate_notice,
    review_done_notice,
    role_of,
    sentence,
    unwell_plan,
    waiting_for,
    without_words_quoted,
)


def test_the_reader_is_you():
    assert person("Kim", "key_worker", is_reader=True, reader_is_client=False) == "you"
    assert sentence(person("Al", "client", is_reader=True, reader_is_client=True)) == "You"


def test_the_client_reads_what_others_are_to_them():
    said = {
        role: person("Kim", role, is_reader=False, reader_is_client=True)
        for role in ("key_worker", "advocate", "supervisor", "admin")
    }
    assert said == {
        "key_worker": "Kim, your key worker",
        "advocate": "Kim, your advocate",
        "supervisor": "Kim, a supervisor",
        "admin": "Kim, an administrator",
    }


def test_others_read_the_client_by_the_name_they_go_by():
    assert person(
        "Alex Morgan", "client", is_reader=False, reader_is_client=False, client_name="Al"
    ) == ("Al")
    assert person(
        "Kim", "key worker", is_reader=False, reader_is_client=False, client_name="Al"
    ) == ("Kim, Al's key worker")
    assert person("Kim", "Key worker", is_reader=False, reader_is_client=False) == (
        "Kim, the key worker"
    )
    assert person("Someone", "", is_reader=False, reader_is_client=False) == "Someone"


def test_no_role_label_in_brackets_for_any_role():
    for role in Role:
        for label in (role.value, role.label):
            for reader_is_client in (True, False):
                text = person("Kim", label, is_reader=False, reader_is_client=reader_is_client)
                assert "(" not in text and "_" not in text, text


def test_whose_signature_is_awaited():
    both = (Role.CLIENT, Role.KEY_WORKER)
    assert waiting_for(both, reader_role=Role.CLIENT, client_name="Al", key_worker_name="Kim") == (
        "your signature and your key worker Kim's"
    )
    assert waiting_for(both, reader_role=Role.KEY_WORKER, client_name="Al") == (
        "your signature and Al's"
    )
    assert waiting_for((Role.CLIENT,), reader_role=Role.CLIENT, client_name="Al") == (
        "your signature"
    )
    assert waiting_for(
        (Role.KEY_WORKER,), reader_role=Role.CLIENT, client_name="Al", key_worker_name="Kim"
    ) == ("your key worker Kim's signature")
    assert waiting_for(
        both, reader_role=Role.SUPERVISOR, client_name="Al", key_worker_name="Kim"
    ) == ("Al's and Kim's signatures")
    # No key worker (the client left the service): not "your key worker".
    assert waiting_for((Role.KEY_WORKER,), reader_role=Role.CLIENT, client_name="Al") == (
        "a key worker's signature"
    )
    assert waiting_for(both, reader_role=Role.ADVOCATE, client_name="Al") == (
        "Al's and a key worker's signatures"
    )


def test_roles_are_read_from_values_and_labels_and_names_print_alone():
    assert role_of("key worker") is Role.KEY_WORKER and role_of("administrator") is Role.ADMIN
    assert role_of("system") is None and role_of("") is None
    assert str(Named("Kim", "key_worker", 3)) == "Kim" and not Named("")
    assert closed("Kim, your key worker") == "Kim, your key worker," and closed("you") == "you"


def test_a_key_worker_who_no_longer_holds_the_client_is_a_former_one():
    def said(**kw):
        return person("Kim", Role.KEY_WORKER, is_reader=False, former=True, **kw)

    assert said(reader_is_client=True) == "Kim, your former key worker"
    assert said(reader_is_client=False, client_name="Alex") == "Kim, Alex's former key worker"
    assert said(reader_is_client=False) == "Kim, a former key worker"
    # Only key workers are former ones; the reader is still "you".
    assert person("Ash", Role.ADVOCATE, is_reader=False, reader_is_client=True, former=True) == (
        "Ash, your advocate"
    )
    assert person("Kim", Role.KEY_WORKER, is_reader=True, reader_is_client=False, former=True) == (
        "you"
    )


def test_a_key_worker_who_never_held_the_client_is_a_key_worker_as_the_access_log_says():
    for reader_is_client, client_name in ((True, ""), (False, "Alex"), (False, "")):
        assert person("Sam", Role.KEY_WORKER, is_reader=False, reader_is_client=reader_is_client,
                      client_name=client_name, never_theirs=True) == "Sam, a key worker"  # fmt: skip
    assert in_access_log("Sam", Role.KEY_WORKER, theirs_then=False, theirs_now=False) == (
        "Sam, a key worker"
    )
    assert person("Sam", Role.KEY_WORKER, is_reader=True, reader_is_client=False,
                  never_theirs=True) == "you"  # fmt: skip


def test_the_access_log_names_a_key_worker_by_what_they_were_then_and_are_now():
    def said(then, now):
        return in_access_log("Lee", Role.KEY_WORKER, theirs_then=then, theirs_now=now)

    assert said(True, True) == "Lee, your key worker"
    assert said(True, False) == "Lee, your former key worker"
    assert said(False, True) == "Lee, now your key worker"  # read before taking over
    assert said(False, False) == "Lee, a key worker"  # a colleague answering a call for help
    kwargs = {"theirs_then": False, "theirs_now": False}
    assert in_access_log("Lee", Role.KEY_WORKER, **kwargs, taking_over=True) == (
        "Lee, who is taking over as your key worker"
    )
    # Held the client earlier, reading since as a colleague answering a call for help.
    assert in_access_log("Kim", Role.KEY_WORKER, **kwargs, theirs_before=True) == (
        "Kim, your former key worker"
    )
    assert in_access_log("Ash", Role.ADVOCATE, **kwargs) == "Ash, your advocate"
    assert in_access_log("Ash", Role.ADVOCATE, **kwargs, advocate_now=False) == (
        "Ash, your former advocate"
    )
    for then, now in ((True, True), (False, False)):
        assert in_access_log("Sam", "supervisor", theirs_then=then, theirs_now=now) == (
            "Sam, a supervisor"
        )


def test_both_of_you_only_to_the_two_who_sign():
    assert both_of(reader_is_party=True, client_name="Al") == "both of you"
    assert both_of(reader_is_party=False, client_name="Al") == "both Al and their key worker"
    assert both_of(reader_is_party=False, client_name="Al", former=True) == (
        "both Al and their former key worker"
    )


def test_a_client_handed_over_without_a_key_worker_is_not_told_who_it_is_until_then():
    assert handover_coming_notice("Lee", "Kim").endswith(
        "what matters to you. Until then, Kim is still your key worker."
    )
    assert handover_coming_notice("Lee").endswith("so they know what matters to you.")


def test_several_people_in_one_sentence_stay_apart():
    from careplan.domain.wording import everyone

    assert everyone(["you"]) == "you"
    assert everyone(["you", "Kim, your key worker"]) == "you and Kim, your key worker"
    assert everyone(["Alex", "Kim", "Sam"]) == "Alex, Kim, and Sam"
    assert (
        everyone(["you", "Kim, your key worker", "Sam, your advocate"])
        == "you; Kim, your key worker; and Sam, your advocate"
    )


def test_the_crisis_plan_is_the_client_s_by_the_name_they_go_by_and_yours_only_to_them():
    """A key worker read "the plan for when you are not well" as if they were the client."""
    assert unwell_plan("Al", reader_is_client=True) == "the plan for when you are not well"
    assert unwell_plan("Al", reader_is_client=False) == "the plan for when Al is not well"


def test_an_advocate_is_told_whom_a_review_waits_for_even_with_no_name_for_them():
    kw = review_confirmed_advocate_notice(
        "Kim", Role.KEY_WORKER, client_name="Al", title="Care plan"
    )
    assert kw == (
        "Kim, Al's key worker, confirmed the review of Al's care plan with no changes. The "
        "review is done once Al confirms too."
    )
    client = review_confirmed_advocate_notice(
        "Alex", Role.CLIENT, client_name="Al", title="Care plan"
    )
    assert client.endswith("The review is done once their key worker confirms too.")


def test_a_review_done_without_a_next_date_says_none():
    done = review_done_notice(
        "Al", Role.CLIENT, reader_is_client=False, client_name="Al", title="Care plan"
    )
    assert done == "Al confirmed too: the review of their care plan is done, with no changes."


def test_a_title_inside_a_sentence_keeps_its_names_and_abbreviations():
    from careplan.domain.wording import comment_notice, in_sentence

    title = "Partnership agreement (shared care with my GP practice)"
    assert in_sentence(title) == "partnership agreement (shared care with my GP practice)"
    assert in_sentence("GP shared care") == "GP shared care"
    assert in_sentence("Care plan for Sam") == "care plan for Sam"
    assert in_sentence("A") == "a"
    said = comment_notice(
        "Kim",
        Role.KEY_WORKER,
        reader_is_client=True,
        client_name="Bea",
        title=title,
        section="Money",
        version=1,
    )
    assert said.endswith("of your partnership agreement (shared care with my GP practice).")


def test_a_message_shown_without_its_quoted_words_ends_where_they_began():
    message = declined_notice(
        "Alex", Role.CLIENT, reader_is_client=False, client_name="Alex", title="Care plan",
        version=2, reason="Mine, saying: no",
    )  # fmt: skip
    assert without_words_quoted(message) == "Alex declined to sign version 2 of their care plan."
    assert without_words_quoted("Alex commented.") == "Alex commented."


def test_both_of_two_where_the_client_has_no_key_worker_now():
    assert both_of(reader_is_party=True, client_name="Al", no_key_worker=True) == (
        "you and a key worker"
    )
    assert both_of(reader_is_party=False, client_name="Al", no_key_worker=True) == (
        "both Al and a key worker"
    )
