/* cfm analyzer: medical publicity under CFM Resolucao 2.336/2023 and ANVISA RDC 96/2008.
 * Mirrors workflows/analyzers/reference/cfm.py: a first pass collects document facts (a CRM
 * number, an RQE number, a mention of complications), a second pass reports, sentence by sentence,
 * phrases and meaning classes (two parts in one sentence: a guarantee verb and a result, a price
 * and a procedure, a raffle and a consultation or procedure, a prescription drug and an
 * advertising cue). */
#include "common.h"
#include "lexicon.h"

#define CFM_CURE_RATE CFM_KIND_COUNT /* a percentage followed by a cure suffix */
#define NEGATION_WORDS 3
#define MAX_NEGATION_BYTES 6

typedef struct {
    int has_crm, has_rqe, has_complication;
} facts;

typedef struct {
    int32_t raffle_s, raffle_e, price_s, price_e, drug_s, drug_e, verb_s, verb_e; /* _s < 0: none */
    int consult, procedure, cue, result;
} sentence_state;

static void visit(const facts *doc, facts *found, sentence_state *st, int kind, int32_t p, int32_t q) {
    if (found) {
        found->has_crm |= kind == CFM_CRM_LABEL;
        found->has_rqe |= kind == CFM_RQE_LABEL;
        found->has_complication |= kind == CFM_COMPLICATION;
        return;
    }
    switch (kind) {
    case CFM_GUARANTEED: emit("guaranteed_result", p, q); break;
    case CFM_SUPERLATIVE:
    case CFM_AWARD: emit("superlative_title", p, q); break;
    case CFM_MIRACLE: emit("miraculous_claim", p, q); break;
    case CFM_FREE_CONSULT: emit("free_consultation_bait", p, q); break;
    case CFM_SAFETY: emit("absolute_safety_medicine", p, q); break;
    case CFM_SENSATIONAL: emit("sensationalism", p, q); break;
    case CFM_SELF_MEDICATION: emit("self_medication", p, q); break;
    case CFM_CURE_CLAIM:
    case CFM_CURE_RATE: emit("cure_rate", p, q); break;
    case CFM_SPECIALTY:
        if (!doc->has_rqe) emit("specialty_without_rqe", p, q);
        break;
    case CFM_BEFORE_AFTER:
        if (!doc->has_complication) emit("isolated_before_after", p, q);
        break;
    case CFM_RAFFLE:
        if (st->raffle_s < 0) {
            st->raffle_s = p;
            st->raffle_e = q;
        }
        break;
    case CFM_PRICE:
        if (st->price_s < 0) {
            st->price_s = p;
            st->price_e = q;
        }
        break;
    case CFM_RX_DRUG:
        if (st->drug_s < 0) {
            st->drug_s = p;
            st->drug_e = q;
        }
        break;
    case CFM_GUARANTEE_VERB:
        if (st->verb_s < 0) {
            st->verb_s = p;
            st->verb_e = q;
        }
        break;
    default: break;
    }
    st->consult |= kind == CFM_CONSULT || kind == CFM_FREE_CONSULT || kind == CFM_PROCEDURE;
    st->procedure |= kind == CFM_PROCEDURE;
    st->cue |= kind == CFM_AD_CUE || kind == CFM_PRICE;
    st->result |= kind == CFM_RESULT_OBJECT;
}

/* The start of the word after q across whitespace, or -1. */
static int32_t next_word(bytes f, int32_t q, int32_t n) {
    int32_t k = q, s = space_len(f, k, n);
    if (!s) return -1;
    while (s) {
        k += s;
        s = space_len(f, k, n);
    }
    return word_at(f, k, n) ? k : -1;
}

static int kind_at(bytes f, int32_t k, int32_t n, int32_t *end) {
    if (k < 0) return -1;
    return lex_match(&CFM_LEXICON, f, k, n, end);
}

static int object_follows(bytes f, int32_t q, int32_t n) {
    int32_t e;
    int kind = kind_at(f, next_word(f, q, n), n, &e);
    if (kind == CFM_CONNECTOR) kind = kind_at(f, next_word(f, e, n), n, &e);
    return kind == CFM_SELF_OBJECT || kind == CFM_SPECIALTY || kind == CFM_PROCEDURE || kind == CFM_RESULT_OBJECT;
}

static int negated(bytes f, int32_t s, int32_t p) {
    int32_t k = p;
    for (int i = 0; i < NEGATION_WORDS; i++) {
        int32_t a, b, e;
        prev_word(f, k, &a, &b);
        if (a >= b || a < s) return 0;
        if (b - a > MAX_NEGATION_BYTES) { /* longer than any negation word */
            k = a;
            continue;
        }
        int kind = lex_match(&CFM_LEXICON, f, a, b, &e);
        if (kind == CFM_NEGATION && e == b) return 1;
        k = a;
    }
    return 0;
}

static int negatable(int kind) {
    return kind == CFM_GUARANTEED || kind == CFM_SAFETY || kind == CFM_SELF_MEDICATION ||
           kind == CFM_GUARANTEE_VERB || kind == CFM_CURE_CLAIM;
}

static int32_t percent_end(bytes f, int32_t p, int32_t n) {
    int32_t k = p;
    while (k < n && k - p < 3 && is_digit(f[k])) k++;
    if ((ch(f, k, n) == ',' || ch(f, k, n) == '.') && digits(f, k + 1, 1, n)) k += 2;
    if (ch(f, k, n) == ' ') k++;
    return ch(f, k, n) == '%' ? k + 1 : -1;
}

/* Keywords at word starts in [s, n), with the filters of reference/cfm.py scan(). */
static void scan(bytes f, int32_t s, int32_t n, const facts *doc, facts *found, sentence_state *st) {
    int32_t p = s;
    while (p < n) {
        if (!word_start(f, p, n)) {
            p++;
            continue;
        }
        int32_t q;
        int kind = lex_match(&CFM_LEXICON, f, p, n, &q);
        if (kind < 0) {
            if (is_digit(f[p]) && num_start_ok(f, p)) {
                int32_t e = percent_end(f, p, n);
                if (e >= 0) {
                    int32_t k = ch(f, e, n) == ' ' ? e + 1 : e, e2;
                    int kind2 = kind_at(f, word_at(f, k, n) ? k : -1, n, &e2);
                    if (kind2 == CFM_CURE_SUFFIX) {
                        visit(doc, found, st, CFM_CURE_RATE, p, e2);
                        p = e2;
                        continue;
                    }
                }
            }
            p = word_end(f, p, n);
            continue;
        }
        if (kind == CFM_CRM_LABEL || kind == CFM_RQE_LABEL) {
            int32_t e = kind == CFM_CRM_LABEL ? crm_number_end(f, q, n) : rqe_number_end(f, q, n);
            if (e < 0) {
                p = q;
                continue;
            }
            q = e;
        } else if (kind == CFM_SUPERLATIVE && !object_follows(f, q, n)) {
            p = q;
            continue;
        } else if (kind == CFM_REFERRAL) {
            int32_t e2;
            int kind2 = kind_at(f, next_word(f, q, n), n, &e2);
            p = kind2 == CFM_SPECIALTY ? e2 : q;
            continue;
        } else if (!found && negatable(kind) && negated(f, s, p)) { /* facts need no negation */
            p = q;
            continue;
        }
        visit(doc, found, st, kind, p, q);
        p = q;
    }
}

EXPORT("analyze") uint64_t analyze(uint32_t ptr, uint32_t len) {
    int32_t n = (int32_t)len;
    bytes f = fold((bytes)(uintptr_t)ptr, n);
    if (!f) return 0;
    lex_init(&CFM_LEXICON);
    out_begin();
    facts doc = {0, 0, 0};
    sentence_state st;
    int32_t next = 0, s, e;
    for (;;) {
        s = next;
        if ((next = next_sentence(f, n, &s, &e)) < 0) break;
        scan(f, s, e, 0, &doc, &st);
    }
    next = 0;
    for (;;) {
        s = next;
        if ((next = next_sentence(f, n, &s, &e)) < 0) break;
        sentence_state fresh = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0};
        st = fresh;
        scan(f, s, e, &doc, 0, &st);
        if (st.raffle_s >= 0 && st.consult) emit("free_consultation_bait", st.raffle_s, st.raffle_e);
        if (st.price_s >= 0 && st.procedure) emit("procedure_price", st.price_s, st.price_e);
        if (st.drug_s >= 0 && st.cue) emit("prescription_drug_ad", st.drug_s, st.drug_e);
        if (st.verb_s >= 0 && st.result) emit("guaranteed_result", st.verb_s, st.verb_e);
    }
    if (!doc.has_crm) emit("missing_crm", 0, 0);
    return out_finish();
}
