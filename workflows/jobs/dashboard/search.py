"""The job search syntax, parsed without a database.

    worker:EmailWorker  queue:email,default  state:discarded  tags:nightly  id:12,13
    node:web-1  priority:0,1  args.post.id:42  meta.cron_slot:"2026-12-01T07:00:00+00:00"
    Email                       (free text: a worker whose dotted path contains it)

Terms are separated by spaces (quote a value with spaces); a comma lists values of which any
may match; different terms must all match. An unknown key, a bad state or id is a
SearchError whose message says what is allowed.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from workflows.jobs.policy.states import ALL_STATES
from workflows.jobs.policy.validation import MAX_JOB_ID

LIST_KEYS = ("worker", "queue", "state", "tags", "id", "node", "priority")
PATH_KEYS = ("args", "meta")
MASK = "***"


class SearchError(ValueError):
    """A search the dashboard cannot run; the message is shown to the user as it is."""


@dataclass(frozen=True)
class Term:
    key: str  # one of LIST_KEYS or PATH_KEYS
    values: tuple[str, ...]
    path: tuple[str, ...] = ()  # for args and meta: the keys down to the value

    @property
    def label(self) -> str:
        return ".".join((self.key, *self.path))


@dataclass(frozen=True)
class Search:
    terms: tuple[Term, ...] = ()
    text: tuple[str, ...] = field(default=())  # free words, matched against the worker

    def __bool__(self) -> bool:
        return bool(self.terms or self.text)

    def terms_of(self, key: str) -> list[Term]:
        return [term for term in self.terms if term.key == key]

    @property
    def searches_data(self) -> bool:
        """Does it look into args or meta (which only some roles may search)?"""
        return any(term.key in PATH_KEYS for term in self.terms)

    def without(self, key: str) -> Search:
        return Search(tuple(t for t in self.terms if t.key != key), self.text)

    def as_text(self, *, masked: bool = False) -> str:
        """The search written back in its syntax; masked: args and meta values as ***."""
        parts = [_quoted(word) for word in self.text]
        for term in self.terms:
            shown = MASK if masked and term.key in PATH_KEYS else ",".join(term.values)
            parts.append(f"{term.label}:{_quoted(shown)}")
        return " ".join(parts)

    def masked(self) -> str:
        """The search as text with args and meta values hidden: for the audit log."""
        return self.as_text(masked=True)


def _quoted(value: str) -> str:
    return shlex.quote(value) if any(c.isspace() for c in value) or not value else value


def _known_keys() -> str:
    return ", ".join([f"{key}:" for key in LIST_KEYS] + ["args.<path>:", "meta.<path>:"])


def _check_values(key: str, values: tuple[str, ...]) -> None:
    if key == "state":
        wrong = [v for v in values if v not in ALL_STATES]
        if wrong:
            raise SearchError(
                f"unknown state {wrong[0]!r} in state:; states are {', '.join(ALL_STATES)}."
            )
    elif key == "id":
        for value in values:
            if not value.isdigit() or not 1 <= int(value) <= MAX_JOB_ID:
                raise SearchError(
                    f"id: takes job ids (whole numbers, comma-separated); got {value!r}."
                )
    elif key == "priority":
        for value in values:
            if not value.isdigit() or not 0 <= int(value) <= 9:
                raise SearchError(f"priority: takes 0 to 9 (comma-separated); got {value!r}.")


def parse_search(text: str) -> Search:
    """The Search that `text` describes, or a SearchError saying what is wrong."""
    try:
        tokens = shlex.split(text or "")
    except ValueError as error:
        raise SearchError(f"cannot read the search ({error}): close the quote.") from None
    terms: list[Term] = []
    words: list[str] = []
    for token in tokens:
        if ":" not in token:
            words.append(token)
            continue
        key, value = token.split(":", 1)
        name, _, rest = key.partition(".")
        if not value:
            raise SearchError(f"give a value after {key}: (for example {key}:value).")
        if name in PATH_KEYS:
            path = tuple(rest.split(".")) if rest else ()
            if not path or not all(path):
                raise SearchError(f"{key}: needs a path to a value, for example {name}.post_id:42.")
            terms.append(Term(name, (value,), path))
        elif key in LIST_KEYS:
            values = tuple(v for v in value.split(",") if v)
            _check_values(key, values)
            terms.append(Term(key, values))
        else:
            raise SearchError(f"unknown search key {key!r}: use {_known_keys()} or free text.")
    return Search(tuple(terms), tuple(words))
