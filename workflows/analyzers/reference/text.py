"""Byte-level scanning primitives shared by the reference analyzers (mirrors plugins/common.h).

The reference works on the UTF-8 bytes, exactly like the C plugins, so both report the same byte
spans. Every function here has a C twin of the same name; change both together.
"""

from __future__ import annotations

from .lexicon import entries

# ASCII bytes that are word characters: letters, digits, underscore.
_WORD_ASCII = bytes(
    1 if (48 <= b <= 57 or 65 <= b <= 90 or 97 <= b <= 122 or b == 95) else 0 for b in range(128)
)
_FOLD_ASCII = bytes(b + 32 if 65 <= b <= 90 else b for b in range(256))
_SPACE_ASCII = frozenset(b" \t\n\r\x0b\x0c")
_SPACE_LEADS = (*sorted(_SPACE_ASCII), 0xC2)  # first bytes of whitespace (0xC2: NBSP)
MAX_FILLER_STEPS = 12


def fold(data: bytes) -> bytes:
    """Lower-case ASCII and the Latin-1 capitals À-Þ (except U+00D7) without changing any length.

    In UTF-8, U+00C0-U+00DE are C3 80-9E and their lower-case forms C3 A0-BE: the same length.
    """
    out = bytearray(data.translate(_FOLD_ASCII))
    i = out.find(0xC3)
    while i >= 0 and i + 1 < len(out):
        c = out[i + 1]
        if 0x80 <= c <= 0x9E and c != 0x97:
            out[i + 1] = c + 0x20
        i = out.find(0xC3, i + 1)
    return bytes(out)


def ch(f: bytes, i: int, n: int) -> int:
    """The byte at i, or -1 past the end."""
    return f[i] if i < n else -1


def is_digit(b: int) -> bool:
    return 48 <= b <= 57


def is_alpha(b: int) -> bool:
    return 65 <= b <= 90 or 97 <= b <= 122


def digits(f: bytes, p: int, k: int, n: int) -> bool:
    """k ASCII digits start at p."""
    if p + k > n:
        return False
    return all(48 <= f[i] <= 57 for i in range(p, p + k))


def char_len(b: int) -> int:
    if b < 0x80:
        return 1
    if 0xC0 <= b <= 0xDF:
        return 2
    if 0xE0 <= b <= 0xEF:
        return 3
    if 0xF0 <= b <= 0xF7:
        return 4
    return 1


def space_len(f: bytes, p: int, n: int) -> int:
    """Length of the whitespace character at p (ASCII space, tab, newlines, or NBSP), else 0."""
    if p >= n:
        return 0
    b = f[p]
    if b in _SPACE_ASCII:
        return 1
    if b == 0xC2 and p + 1 < n and f[p + 1] == 0xA0:
        return 2
    return 0


def word_at(f: bytes, p: int, n: int) -> bool:
    """A word character starts at p: ASCII letter/digit/underscore, or U+00C0-U+024F
    except U+00D7 and U+00F7 (multiplication and division signs)."""
    if p >= n:
        return False
    b = f[p]
    if b < 0x80:
        return _WORD_ASCII[b] == 1
    if p + 1 >= n:
        return False
    c = f[p + 1]
    if b == 0xC3:
        return 0x80 <= c <= 0xBF and c != 0x97 and c != 0xB7
    if 0xC4 <= b <= 0xC8:
        return 0x80 <= c <= 0xBF
    if b == 0xC9:
        return 0x80 <= c <= 0x8F
    return False


def word_before(f: bytes, p: int) -> bool:
    """A word character ends right before p."""
    if p <= 0:
        return False
    b = f[p - 1]
    if b < 0x80:
        return _WORD_ASCII[b] == 1
    if b <= 0xBF and p >= 2 and 0xC0 <= f[p - 2] <= 0xDF:
        return word_at(f, p - 2, p)
    return False


def letter_at(f: bytes, p: int, n: int) -> bool:
    return word_at(f, p, n) and not is_digit(f[p]) and f[p] != 95


def word_end(f: bytes, p: int, n: int) -> int:
    while word_at(f, p, n):
        p += char_len(f[p])
    return p


def num_start_ok(f: bytes, p: int) -> bool:
    """A number may start at p: not glued to a word, not inside 123.456 / 12-34 / 1,5 / 1/2."""
    if p == 0:
        return True
    if word_before(f, p):
        return False
    return not (f[p - 1] in b".,-/" and p >= 2 and is_digit(f[p - 2]))


def num_end_ok(f: bytes, e: int, n: int) -> bool:
    """A number may end at e: not glued to a word, and not continued by .5 / -5 / ,5 / /5."""
    if e >= n:
        return True
    if word_at(f, e, n):
        return False
    return not (f[e] in b".,-/" and e + 1 < n and is_digit(f[e + 1]))


def skip_filler(f: bytes, q: int, n: int) -> int:
    """Skip what sits between a label and its value: spaces, ':', '.', '-', '#', '=', 'nº', 'n°'."""
    for _ in range(MAX_FILLER_STEPS):
        if q >= n:
            break
        b = f[q]
        if b in b" \t\r\n:.-#=)":
            q += 1
        elif b == 0x6E and q + 2 < n and f[q + 1] == 0xC2 and f[q + 2] in (0xBA, 0xB0):
            q += 3
        elif b == 0xC2 and q + 1 < n and f[q + 1] in (0xBA, 0xB0, 0xA0):
            q += 2
        else:
            break
    return q


def _dotted_digits_end(f: bytes, r: int, n: int) -> int:
    e = r
    while e < n:
        if is_digit(f[e]) or (f[e] == 0x2E and e + 1 < n and is_digit(f[e + 1])):
            e += 1
        else:
            break
    return e


def crm_number_end(f: bytes, q: int, n: int) -> int:
    """After the word "crm": the end of "/SP 123.456", "-SP: 12.345", " 123456-SP"; else -1."""
    u = q
    if (
        u + 2 < n
        and f[u] in b"/- "
        and is_alpha(f[u + 1])
        and is_alpha(f[u + 2])
        and not word_at(f, u + 3, n)
    ):
        u += 3
    r = skip_filler(f, u, n)
    if r >= n or not is_digit(f[r]):
        return -1
    e = _dotted_digits_end(f, r, n)
    if (
        e + 2 < n
        and f[e] in b"-/"
        and is_alpha(f[e + 1])
        and is_alpha(f[e + 2])
        and not word_at(f, e + 3, n)
    ):
        e += 3
    return e


def rqe_number_end(f: bytes, q: int, n: int) -> int:
    """After the word "rqe": the end of " nº 1234" or ": 12.345"; else -1."""
    r = skip_filler(f, q, n)
    if r >= n or not is_digit(f[r]):
        return -1
    return _dotted_digits_end(f, r, n)


def sentences(f: bytes, n: int):
    """Yield (start, end) of each sentence: text up to a newline, or . ! ? before a space/end.

    Leading whitespace is skipped and trailing ASCII whitespace trimmed; the terminator is kept.
    """
    s = 0
    while True:
        while s < n:
            k = space_len(f, s, n)
            if not k:
                break
            s += k
        if s >= n:
            return
        e = s
        end = nxt = n
        while e < n:
            b = f[e]
            if b == 0x0A:
                end, nxt = e, e + 1
                break
            if b in b".!?" and (e + 1 >= n or space_len(f, e + 1, n)):
                end = nxt = e + 1
                break
            e += 1
        while end > s and f[end - 1] in b" \t\r\x0b\x0c":
            end -= 1
        yield s, end
        s = nxt


class Lexicon:
    """An analyzer's keywords, matched at a word start: the first entry in match order wins.

    Indexed by the first two bytes (a keyword space stands for any whitespace lead byte), which
    keeps the match order within each bucket: a speed-up only, like the C filter in lex_init.
    """

    def __init__(self, analyzer: str):
        self.index: dict[bytes, list[tuple[tuple[bytes, ...], int, bool]]] = {}
        for word, kind in entries(analyzer):
            check_keyword(word)
            entry = (tuple(word.split(b" ")), kind, keyword_end_boundary(word))
            seconds = _SPACE_LEADS if word[1] == 0x20 else (word[1],)
            for second in seconds:
                self.index.setdefault(bytes((word[0], second)), []).append(entry)

    def match(self, f: bytes, p: int, n: int) -> tuple[int, int]:
        """(kind, end) of the first keyword matching at p, or (-1, -1)."""
        if p + 1 >= n:  # every keyword has at least two bytes
            return -1, -1
        for parts, kind, end_boundary in self.index.get(f[p : p + 2], ()):
            e = match_parts(f, p, n, parts, end_boundary)
            if e >= 0:
                return kind, e
        return -1, -1


def keyword_end_boundary(word: bytes) -> bool:
    """A keyword ending in a word character must be followed by a non-word character."""
    i = len(word) - 1
    while i > 0 and 0x80 <= word[i] <= 0xBF:  # back to the first byte of the last character
        i -= 1
    return word_at(word, i, len(word))


def check_keyword(word: bytes) -> None:
    """Keywords must be folded, two bytes or more, start with a word character and use single
    inner spaces."""
    if fold(word) != word:
        raise ValueError(f"keyword {word!r} is not lower case; write it folded")
    if not word_at(word, 0, len(word)):
        raise ValueError(f"keyword {word!r} must start with a letter or digit")
    if len(word) < 2:
        raise ValueError(f"keyword {word!r} is shorter than two bytes")
    if word.startswith(b" ") or word.endswith(b" ") or b"  " in word:
        raise ValueError(f"keyword {word!r} has leading, trailing or double spaces")


def match_parts(f: bytes, p: int, n: int, parts: tuple[bytes, ...], end_boundary: bool) -> int:
    """Match a keyword's space-separated parts at p; a space matches any run of whitespace."""
    q = p
    last = len(parts) - 1
    for i, part in enumerate(parts):
        if not f.startswith(part, q, n):
            return -1
        q += len(part)
        if i < last:
            k = space_len(f, q, n)
            if not k:
                return -1
            while k:
                q += k
                k = space_len(f, q, n)
    if end_boundary and word_at(f, q, n):
        return -1
    return q


def prev_word(f: bytes, p: int) -> tuple[int, int]:
    """(start, end) of the word before p across spaces and tabs, or (p, p) when there is none."""
    e = p
    while e > 0 and f[e - 1] in (0x20, 0x09):
        e -= 1
    s = e
    while word_before(f, s):
        s -= 1 if f[s - 1] < 0x80 else 2
    return (s, e) if s < e else (p, p)


def span_in(f: bytes, s: int, e: int, words: tuple[bytes, ...]) -> bool:
    """The bytes f[s:e] are one of `words`."""
    return e > s and f[s:e] in words
