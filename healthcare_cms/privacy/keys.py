"""Which field names hold patient data, whatever the shape of their value.

Used for dict keys (Sentry events, logging `extra`), for keys written inside text (Python
reprs, JSON, `key=value`) and for the job args view. A key is split into words ("patientName",
"data_nascimento", "E-mail" -> patient/name, data/nascimento, e/mail) and compared without
accents or case.
"""

from __future__ import annotations

import re

from healthcare_cms.privacy.names import fold, word_set

# Labels, by the kind of data a key holds.
NAME, CPF, CNS, EMAIL, PHONE, ADDRESS, DATE, CEP, ID = (
    "NAME",
    "CPF",
    "CNS",
    "EMAIL",
    "PHONE",
    "ADDRESS",
    "DATE",
    "CEP",
    "ID",
)

# Found anywhere in the key's joined words ("nomecompleto", "patient_email", "dataNascimento").
_KIND_OF_FRAGMENT: tuple[tuple[str, str], ...] = (
    ("cpf", CPF),
    ("cns", CNS),
    ("email", EMAIL),
    ("telefone", PHONE),
    ("phone", PHONE),
    ("celular", PHONE),
    ("whatsapp", PHONE),
    ("endereco", ADDRESS),
    ("address", ADDRESS),
    ("logradouro", ADDRESS),
    ("nascimento", DATE),
    ("birth", DATE),
    ("paciente", NAME),
    ("patient", NAME),
    ("nome", NAME),
    ("surname", NAME),
    ("firstname", NAME),
    ("lastname", NAME),
    ("fullname", NAME),
    ("givenname", NAME),
    ("familyname", NAME),
    ("middlename", NAME),
)
# Only as a whole word: "cep" is inside "exception", "rg" inside "args", "name" in "filename".
_KIND_OF_WORD: dict[str, str] = {
    "name": NAME,
    "mae": NAME,
    "cep": CEP,
    "zip": CEP,
    "zipcode": CEP,
    "postcode": CEP,
    "rg": ID,
    "ssn": ID,
    "dob": DATE,
    "mail": EMAIL,
    "fone": PHONE,
    "tel": PHONE,
    "mobile": PHONE,
}
# A key with one of these words names a thing of the system, not a person: "worker_name",
# "server_name", "email_type", "patient_id" (an internal id; an identifier-shaped number is
# still masked by its shape).
_TECHNICAL_WORDS: frozenset[str] = word_set(
    """
    server host hostname file worker queue class module function func app model field table
    column index constraint schema database db task job cluster node logger event metric tag
    type kind sdk os runtime browser device package thread process service env environment
    transaction span op url route view template setting attr attribute param var cron plan
    policy role group permission codename action check state status alert report stage
    analyzer plugin domain bucket key lock channel site id ids pk pks count total version
    """
)

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORDS = re.compile(r"[a-z0-9]+")


def key_words(key: str) -> list[str]:
    """The words of a key, folded: "dataNascimento_Paciente" -> data, nascimento, paciente."""
    return _WORDS.findall(fold(_CAMEL_BOUNDARY.sub("_", key)))


def sensitive_key_kind(key: object) -> str | None:
    """The label of the data a key holds ("NAME", "CPF", ...), or None for an ordinary key."""
    if not isinstance(key, str) or not key or len(key) > 80:
        return None
    words = key_words(key)
    if not words or _TECHNICAL_WORDS.intersection(words):
        return None
    joined = "".join(words)
    for fragment, kind in _KIND_OF_FRAGMENT:
        if fragment in joined:
            return kind
    for word in words:
        if word in _KIND_OF_WORD:
            return _KIND_OF_WORD[word]
    return None
