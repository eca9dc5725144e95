/* dbclone._native: the per-value hot path of masking, in C.
 *
 * Optional: when the extension cannot be built (no compiler, no OpenSSL headers) dbclone runs
 * the pure-Python code it mirrors, which gives the same values and bytes
 * (tests/test_native.py holds the two to that). One file per part:
 *  - keyed.c:   Keyed, HMAC-SHA256 under one domain key (transform/keyed.py)
 *  - seen.c:    Seen, the outputs of a unique column so far (transform/seen.py)
 *  - codec.c:   copy_mask_block, a block of COPY / MariaDB client text rows masked
 *               (dialects/postgresql/copy_text.py, dialects/mysql/client_pipe.py)
 *  - kernels.c: map_values / shift_dates, the per-value loops of the commonest generators
 *               (transform/generators/: pools, e-mail, phone, SSN, date_shift)
 */
#ifndef DBCLONE_NATIVE_H
#define DBCLONE_NATIVE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* SHA256_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP, whose context
 * allocation per call would cost more than the hash of a short value. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

typedef struct {
    PyObject_HEAD
    SHA256_CTX inner; /* after K_d xor ipad */
    SHA256_CTX outer; /* after K_d xor opad */
} KeyedObject;

typedef struct {
    uint64_t *words;
    uint64_t mask;
    Py_ssize_t capacity, count;
} Bloom;

typedef struct {
    PyObject_HEAD
    uint64_t *table; /* open addressing; 0 marks an empty slot (has_zero holds digest 0) */
    Py_ssize_t table_size, table_count;
    int has_zero;
    Py_ssize_t exact_limit, first_bloom;
    Bloom *blooms;
    Py_ssize_t nblooms;
} SeenObject;

typedef struct {
    char *buf;
    Py_ssize_t len, cap;
} Buffer;

extern PyTypeObject dbc_KeyedType;
extern PyTypeObject dbc_SeenType;
extern PyObject *dbc_FormatError;

/* keyed.c */
const char *dbc_utf8_of(PyObject *value, Py_ssize_t *len, PyObject **owner);
int dbc_keyed_number(KeyedObject *self, PyObject *value, uint64_t *out);
int dbc_digest8(PyObject *text, uint64_t *out);

/* seen.c */
int dbc_seen_add(SeenObject *self, uint64_t h); /* 1 new, 0 seen before, -1 error */

/* codec.c */
int dbc_buf_reserve(Buffer *b, Py_ssize_t more);
int dbc_buf_add(Buffer *b, const char *data, Py_ssize_t n);
PyObject *dbc_copy_mask_block(PyObject *module, PyObject *args);

/* kernels.c */
PyObject *dbc_map_values(PyObject *module, PyObject *args);
PyObject *dbc_shift_dates(PyObject *module, PyObject *args);

#endif
