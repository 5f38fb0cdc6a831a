"""The search syntax, without a database: what each key parses to, and the messages."""

from __future__ import annotations

import pytest

from workflows.jobs.dashboard.search import SearchError, Term, parse_search


def test_each_key_becomes_one_term_and_words_are_free_text():
    search = parse_search(
        "worker:EmailWorker queue:email,default state:discarded tags:a id:1,2 node:n1 "
        'priority:0,9 args.post.id:42 meta.slot:"2026-12-01 07:00" Email'
    )
    assert search.terms == (
        Term("worker", ("EmailWorker",)),
        Term("queue", ("email", "default")),
        Term("state", ("discarded",)),
        Term("tags", ("a",)),
        Term("id", ("1", "2")),
        Term("node", ("n1",)),
        Term("priority", ("0", "9")),
        Term("args", ("42",), ("post", "id")),
        Term("meta", ("2026-12-01 07:00",), ("slot",)),
    )
    assert search.text == ("Email",)
    assert search.searches_data


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour:red", "unknown search key 'colour': use worker:, queue:, state:"),
        ("state:dead", "unknown state 'dead' in state:; states are available, scheduled"),
        ("id:12,abc", "id: takes job ids (whole numbers, comma-separated); got 'abc'."),
        ("priority:10", "priority: takes 0 to 9 (comma-separated); got '10'."),
        ("queue:", "give a value after queue: (for example queue:value)."),
        ("args.:1", "args.: needs a path to a value, for example args.post_id:42."),
        ('worker:"Email', "cannot read the search (No closing quotation): close the quote."),
    ],
)
def test_a_search_that_cannot_run_says_why(text, message):
    with pytest.raises(SearchError) as error:
        parse_search(text)
    assert message in str(error.value)


def test_the_masked_form_hides_args_and_meta_values_for_the_audit_log():
    search = parse_search("state:discarded args.patient.cpf:52998224725 meta.email:x@y.test")
    assert search.masked() == "state:discarded args.patient.cpf:*** meta.email:***"
