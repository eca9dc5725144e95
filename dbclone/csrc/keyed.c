/* Keyed: HMAC-SHA256 with a domain key whose padded inner and outer blocks are hashed once,
 * so a value costs two SHA-256 finals (OpenSSL uses the CPU's SHA instructions); number()
 * is the first 8 bytes of the MAC as an unsigned big-endian integer (transform/keyed.py). */
#include "native.h"

static int
Keyed_init(KeyedObject *self, PyObject *args, PyObject *kwds)
{
    Py_buffer ipad, opad;
    static char *kwlist[] = {"inner_pad", "outer_pad", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "y*y*", kwlist, &ipad, &opad))
        return -1;
    if (ipad.len != SHA256_CBLOCK || opad.len != SHA256_CBLOCK) {
        PyBuffer_Release(&ipad);
        PyBuffer_Release(&opad);
        PyErr_SetString(PyExc_ValueError, "pads must be 64 bytes each");
        return -1;
    }
    SHA256_Init(&self->inner);
    SHA256_Update(&self->inner, ipad.buf, (size_t)ipad.len);
    SHA256_Init(&self->outer);
    SHA256_Update(&self->outer, opad.buf, (size_t)opad.len);
    PyBuffer_Release(&ipad);
    PyBuffer_Release(&opad);
    return 0;
}

/* The UTF-8 of a str with lone surrogates passed through (Python's "surrogatepass"), as
 * transform/keyed.py hashes it. *owner gets a new reference when a bytes object had to be
 * made; the caller releases it. */
const char *
dbc_utf8_of(PyObject *value, Py_ssize_t *len, PyObject **owner)
{
    *owner = NULL;
    if (!PyUnicode_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "keyed values must be str");
        return NULL;
    }
    if (PyUnicode_IS_ASCII(value)) {
        *len = PyUnicode_GET_LENGTH(value);
        return (const char *)PyUnicode_DATA(value);
    }
    const char *s = PyUnicode_AsUTF8AndSize(value, len);
    if (s != NULL)
        return s;
    PyErr_Clear(); /* lone surrogates: encode them as surrogatepass does */
    *owner = PyUnicode_AsEncodedString(value, "utf-8", "surrogatepass");
    if (*owner == NULL)
        return NULL;
    *len = PyBytes_GET_SIZE(*owner);
    return PyBytes_AS_STRING(*owner);
}

static void
keyed_mac(KeyedObject *self, const char *data, Py_ssize_t len,
          unsigned char digest[SHA256_DIGEST_LENGTH])
{
    SHA256_CTX ctx = self->inner;
    SHA256_Update(&ctx, data, (size_t)len);
    SHA256_Final(digest, &ctx);
    ctx = self->outer;
    SHA256_Update(&ctx, digest, SHA256_DIGEST_LENGTH);
    SHA256_Final(digest, &ctx);
}

/* The first 8 bytes, big-endian, of the MAC of the value's UTF-8 under ``keyed``, or of its
 * plain SHA-256 when ``keyed`` is NULL. */
static int
first8(KeyedObject *keyed, PyObject *value, uint64_t *out)
{
    Py_ssize_t len;
    PyObject *owner;
    const char *data = dbc_utf8_of(value, &len, &owner);
    if (data == NULL)
        return -1;
    unsigned char digest[SHA256_DIGEST_LENGTH];
    if (keyed != NULL) {
        keyed_mac(keyed, data, len, digest);
    } else {
        SHA256_CTX ctx; /* not SHA256(): in OpenSSL 3 it fetches the algorithm every call */
        SHA256_Init(&ctx);
        SHA256_Update(&ctx, data, (size_t)len);
        SHA256_Final(digest, &ctx);
    }
    Py_XDECREF(owner);
    uint64_t n = 0;
    for (int i = 0; i < 8; i++)
        n = (n << 8) | digest[i];
    *out = n;
    return 0;
}

/* transform/keyed.py Keyer.number */
int
dbc_keyed_number(KeyedObject *self, PyObject *value, uint64_t *out)
{
    return first8(self, value, out);
}

static PyObject *
Keyed_number(KeyedObject *self, PyObject *value)
{
    uint64_t n;
    if (dbc_keyed_number(self, value, &n) < 0)
        return NULL;
    return PyLong_FromUnsignedLongLong(n);
}

static PyObject *
Keyed_digest(KeyedObject *self, PyObject *value)
{
    Py_ssize_t len;
    PyObject *owner;
    const char *data = dbc_utf8_of(value, &len, &owner);
    if (data == NULL)
        return NULL;
    unsigned char digest[SHA256_DIGEST_LENGTH];
    keyed_mac(self, data, len, digest);
    Py_XDECREF(owner);
    return PyBytes_FromStringAndSize((const char *)digest, SHA256_DIGEST_LENGTH);
}

static PyObject *
Keyed_numbers(KeyedObject *self, PyObject *values)
{
    PyObject *seq = PySequence_Fast(values, "numbers() takes a sequence of str");
    if (seq == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    PyObject *out = PyList_New(n);
    if (out == NULL)
        goto fail;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint64_t number;
        if (dbc_keyed_number(self, items[i], &number) < 0)
            goto fail;
        PyObject *num = PyLong_FromUnsignedLongLong(number);
        if (num == NULL)
            goto fail;
        PyList_SET_ITEM(out, i, num);
    }
    Py_DECREF(seq);
    return out;
fail:
    Py_XDECREF(out);
    Py_DECREF(seq);
    return NULL;
}

static PyMethodDef Keyed_methods[] = {
    {"number", (PyCFunction)Keyed_number, METH_O,
     "number(value) -> the first 8 bytes of HMAC-SHA256(K_d, value) as an int"},
    {"numbers", (PyCFunction)Keyed_numbers, METH_O,
     "numbers(values) -> [number(v) for v in values]"},
    {"digest", (PyCFunction)Keyed_digest, METH_O,
     "digest(value) -> HMAC-SHA256(K_d, value)"},
    {NULL, NULL, 0, NULL}};

PyTypeObject dbc_KeyedType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "dbclone._native.Keyed",
    .tp_basicsize = sizeof(KeyedObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Keyed(inner_pad, outer_pad): HMAC-SHA256 under one domain key",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Keyed_init,
    .tp_methods = Keyed_methods,
};


/* The 8-byte digest a unique column's outputs are tracked by (transform/base.py digest8):
 * SHA-256 of the text's UTF-8 (surrogatepass). */
int
dbc_digest8(PyObject *text, uint64_t *out)
{
    return first8(NULL, text, out);
}
