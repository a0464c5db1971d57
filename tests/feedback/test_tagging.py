"""Service tagging: keyword rules from config, and the person's own choice first."""

import pytest

from feedback.errors import FeedbackConfigError
from feedback.tagging import ServiceTagger

RULES = {"webshop": ["checkout", "cart", "web shop"], "search": ["search", "results"]}


def test_keywords_and_service_names_tag_a_post():
    tagger = ServiceTagger(RULES)
    assert tagger.tag("The CHECKOUT fails") == "webshop"
    assert tagger.tag("the web   shop is down") == "webshop"
    assert tagger.tag("webshop is slow") == "webshop"
    assert tagger.tag("search results are empty") == "search"
    assert tagger.tag("nothing to see") is None


def test_whole_words_only_and_most_hits_win():
    tagger = ServiceTagger(RULES)
    assert tagger.tag("a cartoon") is None
    assert tagger.tag("search for cart items shows no search results") == "search"
    assert tagger.tag("cart and search") == "webshop"  # a tie goes to the first in config


def test_the_form_choice_wins_over_keywords():
    assert ServiceTagger(RULES).tag("checkout broken", hint="search") == "search"


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"bad name!": ["x"]}, "not a service name"),
        ({"shop": "checkout"}, "needs a list"),
        ({"shop": [""]}, "not a keyword"),
    ],
)
def test_bad_rules_are_named(rules, message):
    with pytest.raises(FeedbackConfigError, match=message):
        ServiceTagger(rules)
