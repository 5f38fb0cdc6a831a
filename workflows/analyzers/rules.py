"""Rule metadata as data: severity, legal reference and description of every finding a plugin can
report. The host attaches it to findings, so counsel can change a reference without a rebuild.

Legal references follow /shared/reference/compliance-rules.md (corrected). Where that document
marks an article number as not verified, `verified` is False and the description says so.
"""

from __future__ import annotations

from dataclasses import dataclass

SEVERITIES = ("low", "medium", "high", "critical")
UNVERIFIED = " Article number from secondary guides, not verified: confirm before showing users."

_SAFE_HARBOR = "HIPAA 45 CFR 164.514(b)(2) Safe Harbor"
_SAFE_HARBOR_I = "HIPAA 45 CFR 164.514(b)(2)(i)"
_LGPD_PERSONAL = "LGPD (Lei 13.709/2018) art. 5 I"
_LGPD_SENSITIVE = "LGPD (Lei 13.709/2018) art. 5 II and art. 11"
_CFM = "CFM Resolução 2.336/2023"
_ANVISA = "ANVISA RDC 96/2008 and Lei 9.294/1996 (articles not verified)"


@dataclass(frozen=True)
class Rule:
    id: str
    analyzer: str
    severity: str
    legal_reference: str
    description: str
    verified: bool = True


RULES: tuple[Rule, ...] = (
    # lgpd: identifiers (LGPD personal data; HIPAA identifier classes) and health context.
    Rule(
        "cpf",
        "lgpd",
        "critical",
        f"{_LGPD_PERSONAL}; {_SAFE_HARBOR} (unique identifying numbers)",
        "CPF with valid check digits (000.000.000-00 or 11 digits).",
    ),
    Rule(
        "cns",
        "lgpd",
        "critical",
        f"{_LGPD_PERSONAL}; {_SAFE_HARBOR} (health plan beneficiary numbers)",
        "Cartão Nacional de Saúde number that passes the definitive or provisional validation.",
    ),
    Rule(
        "rg",
        "lgpd",
        "high",
        f"{_LGPD_PERSONAL}; {_SAFE_HARBOR} (unique identifying numbers)",
        "Identity card number right after the label RG.",
    ),
    Rule(
        "phone",
        "lgpd",
        "medium",
        f"{_LGPD_PERSONAL}; {_SAFE_HARBOR} (telephone numbers)",
        "Brazilian phone number: mobile 9XXXX-XXXX, or landline [2-5]XXX-XXXX with a DDD.",
    ),
    Rule(
        "email",
        "lgpd",
        "medium",
        f"{_LGPD_PERSONAL}; {_SAFE_HARBOR} (e-mail addresses)",
        "E-mail address.",
    ),
    Rule(
        "cep",
        "lgpd",
        "low",
        f"{_LGPD_PERSONAL}; {_SAFE_HARBOR} (geographic subdivisions smaller than a state)",
        "CEP postal code 00000-000, or 8 digits right after the label CEP.",
    ),
    Rule(
        "birth_date",
        "lgpd",
        "high",
        f"{_LGPD_PERSONAL}; {_SAFE_HARBOR} (dates, birth date)",
        "Date of birth dd/mm/yyyy or in words ('3 de maio de 1980') next to a label such as"
        " 'nascido em', 'nasceu em', 'DN' or 'DOB'.",
    ),
    Rule(
        "patient_name",
        "lgpd",
        "high",
        f"{_LGPD_PERSONAL}; {_SAFE_HARBOR} (names)",
        "Capitalised name after a patient title (paciente, Sr., Sra., Patient, Mr., ...) or "
        "'nome:', after Dona/Seu, or without a title when its first word is a Brazilian given "
        "name (IBGE 2010 census gazetteer) followed by a surname. A physician's, author's or "
        "public figure's name is not reported.",
    ),
    Rule(
        "address",
        "lgpd",
        "medium",
        f"{_LGPD_PERSONAL}; {_SAFE_HARBOR_I}(B) (street address, geographic subdivisions smaller"
        " than a state)",
        "Street address: a street type (Rua, Av., Travessa...), a capitalised name and a number,"
        " with its complement (apto, bloco, sala), with or without a CEP.",
    ),
    Rule(
        "age_over_89",
        "lgpd",
        "high",
        f"{_LGPD_PERSONAL}; {_SAFE_HARBOR_I}(C) (all ages over 89)",
        "An age of 90 or more ('92 anos', 'idade: 94'), an identifier under Safe Harbor.",
    ),
    Rule(
        "medical_record",
        "lgpd",
        "critical",
        f"{_LGPD_PERSONAL}; {_SAFE_HARBOR_I}(H) (medical record numbers)",
        "Medical record number after a label (prontuário, registro hospitalar, MRN).",
    ),
    Rule(
        "health_plan_card",
        "lgpd",
        "critical",
        f"{_LGPD_PERSONAL}; {_SAFE_HARBOR_I}(I) (health plan beneficiary numbers)",
        "Health-plan card number after a label (carteirinha, carteira/cartão do plano, convênio).",
    ),
    Rule(
        "identifying_photo",
        "lgpd",
        "high",
        f"{_LGPD_PERSONAL}; {_SAFE_HARBOR_I}(Q) (full-face photographs and comparable images)",
        "A photo described as showing the patient ('foto do rosto da paciente', 'sem tarja').",
    ),
    Rule(
        "initials",
        "lgpd",
        "medium",
        f"{_LGPD_PERSONAL} (identifiable person); {_SAFE_HARBOR_I}(R) (other unique"
        " characteristic)",
        "A person's initials ('M.S.'): a quasi-identifier, scored with rare conditions, places and"
        " ages (see the quasi-identifier table).",
    ),
    Rule(
        "locality",
        "lgpd",
        "low",
        f"{_LGPD_PERSONAL} (identifiable person); {_SAFE_HARBOR_I}(B) (geographic subdivisions"
        " smaller than a state)",
        "A town or district ('Itaobim (MG)', 'município de Carmo do Rio Claro'): a"
        " quasi-identifier.",
    ),
    Rule(
        "age",
        "lgpd",
        "low",
        f"{_LGPD_PERSONAL} (identifiable person)",
        "An age up to 89 ('34 anos'): a quasi-identifier, not an identifier by itself.",
    ),
    Rule(
        "business_contact",
        "lgpd",
        "low",
        "LGPD (Lei 13.709/2018) art. 5 I (not patient data: the author's own contact); "
        f"{_CFM} art. 4 and art. 5 (identification of physicians and clinics)",
        "A phone, e-mail, CEP or address in a business context (a CRM or RQE number, a doctor's"
        " title or a clinic word near it, no patient marker before it on its line): the"
        " clinic's or physician's contact line, not patient data.",
    ),
    Rule(
        "rare_condition",
        "lgpd",
        "medium",
        _LGPD_SENSITIVE,
        "A rare condition (doença de Fabry, ELA...): health context that, with initials, a place"
        " or an age, can single out a patient.",
    ),
    Rule(
        "cid10",
        "lgpd",
        "high",
        _LGPD_SENSITIVE,
        "CID-10 diagnosis code (E11.9; bare E11 only after CID/ICD): health data.",
    ),
    Rule(
        "health_term",
        "lgpd",
        "medium",
        _LGPD_SENSITIVE,
        "Diagnosis, medicine or exam term (reference/lexicon.py HEALTH_TERMS): health context.",
    ),
    # claims: effect claims; the finding spans the sentence.
    Rule(
        "claim_cure",
        "claims",
        "high",
        f"{_ANVISA}; product spec S.3.1",
        "Sentence claiming a cure (cura, cure) that names a health context." + UNVERIFIED,
        verified=False,
    ),
    Rule(
        "claim_treat",
        "claims",
        "medium",
        f"{_ANVISA}; product spec S.3.1",
        "Sentence claiming to treat a condition (trata, treats) that names a health context."
        + UNVERIFIED,
        verified=False,
    ),
    Rule(
        "claim_eliminate",
        "claims",
        "medium",
        f"{_ANVISA}; product spec S.3.1",
        "Sentence claiming to eliminate something (elimina, eliminates) that names a health"
        " context." + UNVERIFIED,
        verified=False,
    ),
    Rule(
        "claim_prevent",
        "claims",
        "medium",
        f"{_ANVISA}; product spec S.3.1",
        "Sentence claiming prevention (previne, prevents) that names a health context."
        + UNVERIFIED,
        verified=False,
    ),
    Rule(
        "claim_reduce",
        "claims",
        "medium",
        f"{_ANVISA}; product spec S.3.1",
        "Sentence claiming a reduction (reduz, reduces) that names a health context." + UNVERIFIED,
        verified=False,
    ),
    Rule(
        "claim_guarantee",
        "claims",
        "high",
        f"{_CFM} art. 11 IV; art. 11 XII (number not verified); {_ANVISA}; product spec S.3.1",
        "Sentence with a guarantee (garante, guaranteed) that names a health context. Art. 11 IV is"
        " verified; XII (guaranteeing results) is not." + UNVERIFIED,
        verified=False,
    ),
    Rule(
        "claim_percentage",
        "claims",
        "medium",
        "Product spec S.3.1",
        "Sentence with a percentage (90%) and a health context (or patients/cases), a quantified"
        " efficacy claim that needs a source; not a price (desconto de 20%).",
    ),
    Rule(
        "claim_scientifically_proven",
        "claims",
        "high",
        f"{_ANVISA}; product spec S.3.1",
        "Sentence saying 'comprovado cientificamente' / 'scientifically proven' that names a"
        " health context." + UNVERIFIED,
        verified=False,
    ),
    Rule(
        "claim_unreferenced",
        "claims",
        "high",
        "Product spec S.3.1",
        "Claim sentence with no reference (DOI, PMID, doi.org, http(s) link) in it or in the"
        " next sentence: needs review.",
    ),
    # cfm: medical publicity.
    Rule(
        "missing_crm",
        "cfm",
        "high",
        f"{_CFM} art. 4",
        "The piece has no CRM number (document finding, span 0..0).",
    ),
    Rule(
        "specialty_without_rqe",
        "cfm",
        "high",
        f"{_CFM} art. 4",
        "A specialty is named but the piece has no RQE number. A referral ('procure um"
        " dermatologista') is not a claim to be one.",
    ),
    Rule(
        "guaranteed_result",
        "cfm",
        "critical",
        f"{_CFM} art. 11 IV; art. 11 XII (number not verified)",
        "Guaranteed or implied result ('resultado garantido', '100% de sucesso', 'sem risco',"
        " 'você vai sair daqui renovada', or a guarantee verb with a result in the sentence:"
        " 'garantimos o resultado'). Art. 11 IV is verified; XII (guaranteeing or insinuating"
        " results) is not." + UNVERIFIED,
        verified=False,
    ),
    Rule(
        "superlative_title",
        "cfm",
        "high",
        f"{_CFM} art. 11 XIII (number not verified); {_ANVISA}",
        "Self-promotion: a superlative before a self-promotion object ('o melhor dermatologista',"
        " 'a única clínica'), or a title or award ('médica do ano', 'eleito o melhor', 'top"
        " doctor'). 'A melhor forma de prevenir' passes." + UNVERIFIED,
        verified=False,
    ),
    Rule(
        "miraculous_claim",
        "cfm",
        "high",
        f"{_CFM} art. 11 §5 (number not verified)",
        "Miraculous or revolutionary practice ('milagroso', 'revolucionário')." + UNVERIFIED,
        verified=False,
    ),
    Rule(
        "free_consultation_bait",
        "cfm",
        "medium",
        f"{_CFM} art. 11 §4 (number not verified)",
        "Free consultation as bait, or a raffle or prize in a sentence about a consultation or any"
        " procedure ('sorteio de uma sessão de botox'). Prices and discounts are allowed."
        + UNVERIFIED,
        verified=False,
    ),
    Rule(
        "isolated_before_after",
        "cfm",
        "high",
        f"{_CFM} art. 14",
        "A before/after presentation ('antes e depois', 'ANTES x DEPOIS', 'veja a transformação"
        " da paciente') in a piece that never mentions complications or unsatisfactory results.",
    ),
    Rule(
        "cure_rate",
        "cfm",
        "critical",
        f"{_CFM} art. 11 IV; art. 11 XII (number not verified); {_ANVISA}",
        "A cure rate or cure promise ('100% de cura', '98% de cura', 'cura garantida', 'taxa de"
        " cura')." + UNVERIFIED,
        verified=False,
    ),
    Rule(
        "sensationalism",
        "cfm",
        "high",
        f"{_CFM} art. 11 XVI (number not verified)",
        "Sensationalist wording ('chocante', 'você não vai acreditar', 'o segredo que os médicos"
        " não contam')." + UNVERIFIED,
        verified=False,
    ),
    Rule(
        "procedure_price",
        "cfm",
        "medium",
        f"{_CFM} (article not verified: the resolution allows consultation prices, payment terms"
        " and discounts; procedure prices are flagged for review)",
        "A price (R$, reais) in a sentence that names a surgical or aesthetic procedure (not a"
        " consultation)." + UNVERIFIED,
        verified=False,
    ),
    Rule(
        "self_medication",
        "cfm",
        "critical",
        _ANVISA,
        "Incitement to self-medication ('sem receita', 'não precisa ir ao médico', 'por conta"
        " própria'); a negation just before ('não tome sem receita') passes." + UNVERIFIED,
        verified=False,
    ),
    Rule(
        "prescription_drug_ad",
        "cfm",
        "critical",
        f"{_ANVISA}: prescription-only medicines are not advertised to the lay public",
        "A prescription-only medicine (Ozempic, isotretinoína, testosterona...) in a sentence with"
        " an advertising cue (compre, aplicamos, R$, promoção, link na bio)." + UNVERIFIED,
        verified=False,
    ),
    Rule(
        "absolute_safety_medicine",
        "cfm",
        "critical",
        _ANVISA,
        "Absence-of-risk claim for a medicine or treatment ('100% seguro', 'sem efeitos"
        " colaterais', 'não tem contraindicação nenhuma', 'pode tomar sem medo')." + UNVERIFIED,
        verified=False,
    ),
)

_BY_KEY = {(rule.analyzer, rule.id): rule for rule in RULES}


def rules_for(analyzer: str) -> dict[str, Rule]:
    """The analyzer's rules by id, in declaration order."""
    return {rule.id: rule for rule in RULES if rule.analyzer == analyzer}


def rule_info(analyzer: str, rule_id: str) -> Rule:
    try:
        return _BY_KEY[(analyzer, rule_id)]
    except KeyError:
        raise KeyError(f"no rule {rule_id!r} in analyzer {analyzer!r}; see rules.RULES") from None
