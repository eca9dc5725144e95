/* copy_mask_block: one block of PostgreSQL COPY text rows (or the MariaDB client's text rows)
 * -> the same rows with the masked fields replaced, decoding only the fields masking reads
 * and re-escaping only those it wrote; every other byte is copied as it came. */
#include "native.h"

int
dbc_buf_reserve(Buffer *b, Py_ssize_t more)
{
    if (b->len + more <= b->cap)
        return 0;
    Py_ssize_t cap = b->cap ? b->cap : 1 << 16;
    while (cap < b->len + more)
        cap *= 2;
    char *grown = PyMem_Realloc(b->buf, (size_t)cap);
    if (grown == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->buf = grown;
    b->cap = cap;
    return 0;
}

int
dbc_buf_add(Buffer *b, const char *data, Py_ssize_t n)
{
    if (dbc_buf_reserve(b, n) < 0)
        return -1;
    memcpy(b->buf + b->len, data, (size_t)n);
    b->len += n;
    return 0;
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The field's text as the masker sees it: None for \N, else the unescaped bytes decoded as
 * UTF-8 with surrogateescape (a non-UTF-8 byte survives the round trip). */
static PyObject *
decode_field(const char *s, Py_ssize_t n, Buffer *scratch)
{
    const char *bs = memchr(s, '\\', (size_t)n);
    if (bs == NULL)
        return PyUnicode_DecodeUTF8(s, n, "surrogateescape");
    if (n == 2 && s[0] == '\\' && s[1] == 'N')
        Py_RETURN_NONE;
    scratch->len = 0;
    if (dbc_buf_reserve(scratch, n) < 0)
        return NULL;
    char *out = scratch->buf;
    Py_ssize_t o = 0, i = 0;
    while (i < n) {
        char c = s[i];
        if (c != '\\' || i + 1 >= n) { /* a trailing lone backslash stays itself */
            out[o++] = c;
            i++;
            continue;
        }
        char e = s[i + 1];
        if (e >= '0' && e <= '7') {
            int v = 0, k = 0;
            while (k < 3 && i + 1 + k < n && s[i + 1 + k] >= '0' && s[i + 1 + k] <= '7') {
                v = v * 8 + (s[i + 1 + k] - '0');
                k++;
            }
            out[o++] = (char)(v & 0xFF);
            i += 1 + k;
        } else if (e == 'x' && i + 2 < n && hexval(s[i + 2]) >= 0) {
            int v = hexval(s[i + 2]), k = 1;
            if (i + 3 < n && hexval(s[i + 3]) >= 0) {
                v = v * 16 + hexval(s[i + 3]);
                k = 2;
            }
            out[o++] = (char)v;
            i += 2 + k;
        } else {
            switch (e) {
            case 'b': out[o++] = '\b'; break;
            case 'f': out[o++] = '\f'; break;
            case 'n': out[o++] = '\n'; break;
            case 'r': out[o++] = '\r'; break;
            case 't': out[o++] = '\t'; break;
            case 'v': out[o++] = '\v'; break;
            default: out[o++] = e; break;
            }
            i += 2;
        }
    }
    return PyUnicode_DecodeUTF8(out, o, "surrogateescape");
}

/* What each format escapes: ESCAPES[format][byte] is the letter after the backslash, 0 for a
 * byte written as it is. */
enum { PG_TEXT = 0, MYSQL_TEXT = 1 };
static const char ESCAPES[2][256] = {
    [PG_TEXT] = {['\\'] = '\\', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't', ['\b'] = 'b',
                 ['\f'] = 'f', ['\v'] = 'v'},
    [MYSQL_TEXT] = {['\\'] = '\\', ['\t'] = 't', ['\n'] = 'n', ['\0'] = '0'},
};

/* A masked value in the format: \N for None, else its text (str() of a non-str) as UTF-8
 * with surrogateescape, with what the format escapes escaped. */
static int
encode_field(Buffer *b, PyObject *value, int format)
{
    if (value == Py_None)
        return dbc_buf_add(b, "\\N", 2);
    PyObject *text = NULL, *bytes = NULL;
    if (PyUnicode_CheckExact(value)) {
        text = value;
        Py_INCREF(text);
    } else {
        text = PyObject_Str(value);
        if (text == NULL)
            return -1;
    }
    const char *s;
    Py_ssize_t n;
    if (PyUnicode_IS_ASCII(text)) {
        s = (const char *)PyUnicode_DATA(text);
        n = PyUnicode_GET_LENGTH(text);
    } else {
        bytes = PyUnicode_AsEncodedString(text, "utf-8", "surrogateescape");
        if (bytes == NULL) {
            Py_DECREF(text);
            return -1;
        }
        s = PyBytes_AS_STRING(bytes);
        n = PyBytes_GET_SIZE(bytes);
    }
    int rc = dbc_buf_reserve(b, 2 * n);
    if (rc == 0) {
        const char *escapes = ESCAPES[format];
        char *out = b->buf + b->len;
        for (Py_ssize_t i = 0; i < n; i++) {
            char e = escapes[(unsigned char)s[i]];
            if (e) {
                *out++ = '\\';
                *out++ = e;
            } else {
                *out++ = s[i];
            }
        }
        b->len = out - b->buf;
    }
    Py_XDECREF(bytes);
    Py_DECREF(text);
    return rc;
}

/* The MySQL client's batch text (SELECT ... in `mariadb --batch`, read by LOAD DATA):
 * NULL is a per-column token, and a backslash escapes the next byte (\0, \t, \n stand for
 * NUL, tab and newline; any other byte for itself). */
static PyObject *
decode_mysql(const char *s, Py_ssize_t n, PyObject *null, Buffer *scratch)
{
    if (null != Py_None && PyBytes_GET_SIZE(null) == n &&
        memcmp(PyBytes_AS_STRING(null), s, (size_t)n) == 0)
        Py_RETURN_NONE;
    const char *bs = memchr(s, '\\', (size_t)n);
    if (bs == NULL)
        return PyUnicode_DecodeUTF8(s, n, "surrogateescape");
    scratch->len = 0;
    if (dbc_buf_reserve(scratch, n) < 0)
        return NULL;
    char *out = scratch->buf;
    Py_ssize_t o = 0, i = 0;
    while (i < n) {
        char c = s[i];
        if (c != '\\' || i + 1 >= n) {
            out[o++] = c;
            i++;
            continue;
        }
        char e = s[i + 1];
        out[o++] = e == '0' ? '\0' : e == 't' ? '\t' : e == 'n' ? '\n' : e;
        i += 2;
    }
    return PyUnicode_DecodeUTF8(out, o, "surrogateescape");
}



/* copy_mask_block(data, width, reads, masked, mask, nulls=None) -> (bytes, rows)
 *
 * data: whole rows, each ending in \n. reads: the field positions masking reads, ascending;
 * masked: the positions it writes, a subset of reads. mask(columns) gets one list of decoded
 * values per read position and returns one list per masked position.
 * nulls: None for PostgreSQL's COPY text; for the MySQL client's text, the NULL token of
 * each read position (bytes, or None where the column has none). */
PyObject *
dbc_copy_mask_block(PyObject *module, PyObject *args)
{
    Py_buffer data;
    Py_ssize_t width;
    PyObject *reads_obj, *masked_obj, *mask, *nulls = Py_None;
    if (!PyArg_ParseTuple(args, "y*nOOO|O", &data, &width, &reads_obj, &masked_obj, &mask,
                          &nulls))
        return NULL;
    int mysql = nulls != Py_None;
    PyObject *result = NULL, *columns = NULL, *masked_cols = NULL;
    Py_ssize_t *slot = NULL, *spans = NULL, *mslot = NULL;
    Buffer scratch = {0}, out = {0};
    const char *s = data.buf;
    Py_ssize_t total = data.len;

    Py_ssize_t nreads = PyTuple_Size(reads_obj), nmasked = PyTuple_Size(masked_obj);
    if (nreads < 0 || nmasked < 0 || width <= 0)
        goto done;
    if (mysql) {
        if (!PyTuple_Check(nulls) || PyTuple_GET_SIZE(nulls) != nreads) {
            PyErr_SetString(PyExc_ValueError, "nulls must be a tuple, one per read position");
            goto done;
        }
        for (Py_ssize_t k = 0; k < nreads; k++) {
            PyObject *t = PyTuple_GET_ITEM(nulls, k);
            if (t != Py_None && !PyBytes_Check(t)) {
                PyErr_SetString(PyExc_TypeError, "a NULL token must be bytes or None");
                goto done;
            }
        }
    }
    /* slot[pos]: index of pos in reads, or -1; mslot[j]: index in reads of masked[j] */
    slot = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)width);
    mslot = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)(nmasked + 1));
    if (slot == NULL || mslot == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t p = 0; p < width; p++)
        slot[p] = -1;
    for (Py_ssize_t k = 0; k < nreads; k++) {
        Py_ssize_t pos = PyLong_AsSsize_t(PyTuple_GET_ITEM(reads_obj, k));
        if (pos < 0 || pos >= width) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "a read position is out of range");
            goto done;
        }
        slot[pos] = k;
    }
    for (Py_ssize_t j = 0; j < nmasked; j++) {
        Py_ssize_t pos = PyLong_AsSsize_t(PyTuple_GET_ITEM(masked_obj, j));
        if (pos < 0 || pos >= width || slot[pos] < 0) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "a masked position is not read");
            goto done;
        }
        mslot[j] = slot[pos];
        if (j > 0 && mslot[j] <= mslot[j - 1]) {
            PyErr_SetString(PyExc_ValueError, "masked positions must ascend");
            goto done;
        }
    }

    Py_ssize_t rows = 0;
    for (Py_ssize_t i = 0; i < total; i++)
        rows += s[i] == '\n';
    if (total && s[total - 1] != '\n') {
        PyErr_SetString(PyExc_ValueError, "the block does not end with a whole row");
        goto done;
    }
    /* spans[(row * nreads + k) * 2 + {0,1}]: start and end of read field k of the row */
    spans = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)(2 * (rows * nreads + 1)));
    columns = PyList_New(nreads);
    if (spans == NULL || columns == NULL) {
        if (spans == NULL)
            PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t k = 0; k < nreads; k++) {
        PyObject *col = PyList_New(rows);
        if (col == NULL)
            goto done;
        PyList_SET_ITEM(columns, k, col);
    }

    Py_ssize_t start = 0;
    for (Py_ssize_t r = 0; r < rows; r++) {
        const char *line = s + start;
        const char *nl = memchr(line, '\n', (size_t)(total - start));
        Py_ssize_t end = nl - s;
        Py_ssize_t field = 0, fstart = start;
        for (Py_ssize_t i = start; i <= end; i++) {
            if (i < end && s[i] != '\t')
                continue;
            if (field < width && slot[field] >= 0) {
                Py_ssize_t k = slot[field];
                spans[(r * nreads + k) * 2] = fstart;
                spans[(r * nreads + k) * 2 + 1] = i;
                PyObject *v = mysql ? decode_mysql(s + fstart, i - fstart,
                                                   PyTuple_GET_ITEM(nulls, k), &scratch)
                                    : decode_field(s + fstart, i - fstart, &scratch);
                if (v == NULL)
                    goto done;
                PyList_SET_ITEM(PyList_GET_ITEM(columns, k), r, v);
            }
            field++;
            fstart = i + 1;
        }
        if (field != width) {
            /* args (fields found, fields expected), never the row: it may hold the values
             * being masked; the caller words the message */
            PyObject *exc_args = Py_BuildValue("(nn)", field, width);
            if (exc_args != NULL) {
                PyErr_SetObject(dbc_FormatError, exc_args);
                Py_DECREF(exc_args);
            }
            goto done;
        }
        start = end + 1;
    }

    masked_cols = PyObject_CallOneArg(mask, columns);
    if (masked_cols == NULL)
        goto done;
    if (!PyList_Check(masked_cols) || PyList_GET_SIZE(masked_cols) != nmasked) {
        PyErr_SetString(PyExc_TypeError, "mask() must return one list per masked position");
        goto done;
    }
    for (Py_ssize_t j = 0; j < nmasked; j++) {
        PyObject *col = PyList_GET_ITEM(masked_cols, j);
        if (!PyList_Check(col) || PyList_GET_SIZE(col) != rows) {
            PyErr_SetString(PyExc_TypeError, "mask() must return a value per row");
            goto done;
        }
    }

    if (dbc_buf_reserve(&out, total + 64) < 0)
        goto done;
    start = 0;
    for (Py_ssize_t r = 0; r < rows; r++) {
        Py_ssize_t at = start;
        for (Py_ssize_t j = 0; j < nmasked; j++) {
            Py_ssize_t k = mslot[j];
            Py_ssize_t fs = spans[(r * nreads + k) * 2], fe = spans[(r * nreads + k) * 2 + 1];
            if (dbc_buf_add(&out, s + at, fs - at) < 0)
                goto done;
            PyObject *v = PyList_GET_ITEM(PyList_GET_ITEM(masked_cols, j), r);
            if (encode_field(&out, v, mysql ? MYSQL_TEXT : PG_TEXT) < 0)
                goto done;
            at = fe;
        }
        const char *nl = memchr(s + at, '\n', (size_t)(total - at));
        Py_ssize_t end = nl - s;
        if (dbc_buf_add(&out, s + at, end + 1 - at) < 0)
            goto done;
        start = end + 1;
    }
    PyObject *bytes = PyBytes_FromStringAndSize(out.buf, out.len);
    if (bytes == NULL)
        goto done;
    result = Py_BuildValue("(Nn)", bytes, rows);

done:
    PyBuffer_Release(&data);
    Py_XDECREF(columns);
    Py_XDECREF(masked_cols);
    PyMem_Free(slot);
    PyMem_Free(mslot);
    PyMem_Free(spans);
    PyMem_Free(scratch.buf);
    PyMem_Free(out.buf);
    return result;
}

