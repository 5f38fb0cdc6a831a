/* cfm analyzer: medical publicity under CFM Resolucao 2.336/2023 and ANVISA RDC 96/2008.
 * Mirrors workflows/analyzers/reference/cfm.py: a first pass collects document facts (a CRM
 * number, an RQE number, a mention of complications), a second pass reports phrases. */
#include "common.h"
#include "lexicon.h"

typedef struct {
    int has_crm, has_rqe, has_complication;
} facts;

typedef struct {
    int32_t raffle_start, raffle_end; /* raffle_start < 0: none yet */
    int consult;
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
    case CFM_SUPERLATIVE: emit("superlative_title", p, q); break;
    case CFM_MIRACLE: emit("miraculous_claim", p, q); break;
    case CFM_FREE_CONSULT: emit("free_consultation_bait", p, q); break;
    case CFM_SAFETY: emit("absolute_safety_medicine", p, q); break;
    case CFM_SPECIALTY:
        if (!doc->has_rqe) emit("specialty_without_rqe", p, q);
        break;
    case CFM_BEFORE_AFTER:
        if (!doc->has_complication) emit("isolated_before_after", p, q);
        break;
    case CFM_RAFFLE:
        if (st->raffle_start < 0) {
            st->raffle_start = p;
            st->raffle_end = q;
        }
        break;
    default: break;
    }
    st->consult |= kind == CFM_CONSULT || kind == CFM_FREE_CONSULT;
}

/* Keywords at word starts in [s, n); a CRM or RQE label counts only with a number after it. */
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
        st.raffle_start = -1;
        st.raffle_end = -1;
        st.consult = 0;
        scan(f, s, e, &doc, 0, &st);
        if (st.raffle_start >= 0 && st.consult) emit("free_consultation_bait", st.raffle_start, st.raffle_end);
    }
    if (!doc.has_crm) emit("missing_crm", 0, 0);
    return out_finish();
}
