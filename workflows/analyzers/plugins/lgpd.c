/* lgpd analyzer: personal identifiers and health context in a medical text (LGPD art. 5 I-II).
 * Mirrors workflows/analyzers/reference/lgpd.py function by function. */
#include "common.h"
#include "lexicon.h"
#include "names.h"

#define MAX_EMAIL_LOCAL 64
#define MAX_EMAIL_DOMAIN 255
#define MAX_GIVEN_NAME 24
#define BUSINESS_BEFORE 160
#define BUSINESS_AFTER 60
#define PROFESSIONAL_AFTER 40
#define ROLE_BEFORE_WORDS 3
#define LINE_WINDOW 200

static const char *const MONTHS[] = {"janeiro", "fevereiro", "mar\303\247o", "marco", "abril", "maio", "junho",
                                     "julho", "agosto", "setembro", "outubro", "novembro", "dezembro"};
static const char *const AGE_STOP_BEFORE[] = {
    "em", "nos", "uns", "alguns", "poucos", "v\303\241rios", "muitos", "h\303\241", "ha", "por", "durante",
    "ap\303\263s", "apos", "\303\272ltimos", "ultimos", "pr\303\263ximos", "proximos", "dos", "acima", "maiores",
    "menores", "at\303\251", "ate", "entre", "cada", "primeiros", "completa", "completou", "comemora"};
static const char *const AGE_STOP_BEFORE_DE[] = {"mais", "acima", "cerca", "menos", "maiores", "menores"};
static const char *const AGE_STOP_AFTER[] = {"atr\303\241s", "atras"};
static const char *const AGE_WORDS[] = {"anos", "ano", "years"};
static const char *const WORD_DE[] = {"de"};
static const char *const WORD_IDADE[] = {"idade"};
static const char *const UNTITLED_STOP_BEFORE[] = {"em", "no", "na", "pela", "pelo", "ao", "\303\240"};
static const char *const COMPLEMENTS[] = {"apto", "apartamento", "ap",  "apt",   "bloco", "bl",    "casa", "sala",
                                          "conjunto", "cj",     "conj", "lote", "quadra", "andar", "loja"};
static const char *const NOT_INITIALS[] = {"s.a.", "p.s.", "e.u.a.", "a.c.", "d.c.", "u.s.", "u.k.", "s.a"};
static const char *const UFS[] = {"AC", "AL", "AP", "AM", "BA", "CE", "DF", "ES", "GO", "MA", "MT", "MS", "MG", "PA",
                                  "PB", "PR", "PE", "PI", "RJ", "RN", "RS", "RO", "RR", "SC", "SP", "SE", "TO"};
static const char *const DOT_WORDS[] = {"ponto", "dot"};
static const char *const AT_BRACKETS[] = {"[at]", "(at)", "[arroba]", "(arroba)", "{at}"};
static const char *const DOT_BRACKETS[] = {"[.]", "(.)", "[dot]", "(dot)", "[ponto]", "(ponto)"};

typedef struct {
    int32_t business, patient; /* end of the last business / patient marker, -1: none */
} scan_state;

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
    int sep = ch(f, p + 3, n), last = ch(f, p + 11, n);
    if (digits(f, p, 3, n) && (sep == '.' || sep == ' ') && digits(f, p + 4, 3, n) && ch(f, p + 7, n) == sep &&
        digits(f, p + 8, 3, n) && (last == '-' || last == ' ' || last == '.') && digits(f, p + 12, 2, n))
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
    } else if (b == '9' && ch(f, q + 1, n) == ' ' && digits(f, q + 2, 4, n)) {
        k = q + 6; /* "9 9134-2278": the mobile 9 written apart */
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

static int32_t word_date_end(bytes f, int32_t q, int32_t n) {
    if (ch(f, q, n) == 0xC2 && (ch(f, q + 1, n) == 0xBA || ch(f, q + 1, n) == 0xB0)) q += 2;
    for (int i = 0; i < 2; i++) {
        if (ch(f, q, n) != ' ' || !starts_with(f, q + 1, n, "de ")) return -1;
        q += 4;
        if (i == 0) {
            int32_t w = word_end(f, q, n);
            if (!span_in(f, q, w, MONTHS, COUNT(MONTHS))) return -1;
            q = w;
        }
    }
    if (!(digits(f, q, 4, n) && (f[q] == '1' || f[q] == '2'))) return -1;
    return num_end_ok(f, q + 4, n) ? q + 4 : -1;
}

static int32_t birth_end(bytes f, int32_t r, int32_t n) {
    int32_t q;
    if (starts_with(f, r, n, "dia ")) r += 4;
    int a = small_number(f, r, n, &q);
    if (a < 0) return -1;
    if (a >= 1 && a <= 31) {
        int32_t w = word_date_end(f, q, n);
        if (w >= 0) return w;
    }
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

static int32_t cap_word_end(bytes data, bytes f, int32_t q, int32_t n, int street) {
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
    if (street) return k; /* street names keep titles and roles: "Rua Doutor Arnaldo" */
    int32_t end;
    int kind = lex_match(&LGPD_LEXICON, f, q, n, &end);
    if (kind >= 0 && kind != LGPD_INSTITUTION) return -1; /* a keyword (a title...) ends a name */
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

static int32_t name_end(bytes data, bytes f, int32_t r, int32_t n, int street) {
    int32_t e = cap_word_end(data, f, r, n, street);
    if (e < 0) return -1;
    while (ch(f, e, n) == ' ') {
        int32_t q = e + 1;
        int32_t c = connector_end(f, q, n);
        if (c >= 0 && ch(f, c, n) == ' ') {
            int32_t w = cap_word_end(data, f, c + 1, n, street);
            if (w >= 0) {
                e = w;
                continue;
            }
        }
        int32_t w = cap_word_end(data, f, q, n, street);
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

/* ---- addresses, labelled numbers, ages, places, initials ---- */

static int32_t address_end(bytes data, bytes f, int32_t q, int32_t n) {
    int32_t k = q;
    int32_t sp = space_len(f, k, n);
    if (!sp) return -1;
    k += sp;
    int32_t c = connector_end(f, k, n);
    if (c >= 0 && ch(f, c, n) == ' ') k = c + 1;
    int32_t e = name_end(data, f, k, n, 1);
    if (e < 0) return -1;
    k = ch(f, e, n) == ',' ? e + 1 : e;
    k = skip_filler(f, k, n);
    if (starts_with(f, k, n, "n\303\272mero ") || starts_with(f, k, n, "numero "))
        k = skip_filler(f, k + (f[k + 1] == 0xC3 ? 8 : 7), n);
    if (starts_with(f, k, n, "s/n") && !word_at(f, k + 3, n)) {
        k += 3;
    } else {
        int32_t m = k;
        while (m < n && m - k < 5 && is_digit(f[m])) m++;
        if (m == k || word_at(f, m, n)) return -1;
        k = m;
    }
    for (int i = 0; i < 2; i++) {
        int32_t m = k;
        if (ch(f, m, n) == ',')
            m += 1;
        else if (ch(f, m, n) == ' ' && ch(f, m + 1, n) == '-')
            m += 2;
        if (ch(f, m, n) != ' ') break;
        m += 1;
        int32_t w = word_end(f, m, n);
        if (!span_in(f, m, w, COMPLEMENTS, COUNT(COMPLEMENTS))) break;
        int32_t v = skip_filler(f, w, n);
        int32_t t = v;
        while (t < n && t - v < 6 && (is_digit(f[t]) || is_alpha(f[t]))) t++;
        if (t == v || word_at(f, t, n) || !(is_digit(f[v]) || t - v == 1)) break;
        k = t;
    }
    return k;
}

/* After a record or plan-card label: the number's end (its start in *start), or -1. */
static int32_t labelled_id(bytes f, int32_t r, int32_t n, int32_t *start) {
    int32_t q = r;
    for (int i = 0; i < 3; i++) {
        if (!letter_at(f, q, n)) break;
        int32_t w = word_end(f, q, n);
        if (ch(f, w, n) == '-' && is_digit(ch(f, w + 1, n)) && w - q <= 4) break;
        q = skip_filler(f, w, n);
    }
    int32_t s = q;
    while (q < n && q - s < 4 && is_alpha(f[q])) q++;
    if (q > s) {
        if (!(ch(f, q, n) == '-' || ch(f, q, n) == '/') || !is_digit(ch(f, q + 1, n))) return -1;
        q++;
    }
    if (!is_digit(ch(f, q, n))) return -1;
    int count = 0;
    int32_t e = q;
    while (e < n) {
        if (is_digit(f[e])) {
            count++;
            e++;
        } else if ((f[e] == '.' || f[e] == '-' || f[e] == '/' || f[e] == ' ') && is_digit(ch(f, e + 1, n))) {
            e++;
        } else {
            break;
        }
    }
    if (count < 5 || count > 25 || word_at(f, e, n)) return -1;
    *start = s;
    return e;
}

/* An age at p: its end and rule ("age_over_89" or "age"), or -1. */
static int32_t age_value(bytes f, int32_t p, int32_t n, int labelled, const char **rule) {
    if (!is_digit(ch(f, p, n))) return -1;
    int32_t e = p;
    int v = 0;
    while (e < n && e - p < 3 && is_digit(f[e])) {
        v = v * 10 + f[e] - '0';
        e++;
    }
    if (is_digit(ch(f, e, n)) || v > 125) return -1;
    int32_t end = -1;
    if (ch(f, e, n) == ' ') {
        int32_t w = word_end(f, e + 1, n);
        if (span_in(f, e + 1, w, AGE_WORDS, COUNT(AGE_WORDS))) end = w;
    }
    if (end < 0) {
        if (!labelled || word_at(f, e, n)) return -1;
        end = e;
    } else {
        int32_t nxt = ch(f, end, n) == ' ' ? end + 1 : end;
        int32_t w = word_end(f, nxt, n);
        if (span_in(f, nxt, w, AGE_STOP_AFTER, COUNT(AGE_STOP_AFTER))) return -1;
        int explicit_age = 0;
        if (span_in(f, nxt, w, WORD_DE, 1)) {
            int32_t w2 = word_end(f, w + 1, n);
            if (ch(f, w, n) != ' ' || !span_in(f, w + 1, w2, WORD_IDADE, 1)) return -1;
            end = w2;
            explicit_age = 1; /* "NN anos de idade" is an age whatever comes before */
        }
        if (!labelled && !explicit_age) {
            int32_t s, t;
            prev_word(f, p, &s, &t);
            if (span_in(f, s, t, AGE_STOP_BEFORE, COUNT(AGE_STOP_BEFORE))) return -1;
            if (span_in(f, s, t, WORD_DE, 1)) {
                int32_t s2, t2;
                prev_word(f, s, &s2, &t2);
                if (span_in(f, s2, t2, AGE_STOP_BEFORE_DE, COUNT(AGE_STOP_BEFORE_DE))) return -1;
            }
        }
    }
    *rule = v >= 90 ? "age_over_89" : "age";
    return end;
}

static int32_t uf_suffix_end(bytes data, bytes f, int32_t e, int32_t n) {
    if (e < 0) return -1;
    int32_t q = e;
    int close;
    if (ch(f, q, n) == ' ' && ch(f, q + 1, n) == '(') {
        q += 2;
        close = 1;
    } else if (ch(f, q, n) == '/' || ch(f, q, n) == '-') {
        q += 1;
        close = 0;
    } else if (ch(f, q, n) == ' ' && ch(f, q + 1, n) == '-' && ch(f, q + 2, n) == ' ') {
        q += 3;
        close = 0;
    } else {
        return -1;
    }
    if (q + 2 > n || !span_in(data, q, q + 2, UFS, COUNT(UFS))) return -1;
    q += 2;
    if (close) return ch(f, q, n) == ')' ? q + 1 : -1;
    return word_at(f, q, n) ? -1 : q;
}

static int upper_ascii(int b) { return b >= 'A' && b <= 'Z'; }

static int32_t initials_end(bytes data, bytes f, int32_t p, int32_t n) {
    int count = 0;
    int32_t k = p;
    while (count <= 4 && upper_ascii(ch(data, k, n)) && ch(f, k + 1, n) == '.') {
        count++;
        k += 2;
        if (ch(f, k, n) == ' ' && upper_ascii(ch(data, k + 1, n)) && ch(f, k + 2, n) == '.') k++;
    }
    if (count < 2 || count > 4 || word_at(f, k, n)) return -1;
    uint8_t compact[16];
    int32_t m = 0;
    for (int32_t i = p; i < k; i++)
        if (f[i] != ' ') compact[m++] = f[i];
    if (span_in(compact, 0, m, NOT_INITIALS, COUNT(NOT_INITIALS))) return -1;
    return k;
}

static int upper_at(bytes data, int32_t q, int32_t n) {
    int b = data[q];
    if (b >= 'A' && b <= 'Z') return 1;
    return b == 0xC3 && q + 1 < n && data[q + 1] >= 0x80 && data[q + 1] <= 0x9E && data[q + 1] != 0x97;
}

static int headline(bytes data, bytes f, int32_t p, int32_t n) {
    int32_t s = p, e = p;
    while (s > 0 && f[s - 1] != '\n') {
        if (p - s >= LINE_WINDOW) return 0;
        s--;
    }
    while (e < n && f[e] != '\n') {
        if (e - p >= LINE_WINDOW) return 0;
        e++;
    }
    int words = 0, capitalised = 0;
    int32_t k = s;
    while (k < e) {
        if (letter_at(f, k, e) && !word_before(f, k)) {
            int upper = upper_at(data, k, e);
            int chars = 0;
            while (letter_at(f, k, e)) {
                k += char_len(f[k]);
                chars++;
            }
            if (chars >= 4 && !word_at(f, k, e)) {
                words++;
                capitalised += upper;
            }
        } else if (word_at(f, k, e)) {
            k = word_end(f, k, e);
        } else {
            k++;
        }
    }
    return words >= 3 && capitalised == words;
}

/* The letter at q without its accent (ASCII lower case) and its length in *len, or 0. */
static int ascii_letter(bytes f, int32_t q, int32_t n, int32_t *len) {
    int b = f[q];
    *len = 1;
    if (b >= 'a' && b <= 'z') return b;
    *len = 2;
    if (b == 0xC3 && q + 1 < n) {
        int c = f[q + 1];
        if (c >= 0xA0 && c <= 0xA5) return 'a';
        if (c == 0xA7) return 'c';
        if (c >= 0xA8 && c <= 0xAB) return 'e';
        if (c >= 0xAC && c <= 0xAF) return 'i';
        if (c == 0xB1) return 'n';
        if (c >= 0xB2 && c <= 0xB6) return 'o';
        if (c >= 0xB9 && c <= 0xBC) return 'u';
    }
    return 0;
}

static int given_name(bytes f, int32_t p, int32_t n) {
    uint8_t key[MAX_GIVEN_NAME];
    int32_t k = 0, q = p, len;
    while (word_at(f, q, n)) {
        int c = ascii_letter(f, q, n, &len);
        if (!c || k >= MAX_GIVEN_NAME) return 0;
        key[k++] = (uint8_t)c;
        q += len;
    }
    int32_t lo = 0, hi = GIVEN_NAME_COUNT - 1;
    while (lo <= hi) {
        int32_t mid = (lo + hi) / 2;
        const uint8_t *name = (const uint8_t *)GIVEN_NAMES + GIVEN_NAME_OFFSETS[mid];
        int32_t len2 = (int32_t)(GIVEN_NAME_OFFSETS[mid + 1] - GIVEN_NAME_OFFSETS[mid]);
        int32_t i = 0;
        while (i < k && i < len2 && key[i] == name[i]) i++;
        int cmp;
        if (i < k && i < len2)
            cmp = key[i] < name[i] ? -1 : 1;
        else
            cmp = k < len2 ? -1 : (k > len2 ? 1 : 0);
        if (cmp == 0) return 1;
        if (cmp < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return 0;
}

/* ---- e-mail addresses, found lazily from each "at" in order ---- */

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

static int label_char(int b) { return is_digit(b) || (b >= 'a' && b <= 'z') || b == '-'; }

/* An "at" at a: sets where the local part ends and the domain starts; 0 when there is none. */
static int at_token(bytes f, int32_t a, int32_t n, int32_t *local_end, int32_t *d) {
    int b = f[a];
    if (b == '@') {
        *local_end = a;
        *d = a + 1;
        return 1;
    }
    if (b == '[' || b == '(' || b == '{') {
        for (int i = 0; i < COUNT(AT_BRACKETS); i++) {
            if (starts_with(f, a, n, AT_BRACKETS[i])) {
                int32_t k = 0;
                while (AT_BRACKETS[i][k]) k++;
                *local_end = a > 0 && f[a - 1] == ' ' ? a - 1 : a;
                *d = ch(f, a + k, n) == ' ' ? a + k + 1 : a + k;
                return 1;
            }
        }
        return 0;
    }
    if (b == 'a' && a > 0 && f[a - 1] == ' ' && starts_with(f, a, n, "arroba ")) {
        *local_end = a - 1;
        *d = a + 7;
        return 1;
    }
    return 0;
}

static int32_t dot_token_end(bytes f, int32_t k, int32_t n) {
    int b = ch(f, k, n);
    if (b == '.') return k + 1;
    int32_t q = b == ' ' ? k + 1 : k;
    for (int i = 0; i < COUNT(DOT_BRACKETS); i++) {
        if (starts_with(f, q, n, DOT_BRACKETS[i])) {
            int32_t len = 0;
            while (DOT_BRACKETS[i][len]) len++;
            int32_t d = q + len;
            return ch(f, d, n) == ' ' ? d + 1 : d;
        }
    }
    if (b == ' ') {
        for (int i = 0; i < COUNT(DOT_WORDS); i++) {
            int32_t len = 0;
            while (DOT_WORDS[i][len]) len++;
            if (starts_with(f, k + 1, n, DOT_WORDS[i]) && ch(f, k + 1 + len, n) == ' ') return k + len + 2;
        }
    }
    return -1;
}

static int32_t obfuscated_domain_end(bytes f, int32_t d, int32_t n) {
    int32_t k = d, last = d, end = d;
    int labels = 0;
    for (;;) {
        int32_t start = k;
        while (k < n && k - d < MAX_EMAIL_DOMAIN && label_char(f[k])) k++;
        if (k == start || f[start] == '-' || f[k - 1] == '-') break;
        labels++;
        last = start;
        end = k;
        int32_t nxt = dot_token_end(f, k, n);
        if (nxt < 0 || nxt >= n || !label_char(f[nxt])) break;
        k = nxt;
    }
    if (labels < 2 || end - last < 2 || word_at(f, end, n)) return -1;
    for (int32_t i = last; i < end; i++)
        if (!(f[i] >= 'a' && f[i] <= 'z')) return -1;
    return end;
}

static int32_t plain_domain_end(bytes f, int32_t d, int32_t n) {
    int32_t e = d;
    while (e < n && e - d < MAX_EMAIL_DOMAIN && email_domain(f[e])) e++;
    while (e > d && (f[e - 1] == '.' || f[e - 1] == '-')) e--;
    if (domain_ok(f, d, e) && !word_at(f, e, n)) return e;
    return -1;
}

static int at_anchor(bytes f, int32_t a, int32_t n) {
    int b = f[a];
    if (b == '@' || b == '[' || b == '(' || b == '{') return 1;
    return b == 'a' && a > 0 && f[a - 1] == ' ' && starts_with(f, a, n, "arroba ");
}

static void email_next(email_iter *it, bytes f, int32_t n) {
    while (it->pos < n) {
        int32_t a = it->pos;
        while (a < n && !at_anchor(f, a, n)) a++;
        if (a >= n) break;
        int32_t local_end, d;
        if (!at_token(f, a, n, &local_end, &d)) {
            it->pos = a + 1;
            continue;
        }
        int32_t s = local_end;
        while (s > it->last_end && local_end - s < MAX_EMAIL_LOCAL && email_local(f[s - 1])) s--;
        while (s < local_end && in_set(f[s], ".%+-")) s++;
        int32_t e = -1;
        if (s < local_end && !word_before(f, s)) {
            if (f[a] == '@') e = plain_domain_end(f, d, n);
            if (e < 0) e = obfuscated_domain_end(f, d, n);
        }
        if (e >= 0) {
            it->s = s;
            it->e = e;
            it->pos = it->last_end = e;
            return;
        }
        it->pos = a + 1;
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
    return age_value(f, p, n, 0, rule);
}

static int32_t line_start(bytes f, int32_t p, int32_t limit) {
    int32_t s = p;
    while (s > 0 && p - s < limit && f[s - 1] != '\n') s--;
    return s;
}

static int business_context(bytes f, int32_t n, const scan_state *st, int32_t p, int32_t e) {
    /* (the line is looked at only when the marker is near enough to be on it) */
    if (p - BUSINESS_BEFORE < st->patient && st->patient > line_start(f, p, BUSINESS_BEFORE)) return 0;
    if (st->business >= 0 && p - st->business <= BUSINESS_BEFORE) return 1;
    int32_t k = e, limit = e + BUSINESS_AFTER < n ? e + BUSINESS_AFTER : n;
    while (k < limit && f[k] != '\n') {
        if (word_start(f, k, n) && f[k - 1] != '@' && f[k - 1] != '.') {
            int32_t q;
            int kind = lex_match(&LGPD_LEXICON, f, k, n, &q);
            if (kind == LGPD_BUSINESS || kind == LGPD_DOCTOR) return 1;
            if (kind == LGPD_CRM_LABEL && crm_number_end(f, q, n) >= 0) return 1;
            if (kind == LGPD_RQE_LABEL && rqe_number_end(f, q, n) >= 0) return 1;
            k = kind >= 0 ? q : word_end(f, k, n);
        } else {
            k++;
        }
    }
    return 0;
}

static int streq(const char *a, const char *b) {
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

/* The rules the business-contact policy applies to. */
static int contact_rule(const char *rule) {
    return streq(rule, "phone") || streq(rule, "email") || streq(rule, "cep") || streq(rule, "address");
}

static void contact(bytes f, int32_t n, const scan_state *st, const char *rule, int32_t p, int32_t e) {
    emit(business_context(f, n, st, p, e) ? "business_contact" : rule, p, e);
}

static void report(bytes f, int32_t n, const scan_state *st, const char *rule, int32_t p, int32_t e) {
    if (contact_rule(rule))
        contact(f, n, st, rule, p, e);
    else
        emit(rule, p, e);
}

static int untitled_name_ok(bytes data, bytes f, int32_t n, int32_t p, int32_t e) {
    if (headline(data, f, p, n)) return 0;
    int32_t s, w;
    prev_word(f, p, &s, &w);
    if (span_in(f, s, w, UNTITLED_STOP_BEFORE, COUNT(UNTITLED_STOP_BEFORE))) return 0;
    for (int i = 0; i < ROLE_BEFORE_WORDS && s < w; i++) { /* "o ministro da Saude Alexandre Padilha" */
        int32_t q;
        int kind = lex_match(&LGPD_LEXICON, f, s, w, &q);
        if ((kind == LGPD_ROLE || kind == LGPD_DOCTOR) && q == w) return 0;
        int32_t s2, w2;
        prev_word(f, s, &s2, &w2);
        s = s2;
        w = w2;
    }
    int32_t k = e, limit = e + PROFESSIONAL_AFTER < n ? e + PROFESSIONAL_AFTER : n;
    while (k < limit) {
        if (word_start(f, k, n)) {
            int32_t q;
            int kind = lex_match(&LGPD_LEXICON, f, k, n, &q);
            if (kind == LGPD_CRM_LABEL || kind == LGPD_RQE_LABEL || kind == LGPD_ROLE || kind == LGPD_DOCTOR)
                return 0;
            k = kind >= 0 ? q : word_end(f, k, n);
        } else {
            k++;
        }
    }
    return 1;
}

static int32_t capitalised(bytes data, bytes f, int32_t n, int32_t p, scan_state *st) {
    int32_t first = cap_word_end(data, f, p, n, 0);
    if (first < 0) return word_end(f, p, n);
    int32_t e = name_end(data, f, p, n, 0);
    int32_t u = uf_suffix_end(data, f, e, n);
    if (u >= 0) {
        emit("locality", p, u);
        return u;
    }
    if (!given_name(f, p, n)) return first;
    if (e == first || !untitled_name_ok(data, f, n, p, e)) return e;
    st->patient = e;
    emit("patient_name", p, e);
    return e;
}

static int32_t after_keyword(bytes data, bytes f, int32_t n, int kind, int32_t p, int32_t q, scan_state *st) {
    int32_t e;
    switch (kind) {
    case LGPD_HEALTH: emit("health_term", p, q); return q;
    case LGPD_RARE: emit("rare_condition", p, q); return q;
    case LGPD_PHOTO: emit("identifying_photo", p, q); return q;
    case LGPD_PATIENT_CTX: st->patient = q; return q;
    case LGPD_CRM_LABEL:
    case LGPD_RQE_LABEL:
        e = kind == LGPD_CRM_LABEL ? crm_number_end(f, q, n) : rqe_number_end(f, q, n);
        if (e < 0) return q;
        st->business = e;
        return e;
    case LGPD_STREET:
        e = address_end(data, f, q, n);
        if (e < 0) return q;
        contact(f, n, st, "address", p, e);
        return e;
    default: break;
    }
    int32_t r = skip_filler(f, q, n);
    if (kind == LGPD_DOCTOR || kind == LGPD_ROLE || kind == LGPD_BUSINESS || kind == LGPD_INSTITUTION) {
        e = name_end(data, f, r, n, 0);
        int32_t end = e >= 0 ? e : q;
        if (kind == LGPD_DOCTOR || kind == LGPD_BUSINESS) st->business = end;
        if (kind == LGPD_INSTITUTION && e >= 0) { /* "Sao Gabriel da Cachoeira (AM)" is a place */
            int32_t u = uf_suffix_end(data, f, e, n);
            if (u >= 0) {
                emit("locality", p, u);
                return u;
            }
        }
        return end;
    }
    if (kind == LGPD_TITLE || kind == LGPD_WEAK_TITLE) {
        e = name_end(data, f, r, n, 0);
        if (kind == LGPD_TITLE) st->patient = q;
        if (e < 0) return q;
        int given = given_name(f, r, n);
        if ((kind == LGPD_WEAK_TITLE || headline(data, f, p, n)) && !given) return q;
        st->patient = e;
        emit("patient_name", r, e);
        return e;
    }
    if (kind == LGPD_PLACE_LABEL) {
        e = name_end(data, f, r, n, 0);
        if (e < 0) return q;
        int32_t u = uf_suffix_end(data, f, e, n);
        if (u >= 0) e = u;
        emit("locality", r, e);
        return e;
    }
    const char *rule = "cid10";
    if (kind == LGPD_BIRTH_LABEL) {
        rule = "birth_date";
        e = birth_end(f, r, n);
    } else if (kind == LGPD_RG_LABEL) {
        rule = "rg";
        e = rg_end(f, r, n);
    } else if (kind == LGPD_CEP_LABEL) {
        rule = "cep";
        e = cep_end(f, r, n, 1);
    } else if (kind == LGPD_RECORD_LABEL || kind == LGPD_PLAN_LABEL) {
        rule = kind == LGPD_RECORD_LABEL ? "medical_record" : "health_plan_card";
        e = labelled_id(f, r, n, &r);
    } else if (kind == LGPD_AGE_LABEL) {
        e = age_value(f, r, n, 1, &rule);
    } else {
        e = cid_end(data, f, r, n, 1);
    }
    if (e < 0) return q;
    report(f, n, st, rule, r, e);
    return e;
}

EXPORT("analyze") uint64_t analyze(uint32_t ptr, uint32_t len) {
    bytes data = (bytes)(uintptr_t)ptr;
    int32_t n = (int32_t)len;
    bytes f = fold(data, n);
    if (!f) return 0;
    lex_init(&LGPD_LEXICON);
    out_begin();
    scan_state st = {-1, -1};
    email_iter mail = {0, 0, 0, 0};
    email_next(&mail, f, n);
    int32_t p = 0;
    while (p < n) {
        while (mail.s >= 0 && mail.s < p) email_next(&mail, f, n);
        if (mail.s == p) {
            contact(f, n, &st, "email", p, mail.e);
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
                    report(f, n, &st, rule, p, e);
                    p = e;
                } else {
                    p = word_end(f, p, n);
                }
                continue;
            }
            e = initials_end(data, f, p, n); /* before keywords: "R.M." is initials, "R. X" a street */
            if (e >= 0) {
                emit("initials", p, e);
                p = e;
                continue;
            }
            int kind = lex_match(&LGPD_LEXICON, f, p, n, &e);
            if (kind >= 0) {
                p = after_keyword(data, f, n, kind, p, e, &st);
                continue;
            }
            e = cid_end(data, f, p, n, 0);
            if (e >= 0) {
                emit("cid10", p, e);
                p = e;
                continue;
            }
            p = capitalised(data, f, n, p, &st);
            continue;
        }
        if ((b == '+' || b == '(') && num_start_ok(f, p)) {
            int32_t e = phone_end(f, p, n);
            if (e >= 0) {
                contact(f, n, &st, "phone", p, e);
                p = e;
                continue;
            }
        }
        p++;
    }
    return out_finish();
}
