/* claims analyzer: sentences asserting a medical effect, and whether a reference backs them.
 * Mirrors workflows/analyzers/reference/claims.py. Findings span whole sentences. A sentence is a
 * claim only when it also names a health context (a CLAIMS_HEALTH word, or patients/cases with a
 * percentage); a percentage in a sentence with a price word is not a claim. */
#include "common.h"
#include "lexicon.h"

#define PERCENTAGE CLAIMS_KIND_COUNT

typedef struct {
    const char *rule;
    int bit;
} claim_rule;

static const claim_rule CLAIM_RULES[] = {
    {"claim_cure", CLAIMS_CURE},
    {"claim_treat", CLAIMS_TREAT},
    {"claim_eliminate", CLAIMS_ELIMINATE},
    {"claim_prevent", CLAIMS_PREVENT},
    {"claim_reduce", CLAIMS_REDUCE},
    {"claim_guarantee", CLAIMS_GUARANTEE},
    {"claim_percentage", PERCENTAGE},
    {"claim_scientifically_proven", CLAIMS_PROVEN},
};
#define CLAIM_RULE_COUNT (sizeof(CLAIM_RULES) / sizeof(CLAIM_RULES[0]))

static int32_t doi_end(bytes f, int32_t p, int32_t n) {
    if (!(ch(f, p, n) == '1' && ch(f, p + 1, n) == '0' && ch(f, p + 2, n) == '.' && num_start_ok(f, p)))
        return -1;
    int32_t q = p + 3;
    while (is_digit(ch(f, q, n))) q++;
    if (q - (p + 3) < 4 || ch(f, q, n) != '/') return -1;
    return q + 1;
}

static int32_t percent_end(bytes f, int32_t p, int32_t n) {
    int32_t q = p;
    while (is_digit(ch(f, q, n))) q++;
    if ((ch(f, q, n) == ',' || ch(f, q, n) == '.') && is_digit(ch(f, q + 1, n))) {
        q++;
        while (is_digit(ch(f, q, n))) q++;
    }
    if (ch(f, q, n) == ' ') q++;
    return ch(f, q, n) == '%' ? q + 1 : -1;
}

static uint32_t sentence_flags(bytes f, int32_t s, int32_t n) {
    uint32_t flags = 0;
    int32_t p = s;
    while (p < n) {
        if (!word_start(f, p, n)) {
            p++;
            continue;
        }
        if (is_digit(f[p])) {
            if (doi_end(f, p, n) >= 0)
                flags |= 1u << CLAIMS_REFERENCE;
            else if (percent_end(f, p, n) >= 0)
                flags |= 1u << PERCENTAGE;
        } else {
            int32_t q;
            int kind = lex_match(&CLAIMS_LEXICON, f, p, n, &q);
            if (kind >= 0) {
                if (kind != CLAIMS_IGNORE) flags |= 1u << kind;
                p = q;
                continue;
            }
        }
        p = word_end(f, p, n);
    }
    return flags;
}

/* The claim bits a sentence reports: none without a health context; a percentage next to a price
 * word is dropped first, and patients/cases count as context only with a percentage. */
static uint32_t claim_flags(uint32_t flags) {
    if (flags & (1u << CLAIMS_PRICE)) flags &= ~(1u << PERCENTAGE);
    int context = (flags & (1u << CLAIMS_HEALTH)) ||
                  ((flags & (1u << CLAIMS_COHORT)) && (flags & (1u << PERCENTAGE)));
    if (!context) return 0;
    uint32_t claims = 0;
    for (uint32_t i = 0; i < CLAIM_RULE_COUNT; i++) claims |= flags & (1u << CLAIM_RULES[i].bit);
    return claims;
}

static void emit_sentence(int32_t s, int32_t e, uint32_t flags, int next_has_reference) {
    uint32_t claims = claim_flags(flags);
    if (!claims) return;
    for (uint32_t i = 0; i < CLAIM_RULE_COUNT; i++) {
        if (claims & (1u << CLAIM_RULES[i].bit)) emit(CLAIM_RULES[i].rule, s, e);
    }
    if (!(flags & (1u << CLAIMS_REFERENCE)) && !next_has_reference) emit("claim_unreferenced", s, e);
}

EXPORT("analyze") uint64_t analyze(uint32_t ptr, uint32_t len) {
    int32_t n = (int32_t)len;
    bytes f = fold((bytes)(uintptr_t)ptr, n);
    if (!f) return 0;
    lex_init(&CLAIMS_LEXICON);
    out_begin();
    int32_t next = 0, s, e, prev_s = 0, prev_e = 0;
    uint32_t prev_flags = 0;
    int have_prev = 0;
    for (;;) {
        s = next;
        next = next_sentence(f, n, &s, &e);
        if (next < 0) break;
        uint32_t flags = sentence_flags(f, s, e);
        if (have_prev) emit_sentence(prev_s, prev_e, prev_flags, (flags >> CLAIMS_REFERENCE) & 1u);
        prev_s = s;
        prev_e = e;
        prev_flags = flags;
        have_prev = 1;
    }
    if (have_prev) emit_sentence(prev_s, prev_e, prev_flags, 0);
    return out_finish();
}
