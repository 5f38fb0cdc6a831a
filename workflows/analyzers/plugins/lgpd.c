/* lgpd analyzer: personal identifiers and health context in a medical text (LGPD art. 5 I-II).
 * Mirrors workflows/analyzers/reference/lgpd.py function by function. */
#include "common.h"
#include "lexicon.h"

#define MAX_EMAIL_LOCAL 64
#define MAX_EMAIL_DOMAIN 255

static int email_local(int b) { return is_digit(b) || (b >= 'a' && b <= 'z') || in_set(b, "._%+-"); }
static int email_domain(int b) { return is_digit(b) || (b >= 'a' && b <= 'z') || b == '.' || b == '-'; }

/* ---- CPF and CNS ---- */

static int cpf_valid(const int *d) {
    int same = 1, s1 = 0, s2 = 0;
    for (int i = 1; i < 11; i++) same &= d[i] == d[0];
    if (same) return 0;
    for (int i = 0; i < 9; i++) s1 += d[i] * (10 - i);
    for (int i = 0; i < 10; i++) s2 += d[i] * (11 - i);
    return d[9] == s1 * 10 % 11 % 10 && d[10] == s2 * 10 % 11 % 10;
}

/* Collect the digits of [p, e) skipping separators into d; returns how many. */
static int collect(bytes f, int32_t p, int32_t e, int *d) {
    int k = 0;
    for (int32_t i = p; i < e; i++)
        if (is_digit(f[i])) d[k++] = f[i] - '0';
    return k;
}

static int32_t cpf_end(bytes f, int32_t p, int32_t n) {
    int32_t e;
    int d[15];
    if (digits(f, p, 3, n) && ch(f, p + 3, n) == '.' && digits(f, p + 4, 3, n) &&
        ch(f, p + 7, n) == '.' && digits(f, p + 8, 3, n) && ch(f, p + 11, n) == '-' &&
        digits(f, p + 12, 2, n))
        e = p + 14;
    else if (digits(f, p, 11, n))
        e = p + 11;
    else
        return -1;
    collect(f, p, e, d);
    return num_end_ok(f, e, n) && cpf_valid(d) ? e : -1;
}

static int cns_valid(const int *d) {
    if (d[0] == 1 || d[0] == 2) {
        int s = 0;
        for (int i = 0; i < 11; i++) s += d[i] * (15 - i);
        int dv = 11 - s % 11, last = 0;
        if (dv == 11) dv = 0;
        if (dv == 10) {
            dv = 11 - (s + 2) % 11;
            last = 1;
        }
        return d[11] == 0 && d[12] == 0 && d[13] == last && d[14] == dv;
    }
    if (d[0] == 7 || d[0] == 8 || d[0] == 9) {
        int s = 0;
        for (int i = 0; i < 15; i++) s += d[i] * (15 - i);
        return s % 11 == 0;
    }
    return 0;
}

static int32_t cns_end(bytes f, int32_t p, int32_t n) {
    int32_t e;
    int d[18];
    if (digits(f, p, 15, n))
        e = p + 15;
    else if (digits(f, p, 3, n) && ch(f, p + 3, n) == ' ' && digits(f, p + 4, 4, n) &&
             ch(f, p + 8, n) == ' ' && digits(f, p + 9, 4, n) && ch(f, p + 13, n) == ' ' &&
             digits(f, p + 14, 4, n))
        e = p + 18;
    else
        return -1;
    collect(f, p, e, d);
    return num_end_ok(f, e, n) && cns_valid(d) ? e : -1;
}

/* ---- phone, CEP, RG, birth date ---- */

static int32_t local_end(bytes f, int32_t q, int32_t n, int *mobile) {
    int b = ch(f, q, n);
    int32_t k;
    *mobile = 0;
    if (b == '9' && digits(f, q + 1, 4, n)) {
        k = q + 5;
        *mobile = 1;
    } else if (b >= '2' && b <= '5' && digits(f, q + 1, 3, n)) {
        k = q + 4;
    } else {
        return -1;
    }
    int c = ch(f, k, n);
    if ((c == ' ' || c == '-') && digits(f, k + 1, 4, n)) return k + 5;
    if (digits(f, k, 4, n)) return k + 4;
    *mobile = 0;
    return -1;
}

static int ddd(bytes f, int32_t q, int32_t n) {
    int a = ch(f, q, n), b = ch(f, q + 1, n);
    return a >= '1' && a <= '9' && b >= '1' && b <= '9';
}

static int32_t phone_end(bytes f, int32_t p, int32_t n) {
    int32_t q = p, e;
    int prefix = 0, mobile = 0;
    if (ch(f, q, n) == '+') {
        if (ch(f, q + 1, n) != '5' || ch(f, q + 2, n) != '5') return -1;
        q += 3;
        prefix = 1;
        if (ch(f, q, n) == ' ' || ch(f, q, n) == '-') q++;
    }
    if (ch(f, q, n) == '(') {
        if (!(ddd(f, q + 1, n) && ch(f, q + 3, n) == ')')) return -1;
        q += 4;
        if (ch(f, q, n) == ' ' || ch(f, q, n) == '-') q++;
        e = local_end(f, q, n, &mobile);
    } else if (ddd(f, q, n)) {
        int32_t q2 = q + 2;
        if (ch(f, q2, n) == ' ' || ch(f, q2, n) == '-') q2++;
        e = local_end(f, q2, n, &mobile);
        if (e < 0 && !prefix) {
            e = local_end(f, q, n, &mobile);
            if (!mobile) e = -1;
        }
    } else if (prefix) {
        return -1;
    } else {
        e = local_end(f, q, n, &mobile);
        if (!mobile) e = -1;
    }
    if (e < 0) return -1;
    int all_digits = 1;
    for (int32_t i = p; i < e; i++) all_digits &= is_digit(f[i]);
    if (all_digits || !num_end_ok(f, e, n)) return -1;
    return e;
}

static int32_t cep_end(bytes f, int32_t p, int32_t n, int bare) {
    int32_t e;
    if (digits(f, p, 5, n) && ch(f, p + 5, n) == '-' && digits(f, p + 6, 3, n))
        e = p + 9;
    else if (bare && digits(f, p, 8, n))
        e = p + 8;
    else
        return -1;
    return num_end_ok(f, e, n) ? e : -1;
}

static int32_t rg_end(bytes f, int32_t r, int32_t n) {
    int32_t q = r;
    if (is_alpha(ch(f, q, n)) && is_alpha(ch(f, q + 1, n)) &&
        (ch(f, q + 2, n) == ' ' || ch(f, q + 2, n) == '-') && is_digit(ch(f, q + 3, n)))
        q += 3;
    if (!is_digit(ch(f, q, n))) return -1;
    int count = 0;
    int32_t e = q;
    while (e < n) {
        int b = f[e];
        if (is_digit(b)) {
            count++;
            e++;
        } else if (b == '.' && is_digit(ch(f, e + 1, n))) {
            e++;
        } else if (b == '-' && (is_digit(ch(f, e + 1, n)) || ch(f, e + 1, n) == 'x')) {
            if (is_digit(f[e + 1])) count++;
            e += 2;
            break;
        } else {
            break;
        }
    }
    if (count < 5 || count > 14 || word_at(f, e, n)) return -1;
    return e;
}

/* One or two digits at q: the value (or -1), and the end in *end. */
static int small_number(bytes f, int32_t q, int32_t n, int32_t *end) {
    *end = q;
    if (!is_digit(ch(f, q, n))) return -1;
    if (is_digit(ch(f, q + 1, n))) {
        *end = q + 2;
        return (f[q] - '0') * 10 + f[q + 1] - '0';
    }
    *end = q + 1;
    return f[q] - '0';
}

static int32_t birth_end(bytes f, int32_t r, int32_t n) {
    int32_t q;
    int a = small_number(f, r, n, &q);
    if (a < 0) return -1;
    int sep = ch(f, q, n);
    if (sep != '/' && sep != '-' && sep != '.') return -1;
    int b = small_number(f, q + 1, n, &q);
    if (b < 0 || ch(f, q, n) != sep) return -1;
    q++;
    if (!(digits(f, q, 4, n) && (f[q] == '1' || f[q] == '2'))) return -1;
    int32_t e = q + 4;
    if (!num_end_ok(f, e, n)) return -1;
    if ((a >= 1 && a <= 31 && b >= 1 && b <= 12) || (a >= 1 && a <= 12 && b >= 1 && b <= 31)) return e;
    return -1;
}

/* ---- names and CID-10 codes ---- */

static int32_t cap_word_end(bytes data, bytes f, int32_t q, int32_t n) {
    int b = ch(data, q, n);
    int32_t k;
    if (b >= 'A' && b <= 'Z')
        k = q + 1;
    else if (b == 0xC3 && q + 1 < n && data[q + 1] >= 0x80 && data[q + 1] <= 0x9E && data[q + 1] != 0x97)
        k = q + 2;
    else
        return -1;
    int chars = 1;
    while (letter_at(f, k, n)) {
        k += char_len(f[k]);
        chars++;
    }
    if (chars < 2 || word_at(f, k, n)) return -1;
    int32_t end;
    int kind = lex_match(&LGPD_LEXICON, f, q, n, &end);
    if (kind == LGPD_TITLE || kind == LGPD_DOCTOR) return -1;
    return k;
}

static int32_t connector_end(bytes f, int32_t q, int32_t n) {
    static const char *const words[] = {"dos", "das", "da", "de", "do", "e"};
    for (int i = 0; i < 6; i++) {
        const char *w = words[i];
        int32_t k = 0;
        while (w[k] && q + k < n && f[q + k] == (uint8_t)w[k]) k++;
        if (!w[k] && !word_at(f, q + k, n)) return q + k;
    }
    return -1;
}

static int32_t name_end(bytes data, bytes f, int32_t r, int32_t n) {
    int32_t e = cap_word_end(data, f, r, n);
    if (e < 0) return -1;
    while (ch(f, e, n) == ' ') {
        int32_t q = e + 1;
        int32_t c = connector_end(f, q, n);
        if (c >= 0 && ch(f, c, n) == ' ') {
            int32_t w = cap_word_end(data, f, c + 1, n);
            if (w >= 0) {
                e = w;
                continue;
            }
        }
        int32_t w = cap_word_end(data, f, q, n);
        if (w < 0) break;
        e = w;
    }
    return e;
}

static int32_t cid_end(bytes data, bytes f, int32_t p, int32_t n, int allow_bare) {
    int b = ch(data, p, n);
    if (!(b >= 'A' && b <= 'Z' && is_digit(ch(f, p + 1, n)) && is_digit(ch(f, p + 2, n)))) return -1;
    if (b == 'U' && !(f[p + 1] == '0' && (f[p + 2] == '4' || f[p + 2] == '7'))) return -1;
    int32_t q = p + 3;
    if (ch(f, q, n) == '.' && is_digit(ch(f, q + 1, n)) && num_end_ok(f, q + 2, n)) return q + 2;
    if (allow_bare && num_end_ok(f, q, n)) return q;
    return -1;
}

/* ---- e-mail addresses, found lazily from each '@' in order ---- */

typedef struct {
    int32_t pos, last_end, s, e; /* s < 0: no more addresses */
} email_iter;

static int domain_ok(bytes f, int32_t d, int32_t e) {
    if (d >= e || f[d] == '.' || f[d] == '-') return 0;
    int32_t dot = -1;
    for (int32_t i = d; i < e; i++) {
        if (f[i] == '.') {
            if (i + 1 < e && f[i + 1] == '.') return 0;
            dot = i;
        }
    }
    if (dot < 0 || e - dot - 1 < 2) return 0;
    for (int32_t i = dot + 1; i < e; i++)
        if (!(f[i] >= 'a' && f[i] <= 'z')) return 0;
    return 1;
}

static void email_next(email_iter *it, bytes f, int32_t n) {
    for (int32_t a = it->pos; a < n; a++) {
        if (f[a] != '@') continue;
        int32_t s = a;
        while (s > it->last_end && a - s < MAX_EMAIL_LOCAL && email_local(f[s - 1])) s--;
        while (s < a && in_set(f[s], ".%+-")) s++;
        int32_t e = a + 1;
        while (e < n && e - a <= MAX_EMAIL_DOMAIN && email_domain(f[e])) e++;
        while (e > a + 1 && (f[e - 1] == '.' || f[e - 1] == '-')) e--;
        if (s < a && !word_before(f, s) && domain_ok(f, a + 1, e) && !word_at(f, e, n)) {
            it->s = s;
            it->e = e;
            it->pos = it->last_end = e;
            return;
        }
    }
    it->s = -1;
}

/* ---- the scan ---- */

static int32_t number_at(bytes f, int32_t p, int32_t n, const char **rule) {
    int32_t e;
    if (!num_start_ok(f, p)) return -1;
    if ((e = cpf_end(f, p, n)) >= 0) {
        *rule = "cpf";
        return e;
    }
    if ((e = cns_end(f, p, n)) >= 0) {
        *rule = "cns";
        return e;
    }
    if ((e = phone_end(f, p, n)) >= 0) {
        *rule = "phone";
        return e;
    }
    if ((e = cep_end(f, p, n, 0)) >= 0) {
        *rule = "cep";
        return e;
    }
    return -1;
}

static int32_t after_keyword(bytes data, bytes f, int32_t n, int kind, int32_t p, int32_t q) {
    int32_t e;
    if (kind == LGPD_HEALTH) {
        emit("health_term", p, q);
        return q;
    }
    if (kind == LGPD_CRM_LABEL) {
        e = crm_number_end(f, q, n);
        return e >= 0 ? e : q;
    }
    if (kind == LGPD_RQE_LABEL) {
        e = rqe_number_end(f, q, n);
        return e >= 0 ? e : q;
    }
    int32_t r = skip_filler(f, q, n);
    const char *rule;
    if (kind == LGPD_DOCTOR) {
        e = name_end(data, f, r, n);
        return e >= 0 ? e : q;
    }
    if (kind == LGPD_TITLE) {
        rule = "patient_name";
        e = name_end(data, f, r, n);
    } else if (kind == LGPD_BIRTH_LABEL) {
        rule = "birth_date";
        e = birth_end(f, r, n);
    } else if (kind == LGPD_RG_LABEL) {
        rule = "rg";
        e = rg_end(f, r, n);
    } else if (kind == LGPD_CEP_LABEL) {
        rule = "cep";
        e = cep_end(f, r, n, 1);
    } else {
        rule = "cid10";
        e = cid_end(data, f, r, n, 1);
    }
    if (e < 0) return q;
    emit(rule, r, e);
    return e;
}

EXPORT("analyze") uint64_t analyze(uint32_t ptr, uint32_t len) {
    bytes data = (bytes)(uintptr_t)ptr;
    int32_t n = (int32_t)len;
    bytes f = fold(data, n);
    if (!f) return 0;
    lex_init(&LGPD_LEXICON);
    out_begin();
    email_iter mail = {0, 0, 0, 0};
    email_next(&mail, f, n);
    int32_t p = 0;
    while (p < n) {
        while (mail.s >= 0 && mail.s < p) email_next(&mail, f, n);
        if (mail.s == p) {
            emit("email", p, mail.e);
            p = mail.e;
            email_next(&mail, f, n);
            continue;
        }
        int b = f[p];
        if (word_start(f, p, n)) {
            int32_t e;
            if (is_digit(b)) {
                const char *rule;
                e = number_at(f, p, n, &rule);
                if (e >= 0) {
                    emit(rule, p, e);
                    p = e;
                } else {
                    p = word_end(f, p, n);
                }
                continue;
            }
            int kind = lex_match(&LGPD_LEXICON, f, p, n, &e);
            if (kind >= 0) {
                p = after_keyword(data, f, n, kind, p, e);
                continue;
            }
            e = cid_end(data, f, p, n, 0);
            if (e >= 0) {
                emit("cid10", p, e);
                p = e;
                continue;
            }
            p = word_end(f, p, n);
            continue;
        }
        if ((b == '+' || b == '(') && num_start_ok(f, p)) {
            int32_t e = phone_end(f, p, n);
            if (e >= 0) {
                emit("phone", p, e);
                p = e;
                continue;
            }
        }
        p++;
    }
    return out_finish();
}
