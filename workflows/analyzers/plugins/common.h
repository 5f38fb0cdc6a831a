/* Shared runtime of the analyzer plugins: the ABI, a bump allocator, the JSON writer, and the
 * byte-level scanning primitives. Mirrors workflows/analyzers/reference/text.py function by
 * function: change both together (the property tests compare them).
 *
 * ABI 1 (see docs/analyzers.md): exports memory, abi_version() -> 1, alloc(len) -> ptr (0 when
 * memory cannot grow), analyze(ptr, len) -> (out_ptr << 32) | out_len of a UTF-8 JSON result
 * {"findings":[["rule",start,end],...]} with byte offsets; 0 means out of memory.
 */
#ifndef ANALYZER_COMMON_H
#define ANALYZER_COMMON_H

#include <stdint.h>

#define ABI_VERSION 1
#define EXPORT(name) __attribute__((export_name(name)))
#define MAX_FILLER_STEPS 12

typedef const uint8_t *bytes;

/* ---- memory: a bump allocator; every document gets a fresh instance, so nothing is freed ---- */

extern unsigned char __heap_base;
static uint32_t heap_top;

static int ensure_memory(uint64_t end) {
    uint64_t have = (uint64_t)__builtin_wasm_memory_size(0) * 65536u;
    if (end <= have) return 1;
    if (end > 0xFFFFFFFFull) return 0;
    uint64_t pages = (end - have + 65535u) / 65536u;
    return __builtin_wasm_memory_grow(0, (uint32_t)pages) != (__SIZE_TYPE__)-1;
}

EXPORT("abi_version") int32_t abi_version(void) { return ABI_VERSION; }

EXPORT("alloc") uint32_t alloc(uint32_t len) {
    if (!heap_top) heap_top = (uint32_t)(uintptr_t)&__heap_base;
    uint64_t start = ((uint64_t)heap_top + 7u) & ~(uint64_t)7u;
    uint64_t end = start + len;
    if (!ensure_memory(end)) return 0;
    heap_top = (uint32_t)end;
    return (uint32_t)start;
}

/* ---- the JSON result, written at the top of the heap and grown in place ---- */

static uint8_t *out_buf;
static uint32_t out_len;
static int out_failed;
static int out_count;

static void out_bytes(const char *s, uint32_t k) {
    if (out_failed) return;
    if (!ensure_memory((uint64_t)(uintptr_t)out_buf + out_len + k)) {
        out_failed = 1;
        return;
    }
    for (uint32_t i = 0; i < k; i++) out_buf[out_len + i] = (uint8_t)s[i];
    out_len += k;
}

static void out_str(const char *s) {
    uint32_t k = 0;
    while (s[k]) k++;
    out_bytes(s, k);
}

static void out_uint(uint32_t v) {
    char tmp[10];
    int i = 10;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    out_bytes(tmp + i, (uint32_t)(10 - i));
}

static void out_begin(void) {
    out_buf = (uint8_t *)(uintptr_t)alloc(0);
    out_len = 0;
    out_failed = out_buf == 0;
    out_count = 0;
    out_str("{\"findings\":[");
}

static void emit(const char *rule, int32_t start, int32_t end) {
    out_str(out_count++ ? ",[\"" : "[\"");
    out_str(rule);
    out_str("\",");
    out_uint((uint32_t)start);
    out_str(",");
    out_uint((uint32_t)end);
    out_str("]");
}

static uint64_t out_finish(void) {
    out_str("]}");
    if (out_failed) return 0;
    return ((uint64_t)(uintptr_t)out_buf << 32) | out_len;
}

/* ---- scanning primitives (reference/text.py) ---- */

static int is_digit(int b) { return b >= '0' && b <= '9'; }
static int is_alpha(int b) { return (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z'); }
static int in_set(int b, const char *set) {
    for (; *set; set++)
        if ((uint8_t)*set == b) return 1;
    return 0;
}

/* The byte at i, or -1 past the end. */
static int ch(bytes f, int32_t i, int32_t n) { return i < n ? f[i] : -1; }

static int digits(bytes f, int32_t p, int32_t k, int32_t n) {
    if (p + k > n) return 0;
    for (int32_t i = p; i < p + k; i++)
        if (!is_digit(f[i])) return 0;
    return 1;
}

/* Lower-case ASCII and U+00C0-U+00DE (but U+00D7) in place of a copy: same length in UTF-8. */
static uint8_t *fold(bytes data, int32_t n) {
    uint8_t *f = (uint8_t *)(uintptr_t)alloc((uint32_t)n);
    if (!f) return 0;
    for (int32_t i = 0; i < n; i++) {
        uint8_t b = data[i];
        f[i] = (b >= 'A' && b <= 'Z') ? (uint8_t)(b + 32) : b;
    }
    for (int32_t i = 0; i + 1 < n; i++) {
        if (f[i] == 0xC3 && f[i + 1] >= 0x80 && f[i + 1] <= 0x9E && f[i + 1] != 0x97)
            f[i + 1] = (uint8_t)(f[i + 1] + 0x20);
    }
    return f;
}

static int32_t char_len(int b) {
    if (b < 0x80) return 1;
    if (b >= 0xC0 && b <= 0xDF) return 2;
    if (b >= 0xE0 && b <= 0xEF) return 3;
    if (b >= 0xF0 && b <= 0xF7) return 4;
    return 1;
}

static int32_t space_len(bytes f, int32_t p, int32_t n) {
    if (p >= n) return 0;
    int b = f[p];
    if (b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == 0x0B || b == 0x0C) return 1;
    if (b == 0xC2 && p + 1 < n && f[p + 1] == 0xA0) return 2;
    return 0;
}

static int word_ascii(int b) { return is_digit(b) || is_alpha(b) || b == '_'; }

static int word_at(bytes f, int32_t p, int32_t n) {
    if (p >= n) return 0;
    int b = f[p];
    if (b < 0x80) return word_ascii(b);
    if (p + 1 >= n) return 0;
    int c = f[p + 1];
    if (b == 0xC3) return c >= 0x80 && c <= 0xBF && c != 0x97 && c != 0xB7;
    if (b >= 0xC4 && b <= 0xC8) return c >= 0x80 && c <= 0xBF;
    if (b == 0xC9) return c >= 0x80 && c <= 0x8F;
    return 0;
}

static int word_before(bytes f, int32_t p) {
    if (p <= 0) return 0;
    int b = f[p - 1];
    if (b < 0x80) return word_ascii(b);
    if (b <= 0xBF && p >= 2 && f[p - 2] >= 0xC0 && f[p - 2] <= 0xDF) return word_at(f, p - 2, p);
    return 0;
}

static int word_start(bytes f, int32_t p, int32_t n) { return word_at(f, p, n) && !word_before(f, p); }

static int letter_at(bytes f, int32_t p, int32_t n) {
    return word_at(f, p, n) && !is_digit(f[p]) && f[p] != '_';
}

static int32_t word_end(bytes f, int32_t p, int32_t n) {
    while (word_at(f, p, n)) p += char_len(f[p]);
    return p;
}

static int num_start_ok(bytes f, int32_t p) {
    if (p == 0) return 1;
    if (word_before(f, p)) return 0;
    return !(in_set(f[p - 1], ".,-/") && p >= 2 && is_digit(f[p - 2]));
}

static int num_end_ok(bytes f, int32_t e, int32_t n) {
    if (e >= n) return 1;
    if (word_at(f, e, n)) return 0;
    return !(in_set(f[e], ".,-/") && e + 1 < n && is_digit(f[e + 1]));
}

static int32_t skip_filler(bytes f, int32_t q, int32_t n) {
    for (int i = 0; i < MAX_FILLER_STEPS; i++) {
        if (q >= n) break;
        int b = f[q];
        if (in_set(b, " \t\r\n:.-#=)"))
            q += 1;
        else if (b == 'n' && q + 2 < n && f[q + 1] == 0xC2 && (f[q + 2] == 0xBA || f[q + 2] == 0xB0))
            q += 3;
        else if (b == 0xC2 && q + 1 < n && (f[q + 1] == 0xBA || f[q + 1] == 0xB0 || f[q + 1] == 0xA0))
            q += 2;
        else
            break;
    }
    return q;
}

static int32_t dotted_digits_end(bytes f, int32_t r, int32_t n) {
    int32_t e = r;
    while (e < n && (is_digit(f[e]) || (f[e] == '.' && e + 1 < n && is_digit(f[e + 1])))) e++;
    return e;
}

static int32_t crm_number_end(bytes f, int32_t q, int32_t n) {
    int32_t u = q;
    if (u + 2 < n && in_set(f[u], "/- ") && is_alpha(f[u + 1]) && is_alpha(f[u + 2]) &&
        !word_at(f, u + 3, n))
        u += 3;
    int32_t r = skip_filler(f, u, n);
    if (r >= n || !is_digit(f[r])) return -1;
    int32_t e = dotted_digits_end(f, r, n);
    if (e + 2 < n && in_set(f[e], "-/") && is_alpha(f[e + 1]) && is_alpha(f[e + 2]) &&
        !word_at(f, e + 3, n))
        e += 3;
    return e;
}

static int32_t rqe_number_end(bytes f, int32_t q, int32_t n) {
    int32_t r = skip_filler(f, q, n);
    if (r >= n || !is_digit(f[r])) return -1;
    return dotted_digits_end(f, r, n);
}

/* The word before p across spaces and tabs: sets [*s, *e); *s == *e == p when there is none. */
static void prev_word(bytes f, int32_t p, int32_t *s, int32_t *e) {
    int32_t b = p;
    while (b > 0 && (f[b - 1] == ' ' || f[b - 1] == '\t')) b--;
    int32_t a = b;
    while (word_before(f, a)) a -= f[a - 1] < 0x80 ? 1 : 2;
    if (a < b) {
        *s = a;
        *e = b;
    } else {
        *s = *e = p;
    }
}

/* f[s, e) is one of the NUL-terminated words of list (count entries). */
static int span_in(bytes f, int32_t s, int32_t e, const char *const *list, int count) {
    if (e <= s) return 0;
    for (int i = 0; i < count; i++) {
        const char *w = list[i];
        int32_t k = 0;
        while (w[k] && s + k < e && f[s + k] == (uint8_t)w[k]) k++;
        if (!w[k] && s + k == e) return 1;
    }
    return 0;
}

/* f starts with the NUL-terminated word at q (within n). */
static int starts_with(bytes f, int32_t q, int32_t n, const char *w) {
    int32_t k = 0;
    while (w[k]) {
        if (q + k >= n || f[q + k] != (uint8_t)w[k]) return 0;
        k++;
    }
    return 1;
}

#define COUNT(list) ((int)(sizeof(list) / sizeof((list)[0])))

/* The sentence from *s: sets [*s, *e) and returns where the next one may start; -1 when done. */
static int32_t next_sentence(bytes f, int32_t n, int32_t *s, int32_t *e) {
    int32_t p = *s, k;
    while ((k = space_len(f, p, n)) != 0) p += k;
    if (p >= n) return -1;
    int32_t end = n, nxt = n;
    for (int32_t i = p; i < n; i++) {
        int b = f[i];
        if (b == '\n') {
            end = i;
            nxt = i + 1;
            break;
        }
        if ((b == '.' || b == '!' || b == '?') && (i + 1 >= n || space_len(f, i + 1, n))) {
            end = nxt = i + 1;
            break;
        }
    }
    while (end > p && in_set(f[end - 1], " \t\r\x0b\x0c")) end--;
    *s = p;
    *e = end;
    return nxt;
}

/* ---- keyword tables (generated into lexicon.h from reference/lexicon.py) ---- */

typedef struct {
    const char *word;
    uint16_t len;
    uint8_t kind;
    uint8_t end_boundary;
} lex_entry;

typedef struct {
    const lex_entry *entries;
    const uint16_t *first; /* entries for first byte b: [first[b], first[b + 1]) */
    uint8_t *pairs;        /* bit (b0 << 8 | b1): some keyword can start with bytes b0 b1 */
} lexicon;

static void pair_set(uint8_t *pairs, int b0, int b1) {
    int bit = b0 << 8 | b1;
    pairs[bit >> 3] = (uint8_t)(pairs[bit >> 3] | 1u << (bit & 7));
}

/* Fill the first-two-bytes filter, so most words are rejected without comparing keywords.
 * A space in a keyword matches any whitespace, so it stands for every whitespace lead byte. */
static void lex_init(const lexicon *lex) {
    static const char spaces[] = " \t\n\r\x0b\x0c\xc2";
    for (uint32_t i = 0; i < lex->first[256]; i++) {
        const lex_entry *k = &lex->entries[i];
        int b0 = (uint8_t)k->word[0], b1 = (uint8_t)k->word[1];
        if (b1 == ' ') {
            for (const char *s = spaces; *s; s++) pair_set(lex->pairs, b0, (uint8_t)*s);
        } else {
            pair_set(lex->pairs, b0, b1);
        }
    }
}

static int32_t match_kw(bytes f, int32_t p, int32_t n, const lex_entry *k) {
    int32_t q = p;
    for (uint32_t i = 0; i < k->len; i++) {
        uint8_t c = (uint8_t)k->word[i];
        if (c == ' ') {
            int32_t s = space_len(f, q, n);
            if (!s) return -1;
            while (s) {
                q += s;
                s = space_len(f, q, n);
            }
        } else {
            if (q >= n || f[q] != c) return -1;
            q++;
        }
    }
    if (k->end_boundary && word_at(f, q, n)) return -1;
    return q;
}

static int lex_prefix_ok(const lex_entry *k, bytes f, int32_t p, int32_t n) {
    for (uint32_t j = 2; j < k->len; j++) {
        uint8_t c = (uint8_t)k->word[j];
        if (c == ' ') return 1;
        if (p + (int32_t)j >= n || f[p + j] != c) return 0;
    }
    return 1;
}

/* Try the entries of [lo, hi) whose second byte is g (they are contiguous: sorted by first byte,
 * then second byte, then longest first). */
static int lex_group(const lexicon *lex, uint32_t lo, uint32_t hi, int g, bytes f, int32_t p, int32_t n,
                     int32_t *end) {
    while (lo < hi) { /* the first entry whose second byte is >= g */
        uint32_t mid = (lo + hi) / 2;
        if ((uint8_t)lex->entries[mid].word[1] < g)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (uint32_t i = lo; i < lex->first[256] && (uint8_t)lex->entries[i].word[1] == g &&
                          (uint8_t)lex->entries[i].word[0] == f[p];
         i++) {
        const lex_entry *k = &lex->entries[i];
        /* A quick comparison up to the first keyword space before the full one (exact: before a
         * keyword space, keyword bytes and text bytes correspond one to one). */
        if (g != ' ' && !lex_prefix_ok(k, f, p, n)) continue;
        int32_t e = match_kw(f, p, n, k);
        if (e >= 0) {
            *end = e;
            return lex->entries[i].kind;
        }
    }
    return -1;
}

/* The kind of the first keyword matching at p (and its end in *end), or -1. */
static int lex_match(const lexicon *lex, bytes f, int32_t p, int32_t n, int32_t *end) {
    if (p + 1 >= n) return -1; /* every keyword has at least two bytes */
    int b0 = f[p], b1 = f[p + 1], bit = b0 << 8 | b1;
    if (!(lex->pairs[bit >> 3] & (1u << (bit & 7)))) return -1;
    uint32_t lo = lex->first[b0], hi = lex->first[b0 + 1];
    /* A keyword space matches any whitespace; no keyword has a second byte that is other
     * whitespace, and NBSP's lead byte 0xC2 may also start a second character such as U+00BA. */
    if (b1 == ' ' || b1 == '\t' || b1 == '\n' || b1 == '\r' || b1 == 0x0B || b1 == 0x0C || b1 == 0xC2) {
        int kind = lex_group(lex, lo, hi, ' ', f, p, n, end);
        if (kind >= 0 || b1 != 0xC2) return kind;
    }
    return lex_group(lex, lo, hi, b1, f, p, n, end);
}

#endif
