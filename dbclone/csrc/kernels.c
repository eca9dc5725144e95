/* The per-value loops of the commonest generators: each kernel computes exactly what the
 * generator's generate(value, 0) computes (tests/test_native.py compares them on many
 * values), and hands a value back to Python whenever it would not: a value outside what the
 * kernel handles (non-ASCII where Python's rules are Unicode-aware, no digits to replace),
 * an output equal to the source (Python re-draws), or, on a unique column, an output already
 * produced (Python re-draws and records). Python then masks that one value as it always
 * does and calls back for the rest, so the order of unique draws is the serial order. */
#include "native.h"

enum { K_POOL = 1, K_EMAIL = 2, K_PHONE = 3, K_SSN = 4 };

/* A new str from ASCII bytes. */
static PyObject *
ascii_str(const char *s, Py_ssize_t n)
{
    PyObject *out = PyUnicode_New(n, 127);
    if (out != NULL)
        memcpy(PyUnicode_1BYTE_DATA(out), s, (size_t)n);
    return out;
}

/* Python's str(n) for 0 <= n < 10**20, into buf; returns its length. */
static int
udigits(char *buf, uint64_t n)
{
    char tmp[24];
    int k = 0;
    do {
        tmp[k++] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    for (int i = 0; i < k; i++)
        buf[i] = tmp[k - 1 - i];
    return k;
}

/* f"{x:0{width}d}" for 0 <= x: zero-padded to width (longer numbers keep all digits). */
static int
padded(char *buf, uint64_t x, int width)
{
    char tmp[24];
    int k = udigits(tmp, x);
    int pad = width > k ? width - k : 0;
    memset(buf, '0', (size_t)pad);
    memcpy(buf + pad, tmp, (size_t)k);
    return pad + k;
}

static int
is_ascii_str(PyObject *v)
{
    return PyUnicode_IS_ASCII(v);
}

/* pools.py PoolGenerator.generate: pool[n % len(pool)] */
static PyObject *
pool_kernel(PyObject *params, uint64_t n)
{
    PyObject *pool = PyTuple_GET_ITEM(params, 0);
    Py_ssize_t size = PyTuple_GET_SIZE(pool);
    PyObject *out = PyTuple_GET_ITEM(pool, (Py_ssize_t)(n % (uint64_t)size));
    Py_INCREF(out);
    return out;
}

/* contact.py FakeEmail.generate (without keep_domain); the pools are ASCII. */
static PyObject *
email_kernel(PyObject *params, uint64_t n)
{
    PyObject *firsts = PyTuple_GET_ITEM(params, 0), *lasts = PyTuple_GET_ITEM(params, 1);
    PyObject *domains = PyTuple_GET_ITEM(params, 2), *limit_obj = PyTuple_GET_ITEM(params, 3);
    PyObject *first = PyTuple_GET_ITEM(firsts, (Py_ssize_t)(n % (uint64_t)PyTuple_GET_SIZE(firsts)));
    PyObject *last = PyTuple_GET_ITEM(lasts,
                                      (Py_ssize_t)((n >> 16) % (uint64_t)PyTuple_GET_SIZE(lasts)));
    PyObject *domain = PyTuple_GET_ITEM(
        domains, (Py_ssize_t)((n >> 48) % (uint64_t)PyTuple_GET_SIZE(domains)));
    char digits[24];
    int nd = udigits(digits, (n >> 32) % 10000);
    Py_ssize_t lf = PyUnicode_GET_LENGTH(first), ll = PyUnicode_GET_LENGTH(last);
    Py_ssize_t ldom = PyUnicode_GET_LENGTH(domain);
    const char *f = (const char *)PyUnicode_DATA(first), *l = (const char *)PyUnicode_DATA(last);
    const char *d = (const char *)PyUnicode_DATA(domain);
    Py_ssize_t limit = limit_obj == Py_None ? -1 : PyLong_AsSsize_t(limit_obj);
    Py_ssize_t total = lf + 1 + ll + nd + 1 + ldom;
    char stack[512];
    char *buf = stack;
    if (limit < 0 || total <= limit) {
        if (total > (Py_ssize_t)sizeof(stack)) {
            buf = PyMem_Malloc((size_t)total);
            if (buf == NULL)
                return PyErr_NoMemory();
        }
        char *p = buf;
        memcpy(p, f, (size_t)lf), p += lf;
        *p++ = '.';
        memcpy(p, l, (size_t)ll), p += ll;
        memcpy(p, digits, (size_t)nd), p += nd;
        *p++ = '@';
        memcpy(p, d, (size_t)ldom), p += ldom;
        PyObject *out = ascii_str(buf, total);
        if (buf != stack)
            PyMem_Free(buf);
        return out;
    }
    /* f"{first[:1]}{last[:1]}{digits}@{domain}", else f"u{digits}@x.test"[:limit] */
    Py_ssize_t shorter = (lf > 0) + (ll > 0) + nd + 1 + ldom;
    if (shorter <= limit && shorter <= (Py_ssize_t)sizeof(stack)) {
        char *p = buf;
        if (lf)
            *p++ = f[0];
        if (ll)
            *p++ = l[0];
        memcpy(p, digits, (size_t)nd), p += nd;
        *p++ = '@';
        memcpy(p, d, (size_t)ldom), p += ldom;
        return ascii_str(buf, p - buf);
    }
    if (shorter <= limit)
        return NULL; /* a domain longer than 500 characters: Python's */
    char *p = buf;
    *p++ = 'u';
    memcpy(p, digits, (size_t)nd), p += nd;
    memcpy(p, "@x.test", 7), p += 7;
    Py_ssize_t len = p - buf;
    return ascii_str(buf, len < limit ? len : limit);
}

/* contact.py _digits: n's last 18 digits, then more from a stream seeded by n. */
static void
keyed_digits(char *out, uint64_t n, Py_ssize_t count)
{
    char block[24];
    padded(block, n % 1000000000000000000ULL, 18);
    Py_ssize_t have = 0;
    for (int i = 0; i < 18 && have < count; i++)
        out[have++] = block[i];
    uint64_t seed = n;
    while (have < count) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        padded(block, seed % 1000000000000000000ULL, 18);
        for (int i = 0; i < 18 && have < count; i++)
            out[have++] = block[i];
    }
}

/* contact.py FakePhone.generate, for printable ASCII values with a digit: a leading
 * +country code kept, every other ASCII digit replaced, the first one never by 0. */
static PyObject *
phone_kernel(PyObject *value, uint64_t n)
{
    if (!is_ascii_str(value))
        return NULL;
    Py_ssize_t len = PyUnicode_GET_LENGTH(value);
    const char *s = (const char *)PyUnicode_DATA(value);
    Py_ssize_t count = 0;
    for (Py_ssize_t i = 0; i < len; i++) {
        if (s[i] < 0x20 || s[i] > 0x7e)
            return NULL; /* Python's \s also matches control characters */
        count += s[i] >= '0' && s[i] <= '9';
    }
    if (count == 0)
        return NULL; /* an invented number: Python's */
    Py_ssize_t keep = 0;
    if (memchr(s, '+', (size_t)len) != NULL) {
        /* _PREFIX: ^\s*(\+\d{1,3})[\s.\-(] */
        Py_ssize_t i = 0;
        while (i < len && s[i] == ' ')
            i++;
        if (i < len && s[i] == '+') {
            Py_ssize_t j = i + 1;
            while (j < len && s[j] >= '0' && s[j] <= '9')
                j++;
            Py_ssize_t run = j - i - 1;
            if (run >= 1 && run <= 3 && j < len &&
                (s[j] == ' ' || s[j] == '.' || s[j] == '-' || s[j] == '('))
                keep = j;
            Py_ssize_t after = 0; /* only a country code ("+1 "): it is replaced too */
            for (Py_ssize_t k = keep; k < len; k++)
                after += s[k] >= '0' && s[k] <= '9';
            if (after == 0)
                keep = 0;
        }
    }
    Py_ssize_t replace = 0;
    for (Py_ssize_t i = keep; i < len; i++)
        replace += s[i] >= '0' && s[i] <= '9';
    PyObject *out = PyUnicode_New(len, 127);
    if (out == NULL)
        return NULL;
    char *o = (char *)PyUnicode_1BYTE_DATA(out);
    memcpy(o, s, (size_t)len);
    if (replace == 0)
        return out; /* the source itself: Python re-draws */
    char stack[256];
    char *digits = replace <= (Py_ssize_t)sizeof(stack) ? stack : PyMem_Malloc((size_t)replace);
    if (digits == NULL) {
        Py_DECREF(out);
        return PyErr_NoMemory();
    }
    keyed_digits(digits, n, replace);
    if (digits[0] == '0')
        digits[0] = (char)('1' + n % 9);
    Py_ssize_t k = 0;
    for (Py_ssize_t i = keep; i < len; i++)
        if (o[i] >= '0' && o[i] <= '9')
            o[i] = digits[k++];
    if (digits != stack)
        PyMem_Free(digits);
    return out;
}

/* people.py FakeSsn.generate, for ASCII values (str.isdigit is Unicode-aware). */
static PyObject *
ssn_kernel(PyObject *params, PyObject *value, uint64_t n)
{
    if (!is_ascii_str(value))
        return NULL;
    PyObject *limit_obj = PyTuple_GET_ITEM(params, 0);
    Py_ssize_t limit = limit_obj == Py_None ? -1 : PyLong_AsSsize_t(limit_obj);
    Py_ssize_t len = PyUnicode_GET_LENGTH(value);
    const char *s = (const char *)PyUnicode_DATA(value);
    int isdigit = len > 0;
    for (Py_ssize_t i = 0; i < len && isdigit; i++)
        isdigit = s[i] >= '0' && s[i] <= '9';
    char buf[16], *p = buf;
    p += padded(p, 900 + n % 100, 3);
    int dashed = !isdigit && (limit < 0 || limit >= 11);
    if (dashed)
        *p++ = '-';
    p += padded(p, 1 + (n >> 8) % 99, 2);
    if (dashed)
        *p++ = '-';
    p += padded(p, 1 + (n >> 16) % 9999, 4);
    return ascii_str(buf, p - buf);
}

/* map_values(kind, keyed, params, values, out, start, excepted, keep_empty, redraw, seen)
 *   -> the index of the first value Python must mask itself, or len(values) when done.
 *
 * Fills out[start:stop] as Generator.map's loop would: None stays None, '' stays '' with
 * keep_empty, excepted values pass through, every other value gets the kernel's output. */
PyObject *
dbc_map_values(PyObject *module, PyObject *args)
{
    int kind, keep_empty, redraw;
    PyObject *keyed, *params, *values, *out, *excepted, *seen;
    Py_ssize_t start;
    if (!PyArg_ParseTuple(args, "iO!O!O!O!nOppO", &kind, &dbc_KeyedType, &keyed, &PyTuple_Type,
                          &params, &PyList_Type, &values, &PyList_Type, &out, &start, &excepted,
                          &keep_empty, &redraw, &seen))
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(values);
    if (PyList_GET_SIZE(out) != n || start < 0) {
        PyErr_SetString(PyExc_ValueError, "out must be as long as values");
        return NULL;
    }
    if (excepted != Py_None && !PyAnySet_Check(excepted)) {
        PyErr_SetString(PyExc_TypeError, "excepted must be a set or None");
        return NULL;
    }
    if (seen != Py_None && !PyObject_TypeCheck(seen, &dbc_SeenType)) {
        PyErr_SetString(PyExc_TypeError, "seen must be a Seen or None");
        return NULL;
    }
    int has_excepted = excepted != Py_None && PySet_GET_SIZE(excepted) > 0;
    for (Py_ssize_t i = start; i < n; i++) {
        PyObject *v = PyList_GET_ITEM(values, i);
        if (v == Py_None || (keep_empty && PyUnicode_CheckExact(v) &&
                             PyUnicode_GET_LENGTH(v) == 0)) {
            Py_INCREF(v);
            PyList_SetItem(out, i, v);
            continue;
        }
        if (!PyUnicode_CheckExact(v))
            return PyLong_FromSsize_t(i);
        if (has_excepted) {
            int found = PySet_Contains(excepted, v);
            if (found < 0)
                return NULL;
            if (found) {
                Py_INCREF(v);
                PyList_SetItem(out, i, v);
                continue;
            }
        }
        uint64_t num;
        if (dbc_keyed_number((KeyedObject *)keyed, v, &num) < 0)
            return NULL;
        PyObject *r;
        switch (kind) {
        case K_POOL: r = pool_kernel(params, num); break;
        case K_EMAIL: r = email_kernel(params, num); break;
        case K_PHONE: r = phone_kernel(v, num); break;
        case K_SSN: r = ssn_kernel(params, v, num); break;
        default:
            PyErr_SetString(PyExc_ValueError, "unknown kernel");
            return NULL;
        }
        if (r == NULL) {
            if (PyErr_Occurred())
                return NULL;
            return PyLong_FromSsize_t(i);
        }
        if (redraw) {
            int same = PyUnicode_Compare(r, v);
            if (same == -1 && PyErr_Occurred()) {
                Py_DECREF(r);
                return NULL;
            }
            if (same == 0) {
                Py_DECREF(r);
                return PyLong_FromSsize_t(i);
            }
        }
        if (seen != Py_None) {
            uint64_t h;
            if (dbc_digest8(r, &h) < 0) {
                Py_DECREF(r);
                return NULL;
            }
            int added = dbc_seen_add((SeenObject *)seen, h);
            if (added <= 0) {
                Py_DECREF(r);
                return added < 0 ? NULL : PyLong_FromSsize_t(i);
            }
        }
        PyList_SetItem(out, i, r);
    }
    return PyLong_FromSsize_t(n);
}

/* -- dates: structure.py DateShift.map's loop over plain ISO dates ------------------------ */

static const int DAYS_IN_MONTH[] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
static const int DAYS_BEFORE_MONTH[] = {0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};

static int
is_leap(long y)
{
    return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static long
days_before_year(long y)
{
    long y1 = y - 1;
    return y1 * 365 + y1 / 4 - y1 / 100 + y1 / 400;
}

static long
ymd_to_ord(long y, long m, long d)
{
    return days_before_year(y) + DAYS_BEFORE_MONTH[m] + (m > 2 && is_leap(y)) + d;
}

static void
ord_to_ymd(long ordinal, long *y, long *m, long *d)
{
    long n = ordinal - 1;
    long n400 = n / 146097;
    n %= 146097;
    long year = n400 * 400 + 1;
    long n100 = n / 36524;
    n %= 36524;
    long n4 = n / 1461;
    n %= 1461;
    long n1 = n / 365;
    n %= 365;
    year += n100 * 100 + n4 * 4 + n1;
    if (n1 == 4 || n100 == 4) { /* the last day of a leap cycle: Dec 31 of the year before */
        *y = year - 1;
        *m = 12;
        *d = 31;
        return;
    }
    int leap = n1 == 3 && (n4 != 24 || n100 == 3);
    long month = 1;
    while (month < 12) {
        long next = DAYS_BEFORE_MONTH[month + 1] + (month + 1 > 2 && leap);
        if (n < next)
            break;
        month++;
    }
    *y = year;
    *m = month;
    *d = n - (DAYS_BEFORE_MONTH[month] + (month > 2 && leap)) + 1;
}

/* YYYY-MM-DD in ASCII digits, a real day of years 1-9999; else 0. */
static long
iso_ordinal(PyObject *v)
{
    if (!PyUnicode_IS_ASCII(v) || PyUnicode_GET_LENGTH(v) != 10)
        return 0;
    const char *s = (const char *)PyUnicode_DATA(v);
    if (s[4] != '-' || s[7] != '-')
        return 0;
    long part[3] = {0, 0, 0};
    static const int at[3][2] = {{0, 4}, {5, 7}, {8, 10}};
    for (int k = 0; k < 3; k++)
        for (int i = at[k][0]; i < at[k][1]; i++) {
            if (s[i] < '0' || s[i] > '9')
                return 0;
            part[k] = part[k] * 10 + (s[i] - '0');
        }
    long y = part[0], m = part[1], d = part[2];
    if (y < 1 || m < 1 || m > 12 || d < 1)
        return 0;
    if (d > DAYS_IN_MONTH[m] + (m == 2 && is_leap(y)))
        return 0;
    return ymd_to_ord(y, m, d);
}

/* shift_dates(keyed, values, entities, out, start, lo, span, zero, excepted) -> stop index
 *
 * entities: each row's entity key (any object: its str() is hashed, as in Python).
 * Each plain ISO date moves by its entity's keyed offset (lo + number(entity) % span, or
 * zero for an offset of 0); anything else (NULL, '', a time part, an excepted value, an
 * invalid or out-of-range date) stops the loop for Python's DateShift.__call__. */
PyObject *
dbc_shift_dates(PyObject *module, PyObject *args)
{
    PyObject *keyed, *values, *entities, *out, *excepted;
    Py_ssize_t start;
    long long lo, span, zero;
    if (!PyArg_ParseTuple(args, "O!O!O!O!nLLLO", &dbc_KeyedType, &keyed, &PyList_Type, &values,
                          &PyList_Type, &entities, &PyList_Type, &out, &start, &lo, &span,
                          &zero, &excepted))
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(values);
    if (PyList_GET_SIZE(out) != n || PyList_GET_SIZE(entities) != n || span <= 0 || start < 0) {
        PyErr_SetString(PyExc_ValueError, "values, entities and out must be as long");
        return NULL;
    }
    int has_excepted = excepted != Py_None && PyAnySet_Check(excepted) &&
                       PySet_GET_SIZE(excepted) > 0;
    for (Py_ssize_t i = start; i < n; i++) {
        PyObject *v = PyList_GET_ITEM(values, i), *entity = PyList_GET_ITEM(entities, i);
        if (v == Py_None || !PyUnicode_CheckExact(v))
            return PyLong_FromSsize_t(i);
        long ordinal = iso_ordinal(v);
        if (ordinal == 0)
            return PyLong_FromSsize_t(i);
        if (has_excepted) {
            int found = PySet_Contains(excepted, v);
            if (found < 0)
                return NULL;
            if (found)
                return PyLong_FromSsize_t(i);
        }
        uint64_t num;
        /* str() of a key that is not text, as DateShift.map does ('None' for NULL) */
        PyObject *text = PyUnicode_CheckExact(entity) ? (Py_INCREF(entity), entity)
                                                      : PyObject_Str(entity);
        if (text == NULL)
            return NULL;
        int failed = dbc_keyed_number((KeyedObject *)keyed, text, &num) < 0;
        Py_DECREF(text);
        if (failed)
            return NULL;
        long long off = lo + (long long)(num % (uint64_t)span);
        if (off == 0)
            off = zero;
        long long shifted = (long long)ordinal + off;
        if (shifted < 1 || shifted > 3652059) /* date.min .. date.max */
            return PyLong_FromSsize_t(i);
        long y, m, d;
        ord_to_ymd((long)shifted, &y, &m, &d);
        char buf[10];
        padded(buf, (uint64_t)y, 4);
        buf[4] = '-';
        padded(buf + 5, (uint64_t)m, 2);
        buf[7] = '-';
        padded(buf + 8, (uint64_t)d, 2);
        PyObject *r = ascii_str(buf, 10);
        if (r == NULL)
            return NULL;
        PyList_SetItem(out, i, r);
    }
    return PyLong_FromSsize_t(n);
}
