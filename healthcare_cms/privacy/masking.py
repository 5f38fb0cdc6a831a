"""Mask patient data in free text before it reaches a log, a stored job error or Sentry.

Masking is deliberately broader than detection: anything shaped like an identifier is masked,
whether or not its check digits are valid, because a typo'd CPF is still a person's CPF. Three
passes, in this order:

1. values of patient-data keys written in the text: Python reprs and JSON (`'nome': ...`,
   `"cpf": 123`), `key=value` (kwargs, query strings) and labels in prose (`Paciente: ...`,
   `CPF: ...`), whatever the value looks like;
2. identifier shapes: e-mails, dates, CNS, CPF, phones, CEP, RG, with dots, dashes, slashes,
   spaces or nothing between the groups;
3. names: after a title or role ("Sr.", "Dra.", "Dona", "Paciente", "Patient") in any case,
   and common Brazilian given names followed by a surname-shaped word ("maria silva").

Ordinary engine text (exception names, tracebacks, SQL errors, dotted class paths) is kept
readable: tests/privacy/test_masking.py holds the examples that must survive unchanged.
Every pattern is linear in the text's length (no nested quantifiers over the same characters).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from healthcare_cms.privacy import keys
from healthcare_cms.privacy.names import (
    ENGLISH_TITLES_WITH_STOP,
    GIVEN_NAMES,
    PARTICLES,
    ROLE_TITLES,
    STOP_WORDS,
    TITLES_WITH_STOP,
    WORD_TITLES,
    fold,
)

REDACTED = "REDACTED"
MAX_NAME_WORDS = 6

# --- pass 1: values of patient-data keys --------------------------------------------------

# 'nome': / "cpf": / \"email\": (JSON inside a JSON string) / "name" = (SQL)
_QUOTED_KEY = re.compile(
    r"""(?P<q>\\?['"])(?P<key>[^'"\\\n]{1,80})(?P=q)[ \t]*(?::|=(?!=))[ \t]*"""
)
# name=Maria+Silva / cpf=529... / birth=datetime.date(1980, 2, 1)
_BARE_KEY = re.compile(r"(?<![\w.\-'\"])(?P<key>[A-Za-z_][\w\-]{0,79})[ \t]*=(?!=)[ \t]*")
# A PostgreSQL constraint error: DETAIL:  Key (nome, cpf)=(Maria Silva, 52998224725) ...
_SQL_KEY = re.compile(r"\((?P<key>[^()\n]{1,80})\)=(?=\()")
# Labels in prose, followed by a colon: "Paciente: Maria", "CPF: 529 982 247 25".
_PROSE_LABEL = re.compile(
    r"(?<!\w)(?P<key>"
    r"nome(?:[ \t]+(?:completo|social|d[oa][ \t]+paciente|d[ao][ \t]+m[ãa]e))?|paciente|"
    r"patient(?:[ \t]+name)?|full[ \t]+name|respons[áa]vel|m[ãa]e|"
    r"endere[çc]o|logradouro|data[ \t]+de[ \t]+nascimento|nascimento|nasc\.?|dn|dob|"
    r"date[ \t]+of[ \t]+birth|birth[ \t]*date|"
    r"cpf|cns|rg|cep|telefone|celular|fone|tel\.?|e-?mail"
    r")[ \t]*:[ \t]*",
    re.IGNORECASE,
)
_PROSE_KIND = {
    "cpf": keys.CPF,
    "cns": keys.CNS,
    "rg": keys.ID,
    "cep": keys.CEP,
    "email": keys.EMAIL,
    "e-mail": keys.EMAIL,
}
_TOKEN = re.compile(r"[^\s,;]*")
_DIGITS_VALUE = re.compile(r"[\d(+][\d .\-/()xX+]*")
_LABEL = re.compile(r"\[(?:NAME|CPF|CNS|EMAIL|PHONE|ADDRESS|DATE|CEP|ID|REDACTED)[^\]\n]*\]")
_OPENERS = {"{": "}", "[": "]", "(": ")"}
_CLOSERS = set(_OPENERS.values())


def _prose_kind(label: str) -> str:
    word = fold(label).rstrip(".")
    if word in _PROSE_KIND:
        return _PROSE_KIND[word]
    if word.startswith(("endereco", "logradouro")):
        return keys.ADDRESS
    if word.startswith(("tel", "fone", "celular")):
        return keys.PHONE
    if "nasc" in word or "birth" in word or word in ("dn", "dob"):
        return keys.DATE
    return keys.NAME


def _quoted_end(text: str, start: int, quote: str) -> int:
    """Index just past the closing `quote` of a string starting at `start` (at the quote), or
    the end of the line when the string is cut off."""
    i = start + len(quote)
    while i < len(text):
        if text.startswith(quote, i) and (len(quote) == 2 or text[i - 1] != "\\"):
            return i + len(quote)
        if text[i] == "\n":
            return i
        i += 1
    return i


def _bracketed_end(text: str, start: int, *, stop: str) -> int:
    """End of a value that is not a quoted string: up to the first of `stop` outside brackets
    and quotes (a nested dict, a list, `datetime.date(1980, 2, 1)`, a number)."""
    depth = 0
    i = start
    while i < len(text):
        ch = text[i]
        if ch in "'\"":
            i = _quoted_end(text, i, ch)
            continue
        if ch in _OPENERS:
            depth += 1
        elif ch in _CLOSERS:
            if depth == 0:
                return i
            depth -= 1
        elif depth == 0 and (ch in stop or ch == "\n"):
            return i
        i += 1
    return i


def _value_end(text: str, start: int, kind: str, *, bare: bool) -> int:
    """Where the value of a patient-data key that starts at `start` ends."""
    if start >= len(text):
        return start
    if text[start] in _OPENERS:
        # a nested dict, list or tuple: up to its own closing bracket
        end = _bracketed_end(text, start + 1, stop="")
        return min(end + 1, len(text))
    if bare:
        end = _bracketed_end(text, start, stop=",;& \t")
    else:
        end = _bracketed_end(text, start, stop=",;")
    if kind == keys.NAME and text[start] not in "{[(":
        # name=Maria Silva: the words after the first belong to the value too
        end = max(end, _name_end(text, start))
    return end


def _mask_key_values(
    text: str, pattern: re.Pattern[str], kind_of: Callable[[str], str | None], *, bare: bool
) -> str:
    out: list[str] = []
    position = 0
    for match in pattern.finditer(text):
        if match.start() < position:
            continue  # inside a value masked already
        kind = kind_of(match.group("key"))
        if kind is None:
            continue
        start = match.end()
        quote = _opening_quote(text, start)
        if _LABEL.match(text, start + len(quote)):
            continue  # masked already (text shown again after it was stored masked)
        if quote:
            end = _quoted_end(text, start, quote)
            inner_end = end - len(quote) if text.startswith(quote, end - len(quote)) else end
            if inner_end <= start + len(quote):
                continue  # an empty string holds nothing
            out.append(text[position : start + len(quote)])
            out.append(f"[{kind}]")
            position = inner_end
            continue
        end = _value_end(text, start, kind, bare=bare)
        value = text[start:end].rstrip()
        if not value or value in ("None", "null"):
            continue
        label_quote = match.groupdict().get("q") or ""
        out.append(text[position:start])
        out.append(f"{label_quote}[{kind if value[0] not in _OPENERS else REDACTED}]{label_quote}")
        position = start + len(value)
    out.append(text[position:])
    return "".join(out)


def _opening_quote(text: str, start: int) -> str:
    if text.startswith(('\\"', "\\'"), start):
        return text[start : start + 2]
    if start < len(text) and text[start] in "'\"":
        return text[start]
    return ""


def _identifier_kind(key: str) -> str | None:
    return keys.sensitive_key_kind(key.replace("\\", ""))


def _mask_prose_labels(text: str) -> str:
    out: list[str] = []
    position = 0
    for match in _PROSE_LABEL.finditer(text):
        if match.start() < position:
            continue
        kind = _prose_kind(match.group("key"))
        start = match.end()
        if start >= len(text) or text[start] in "'\"{[" or _LABEL.match(text, start):
            continue  # a quoted value: the repr/JSON pass owns it
        if kind == keys.NAME:
            end = _name_end(text, start)
        elif kind == keys.ADDRESS:
            end = _bracketed_end(text, start, stop=";&")
        elif kind == keys.EMAIL:
            end = _TOKEN.match(text, start).end()
        else:
            digits = _DIGITS_VALUE.match(text, start)
            end = digits.end() if digits else start
        value = text[start:end].rstrip()
        if not value:
            continue
        out.append(text[position:start])
        out.append(f"[{kind}]")
        position = start + len(value)
    out.append(text[position:])
    return "".join(out)


# --- pass 2: identifier shapes ------------------------------------------------------------

# Between the groups of an identifier: a dot, dash or slash (spaces around it allowed), or
# nothing; or else spaces between every group ("529 982 247 25"). Spaces only where every group
# has them, so two numbers side by side ("100 01310100") are not read as one CPF.
_PUNCT = r"(?:[ \t]*[.\-/][ \t]*)"
# Phones mix them: "(11) 98765-4321", "11 98765 4321".
_SEP = r"(?:[ \t]*[.\-/][ \t]*|[ \t]+)"


def _grouped(*groups: str, after: str = r"(?!\d)") -> re.Pattern[str]:
    """`groups` (regexes of digit groups) joined by punctuation or nothing, or all by spaces."""
    punctuated = f"{_PUNCT}?".join(groups)
    spaced = "[ \t]+".join(groups)
    return re.compile(rf"(?<!\d)(?:{punctuated}|{spaced}){after}")


def _keep_unless_midnight(match: re.Match[str]) -> str:
    """An ISO date with a time of day is a timestamp (kept); a bare date, or one at midnight
    (a birth date stored as a datetime), is masked."""
    time = match.group("time")
    if time and re.search(r"[1-9]", time):
        return match.group(0)
    return "[DATE]"


_PATTERNS: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r"(?<![\w.+\-])[\w.+\-]+(?:@|%40)[\w\-]+(?:\.[\w\-]+)+"), "[EMAIL]"),
    (
        re.compile(
            r"(?:datetime\.)?date\([ \t]*\d{4}[ \t]*,[ \t]*\d{1,2}[ \t]*,[ \t]*\d{1,2}[ \t]*\)"
        ),
        "[DATE]",
    ),
    # ISO and yyyy/mm/dd dates.
    (
        re.compile(
            r"(?<![\d.])(?:1[89]|20)\d{2}(?P<s>[\-/])(?:0?[1-9]|1[0-2])(?P=s)"
            r"(?:0?[1-9]|[12]\d|3[01])(?!\d)"
            r"(?P<time>(?:T|[ \t]+)\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
        ),
        _keep_unless_midnight,
    ),
    # dd/mm/yyyy, dd-mm-yyyy, dd.mm.yyyy (the dotted form only with a four-digit year).
    (re.compile(r"(?<![\d.])\d{1,2}(?P<s>[/\-])\d{1,2}(?P=s)\d{2,4}(?!\d)"), "[DATE]"),
    (re.compile(r"(?<![\d.])\d{1,2}\.\d{1,2}\.(?:1[89]|20)\d{2}(?!\d)(?!\.\d)"), "[DATE]"),
    # Longer identifiers first, so a CNS is not half-masked as a CPF.
    (_grouped(r"\d{3}", r"\d{4}", r"\d{4}", r"\d{4}"), "[CNS]"),
    (_grouped(r"\d{3}", r"\d{3}", r"\d{3}", r"\d{2}"), "[CPF]"),
    # Phones with area code, optionally +55: (11) 98765-4321, 11 3456 7890, +5511987654321.
    (
        re.compile(
            rf"(?<![\d+])(?:\+?[ \t]?55{_SEP}?)?"
            rf"(?:\([ \t]?\d{{2}}[ \t]?\)[ \t]*|\d{{2}}{_SEP}?)"
            rf"(?:9{_SEP}?)?\d{{4}}{_SEP}?\d{{4}}(?!\d)"
        ),
        "[PHONE]",
    ),
    # Phones without area code: 98765-4321, 9 8765 4321, 987654321, 3456-7890.
    (
        re.compile(rf"(?<![\d+])(?:9{_SEP}?\d{{4}}{_SEP}?|[2-9]\d{{3}}{_SEP})\d{{4}}(?!\d)"),
        "[PHONE]",
    ),
    # RG (state formats vary: 12.345.678-9, 12.345.678-X, 123456789) before CEP, which
    # shares its first groups.
    (_grouped(r"\d{1,2}", r"\d{3}", r"\d{3}", r"[\dXx]", after=r"(?![\dA-Za-z])"), "[ID]"),
    # CEP: 01310-100, 01310100, 01310 100, and 01.310-100 (dotted only with its dash:
    # "09:25:49.123456" is a time).
    (_grouped(r"\d{5}", r"\d{3}"), "[CEP]"),
    (re.compile(r"(?<!\d)\d{2}\.\d{3}[ \t]*-[ \t]*\d{3}(?!\d)"), "[CEP]"),
)


# --- pass 3: names --------------------------------------------------------------------------

_WORD = re.compile(r"[^\W\d_]+(?:['\u2019\-][^\W\d_]+)*")
# What may stand between two words of one name: spaces, or a URL's "+" / "%20".
_NAME_GAP = re.compile(r"(?:[ \t]|\+|%20)+")
_TITLE_GAP = re.compile(r"\.?(?:[ \t]|\+|%20)*|\.")


def _shape(word: str) -> str:
    if word.isupper():
        return "upper"
    if word.islower():
        return "lower"
    return "title" if word[0].isupper() else "mixed"


def _name_word_ok(word: str, first_shape: str | None) -> bool:
    """Whether `word` can continue a name whose first word had `first_shape`."""
    folded = fold(word)
    if folded in PARTICLES:
        return True
    if folded in STOP_WORDS or len(word) < 2:
        return False
    # "Maria Silva failed": a capitalised name ends at the first lower-case word
    return not (first_shape in ("title", "upper") and _shape(word) == "lower")


def _name_words(text: str, start: int, *, max_words: int = MAX_NAME_WORDS) -> list[re.Match[str]]:
    """The words of a name starting at `start`, ending at punctuation, a stop word, a word of
    another case than the first, or MAX_NAME_WORDS."""
    words: list[re.Match[str]] = []
    position = start
    first_shape: str | None = None
    while len(words) < max_words:
        if words:
            gap = _NAME_GAP.match(text, position)
            if gap is None or gap.end() == position:
                break
            position = gap.end()
        word = _WORD.match(text, position)
        if word is None or not _name_word_ok(word.group(0), first_shape):
            break
        if first_shape is None:
            if fold(word.group(0)) in PARTICLES:
                break
            first_shape = _shape(word.group(0))
        words.append(word)
        position = word.end()
    while words and fold(words[-1].group(0)) in PARTICLES:
        words.pop()  # "Maria da" + something that is not a name: keep the particle
    return words


def _name_end(text: str, start: int) -> int:
    words = _name_words(text, start)
    return words[-1].end() if words else start


def _is_title(word: str, text: str, end: int) -> bool:
    folded = fold(word)
    has_stop = text.startswith(".", end)
    capitalised = word[0].isupper()
    if folded in ROLE_TITLES:
        return True
    if folded in TITLES_WITH_STOP:
        return has_stop or capitalised
    if folded in ENGLISH_TITLES_WITH_STOP or folded in WORD_TITLES:
        return capitalised
    return False


def _mask_names(text: str) -> str:
    out: list[str] = []
    position = 0
    for word in _WORD.finditer(text):
        if word.start() < position:
            continue
        if word.start() > 0 and text[word.start() - 1] in "[_./\\":
            continue  # a label we wrote, or part of an identifier or a path
        value = word.group(0)
        if _is_title(value, text, word.end()):
            gap = _TITLE_GAP.match(text, word.end())
            start = gap.end() if gap else word.end()
            if start == word.end() and not text.startswith(".", word.end()):
                continue  # "Patient42", "Paciente-Silva": not a title followed by a name
            names = _name_words(text, start)
            if names:
                out.append(text[position:start])
                out.append("[NAME]")
                position = names[-1].end()
            continue
        if fold(value) in GIVEN_NAMES:
            names = _name_words(text, word.start())
            if len(names) >= 2:
                out.append(text[position : word.start()])
                out.append("[NAME]")
                position = names[-1].end()
    out.append(text[position:])
    return "".join(out)


_OPAQUE_ID = re.compile(
    r"(?<![0-9A-Za-z])("
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|"
    r"(?=[0-9a-fA-F]*[a-fA-F])(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{16,}"
    r")(?![0-9A-Za-z])"
)
_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def _unescape_letter(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return char if char.isalpha() else match.group(0)


def mask_patient_data(text: str) -> str:
    """Return `text` with identifiers, contacts, dates, names and patient-data fields replaced
    by labels such as [CPF] and [NAME]."""
    if not text:
        return text
    # JSON written with ensure_ascii: "Jo\u00e3o" is read (and shown) as "João", so that the
    # name pass sees the word.
    text = _UNICODE_ESCAPE.sub(_unescape_letter, text)
    text = _mask_key_values(text, _QUOTED_KEY, _identifier_kind, bare=False)
    text = _mask_key_values(text, _BARE_KEY, keys.sensitive_key_kind, bare=True)
    text = _mask_key_values(text, _SQL_KEY, keys.sensitive_key_kind, bare=False)
    text = _mask_prose_labels(text)
    # UUIDs and hashes (access ids, event ids, uniqueness keys) are not identifiers of people,
    # but their digit runs can look like one: they are left out of the shape and name passes.
    pieces = _OPAQUE_ID.split(text)
    for index in range(0, len(pieces), 2):
        piece = pieces[index]
        for pattern, label in _PATTERNS:
            piece = pattern.sub(label, piece)
        pieces[index] = _mask_names(piece)
    return "".join(pieces)
