/* Seen: the outputs a unique column has produced so far, as transform/seen.py keeps them,
 * answer for answer: the first exact_limit digests in an exact set, then blocked Bloom
 * filters of 16 bits an entry, each new one twice the last. The two must agree on every
 * "seen" (a Bloom filter's false ones included), since a "seen" re-draws the value: with
 * one secret, a run with this module and one without write the same outputs. */
#include "native.h"
#include <math.h>

#define BITS_PER_ENTRY 16

static uint64_t
bloom_bits(uint64_t h)
{
    return (1ULL << ((h >> 28) & 63)) | (1ULL << ((h >> 34) & 63)) |
           (1ULL << ((h >> 40) & 63)) | (1ULL << ((h >> 46) & 63)) |
           (1ULL << ((h >> 52) & 63)) | (1ULL << (h >> 58));
}

static int
bloom_init(Bloom *b, Py_ssize_t capacity)
{
    /* a power of two of words, at most 2**28: seen.py's _Bloom, float for float */
    double need = ceil(log2((double)capacity * BITS_PER_ENTRY / 64));
    int bits = need < 6 ? 6 : need > 28 ? 28 : (int)need;
    size_t nwords = (size_t)1 << bits;
    b->words = PyMem_Calloc(nwords, sizeof(uint64_t));
    if (b->words == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->mask = nwords - 1;
    b->capacity = capacity;
    b->count = 0;
    return 0;
}

static int
exact_has(SeenObject *self, uint64_t h)
{
    if (h == 0)
        return self->has_zero;
    if (self->table == NULL)
        return 0;
    size_t mask = (size_t)self->table_size - 1;
    for (size_t i = (size_t)(h * 0x9E3779B97F4A7C15ULL >> 20) & mask;; i = (i + 1) & mask) {
        if (self->table[i] == h)
            return 1;
        if (self->table[i] == 0)
            return 0;
    }
}

static int
exact_insert(uint64_t *table, Py_ssize_t size, uint64_t h)
{
    size_t mask = (size_t)size - 1;
    for (size_t i = (size_t)(h * 0x9E3779B97F4A7C15ULL >> 20) & mask;; i = (i + 1) & mask) {
        if (table[i] == 0) {
            table[i] = h;
            return 1;
        }
        if (table[i] == h)
            return 0;
    }
}

static int
exact_add(SeenObject *self, uint64_t h)
{
    if (h == 0) {
        self->has_zero = 1;
        return 0;
    }
    if ((self->table_count + 1) * 2 > self->table_size) { /* grow: load stays under 1/2 */
        Py_ssize_t size = self->table_size ? self->table_size * 2 : 1024;
        uint64_t *grown = PyMem_Calloc((size_t)size, sizeof(uint64_t));
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        for (Py_ssize_t i = 0; i < self->table_size; i++)
            if (self->table[i])
                exact_insert(grown, size, self->table[i]);
        PyMem_Free(self->table);
        self->table = grown;
        self->table_size = size;
    }
    self->table_count += exact_insert(self->table, self->table_size, h);
    return 0;
}

int
dbc_seen_add(SeenObject *self, uint64_t h)
{
    if (exact_has(self, h))
        return 0;
    if (self->nblooms == 0) {
        if (self->table_count + self->has_zero < self->exact_limit)
            return exact_add(self, h) < 0 ? -1 : 1;
        Bloom *first = PyMem_Malloc(sizeof(Bloom));
        if (first == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        if (bloom_init(first, self->first_bloom) < 0) {
            PyMem_Free(first);
            return -1;
        }
        self->blooms = first;
        self->nblooms = 1;
    }
    uint64_t bits = bloom_bits(h);
    for (Py_ssize_t i = 0; i < self->nblooms; i++) {
        Bloom *b = &self->blooms[i];
        if ((b->words[h & b->mask] & bits) == bits)
            return 0;
    }
    Bloom *last = &self->blooms[self->nblooms - 1];
    if (last->count >= last->capacity) {
        Bloom *grown = PyMem_Realloc(self->blooms, sizeof(Bloom) * (size_t)(self->nblooms + 1));
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        self->blooms = grown;
        Py_ssize_t capacity = grown[self->nblooms - 1].capacity * 2;
        if (bloom_init(&grown[self->nblooms], capacity) < 0)
            return -1;
        self->nblooms++;
        last = &self->blooms[self->nblooms - 1];
    }
    last->words[h & last->mask] |= bits;
    last->count++;
    return 1;
}

static int
Seen_init(SeenObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"exact_limit", "first_bloom", NULL};
    Py_ssize_t exact_limit = 1 << 18, first_bloom = 1 << 20; /* seen.py's defaults */
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|nn", kwlist, &exact_limit, &first_bloom))
        return -1;
    if (exact_limit < 0 || first_bloom < 1) {
        PyErr_SetString(PyExc_ValueError, "exact_limit >= 0 and first_bloom >= 1");
        return -1;
    }
    self->exact_limit = exact_limit;
    self->first_bloom = first_bloom;
    return 0;
}

static void
Seen_dealloc(SeenObject *self)
{
    PyMem_Free(self->table);
    for (Py_ssize_t i = 0; i < self->nblooms; i++)
        PyMem_Free(self->blooms[i].words);
    PyMem_Free(self->blooms);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
Seen_add_if_new(SeenObject *self, PyObject *arg)
{
    uint64_t h = PyLong_AsUnsignedLongLong(arg);
    if (h == (uint64_t)-1 && PyErr_Occurred())
        return NULL;
    int added = dbc_seen_add(self, h);
    if (added < 0)
        return NULL;
    return PyBool_FromLong(added);
}

static Py_ssize_t
Seen_len(SeenObject *self)
{
    Py_ssize_t n = self->table_count + self->has_zero;
    for (Py_ssize_t i = 0; i < self->nblooms; i++)
        n += self->blooms[i].count;
    return n;
}

static PyObject *
Seen_nbytes(SeenObject *self, void *closure)
{
    Py_ssize_t n = 0;
    for (Py_ssize_t i = 0; i < self->nblooms; i++)
        n += (Py_ssize_t)((self->blooms[i].mask + 1) * sizeof(uint64_t));
    return PyLong_FromSsize_t(n);
}

static PyMethodDef Seen_methods[] = {
    {"add_if_new", (PyCFunction)Seen_add_if_new, METH_O,
     "add_if_new(h) -> True (and remembered) when digest h was never added before"},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef Seen_getset[] = {
    {"nbytes", (getter)Seen_nbytes, NULL, "bytes held by the Bloom filters", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PySequenceMethods Seen_as_sequence = {.sq_length = (lenfunc)Seen_len};

PyTypeObject dbc_SeenType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "dbclone._native.Seen",
    .tp_basicsize = sizeof(SeenObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Seen(exact_limit=262144, first_bloom=1048576): transform/seen.py's SeenSet",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Seen_init,
    .tp_dealloc = (destructor)Seen_dealloc,
    .tp_methods = Seen_methods,
    .tp_getset = Seen_getset,
    .tp_as_sequence = &Seen_as_sequence,
};
