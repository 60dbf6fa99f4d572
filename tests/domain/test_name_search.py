from careplan.domain.name_search import MAX_TYPED, name_matches, search_words


def test_every_word_typed_must_be_in_the_names_in_any_order_and_case():
    assert name_matches("baker zo", "Zoë Baker")
    assert name_matches("  ZOE   ", "Zoë Baker")
    assert not name_matches("zoe smith", "Zoë Baker")
    assert not name_matches("bakers", "Zoë Baker")


def test_someone_is_found_by_the_name_they_go_by_as_well():
    assert name_matches("bee", "Beatrice Client", "Bee")
    assert name_matches("beatrice", "Beatrice Client", None)
    assert not name_matches("bee", "Beatrice Client", None)


def test_accents_and_case_are_ignored_both_ways():
    assert name_matches("Zoë", "Zoe Baker")
    assert name_matches("strasse", "Anna Straße")
    assert name_matches("łukasz", "Łukasz Nowak")
    # Letters of their own, typed as a keyboard without them would.
    assert name_matches("lukasz", "Łukasz Nowak")
    assert name_matches("soren aerо", "Søren Ærø") is False  # a Cyrillic "о" is not an "o"
    assert name_matches("soren aero", "Søren Ærø")
    assert name_matches("dorde", "Đorđe")
    assert name_matches("محمد", "محمد علي")


def test_nothing_typed_matches_everyone_and_long_text_is_cut():
    assert name_matches("", "Anyone")
    assert name_matches(None, "Anyone")
    assert search_words("  a \t b  ") == "a b"
    assert len(search_words("x" * 10_000)) == MAX_TYPED
    assert not name_matches("x" * 10_000, "Alex")


def test_apostrophes_of_any_kind_or_none_find_the_name():
    """A phone keyboard types "’", a desk keyboard "'", and many type none."""
    for typed in ("o'brien", "O’Brien", "obrien", "brien", "o‘brien", "oʼbrien"):
        assert name_matches(typed, "Zoë O'Brien"), typed
        assert name_matches(typed, "Zoë O’Brien"), typed
    assert not name_matches("o'briens", "Zoë O'Brien")
