/* The module: its functions and types (native.h says what each file holds). */
#include "native.h"

PyObject *dbc_FormatError; /* dbclone._native.FormatError(ValueError) */

static PyObject *
digest8(PyObject *module, PyObject *text)
{
    uint64_t h;
    if (dbc_digest8(text, &h) < 0)
        return NULL;
    return PyLong_FromUnsignedLongLong(h);
}

static PyMethodDef module_methods[] = {
    {"copy_mask_block", dbc_copy_mask_block, METH_VARARGS,
     "copy_mask_block(data, width, reads, masked, mask, nulls=None) -> (bytes, rows)"},
    {"map_values", dbc_map_values, METH_VARARGS,
     "map_values(kind, keyed, params, values, out, start, excepted, keep_empty, redraw, seen)"
     " -> the index of the first value Python must mask"},
    {"shift_dates", dbc_shift_dates, METH_VARARGS,
     "shift_dates(keyed, values, entities, out, start, lo, span, zero, excepted)"
     " -> the index of the first value Python must mask"},
    {"digest8", digest8, METH_O, "digest8(text) -> the 8-byte digest of a unique output"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef native_module = {
    PyModuleDef_HEAD_INIT, "dbclone._native",
    "The per-value hot path of masking in C (optional; see dbclone/native.py).", -1,
    module_methods};

static int
add_type(PyObject *m, const char *name, PyTypeObject *type)
{
    if (PyType_Ready(type) < 0)
        return -1;
    Py_INCREF(type);
    if (PyModule_AddObject(m, name, (PyObject *)type) < 0) {
        Py_DECREF(type);
        return -1;
    }
    return 0;
}

PyMODINIT_FUNC
PyInit__native(void)
{
    PyObject *m = PyModule_Create(&native_module);
    if (m == NULL)
        return NULL;
    if (add_type(m, "Keyed", &dbc_KeyedType) < 0 || add_type(m, "Seen", &dbc_SeenType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    dbc_FormatError = PyErr_NewException("dbclone._native.FormatError", PyExc_ValueError, NULL);
    if (dbc_FormatError == NULL || PyModule_AddObject(m, "FormatError", dbc_FormatError) < 0) {
        Py_XDECREF(dbc_FormatError);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
