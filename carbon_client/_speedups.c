/* Optional C versions of the rate engine's arithmetic and of line rendering.
 *
 * rates() and rates_rows() compute per-second rates as the Python engine
 * does (carbon_client/sampling.py). render() writes the lines carbon_client.lines would write for the same
 * values, byte for byte: floats through the same conversion Python's own
 * formatting uses (PyOS_double_to_string: 'g' with 12 digits for rates, the
 * shortest repr for exact values), ints as decimal. Whenever a value is
 * anything else (a bool, a str, a NaN...) it returns -1 having written
 * nothing, and the caller renders the group the Python way, which decides
 * what such a value becomes. Tested against the Python renderer in
 * tests/test_speedups.py.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

typedef struct {
    char *p;
    Py_ssize_t len, cap;
} buf_t;

static int
buf_reserve(buf_t *b, Py_ssize_t more)
{
    if (b->len + more <= b->cap)
        return 0;
    Py_ssize_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more)
        cap *= 2;
    char *p = PyMem_Realloc(b->p, (size_t)cap);
    if (p == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

static int
buf_add(buf_t *b, const char *s, Py_ssize_t n)
{
    if (buf_reserve(b, n) < 0)
        return -1;
    memcpy(b->p + b->len, s, (size_t)n);
    b->len += n;
    return 0;
}

/* 1 written, 0 not renderable here (no exception), -1 error. */
static int
add_value(buf_t *b, PyObject *v, int rate)
{
    if (PyFloat_CheckExact(v)) {
        double d = PyFloat_AS_DOUBLE(v);
        if (!Py_IS_FINITE(d))
            return 0;
        char *s = rate ? PyOS_double_to_string(d, 'g', 12, 0, NULL)
                       : PyOS_double_to_string(d, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
        if (s == NULL)
            return -1;
        int rc = buf_add(b, s, (Py_ssize_t)strlen(s));
        PyMem_Free(s);
        return rc < 0 ? -1 : 1;
    }
    /* An int where a rate is due: the Python renderers do not agree on its
     * form (f-string '.12g' or str), so theirs is the choice. */
    if (PyLong_CheckExact(v) && !rate) {
        int overflow;
        long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (x == -1 && PyErr_Occurred())
            return -1;
        if (!overflow) {
            char tmp[24];
            int n = snprintf(tmp, sizeof tmp, "%lld", x);
            return buf_add(b, tmp, n) < 0 ? -1 : 1;
        }
        PyObject *s = PyObject_Str(v);
        if (s == NULL)
            return -1;
        Py_ssize_t n;
        const char *u = PyUnicode_AsUTF8AndSize(s, &n);
        int rc = u == NULL ? -1 : buf_add(b, u, n);
        Py_DECREF(s);
        return rc < 0 ? -1 : 1;
    }
    return 0;
}

static int
ascii_of(PyObject *o, const char **s, Py_ssize_t *n)
{
    if (!PyUnicode_Check(o) || !PyUnicode_IS_ASCII(o))
        return 0;
    *s = (const char *)PyUnicode_1BYTE_DATA(o);
    *n = PyUnicode_GET_LENGTH(o);
    return 1;
}

PyDoc_STRVAR(render_doc,
"render(out, heads, values, slots, rates, ts) -> int\n\n"
"For each k, the line heads[k] + value + ' ' + ts + '\\n' with value =\n"
"values[slots[k]] (values[k] when slots is None), left out when None; rates[k]\n"
"true formats a float as format(value, '.12g'), false a float or an int as\n"
"str(value). The lines go to `out` as one str; returns how many. -1, with\n"
"nothing appended, for any other value (an int where a rate is due, a bool,\n"
"a NaN...) or a head or ts that is not ASCII.");

static PyObject *
render(PyObject *self, PyObject *args)
{
    PyObject *out, *heads, *values, *slots, *rates, *ts;
    if (!PyArg_ParseTuple(args, "O!OOOSU", &PyList_Type, &out, &heads, &values, &slots, &rates, &ts))
        return NULL;
    if (!(PyList_Check(heads) || PyTuple_Check(heads)) || !(PyList_Check(values) || PyTuple_Check(values))
            || (slots != Py_None && !PyTuple_Check(slots))) {
        PyErr_SetString(PyExc_TypeError, "heads and values must be lists or tuples, slots a tuple or None");
        return NULL;
    }
    Py_ssize_t nh = PySequence_Fast_GET_SIZE(heads), nv = PySequence_Fast_GET_SIZE(values);
    PyObject **hv = PySequence_Fast_ITEMS(heads), **vv = PySequence_Fast_ITEMS(values);
    const char *rb = PyBytes_AS_STRING(rates);
    if (PyBytes_GET_SIZE(rates) != nh || (slots != Py_None && PyTuple_GET_SIZE(slots) != nh)) {
        PyErr_SetString(PyExc_ValueError, "heads, rates and slots must have one entry per line");
        return NULL;
    }
    const char *tss;
    Py_ssize_t tsn;
    if (!ascii_of(ts, &tss, &tsn))
        return PyLong_FromLong(-1);
    buf_t b = {NULL, 0, 0};
    Py_ssize_t count = 0;
    if (buf_reserve(&b, nh * (40 + tsn)) < 0)
        return NULL;
    for (Py_ssize_t k = 0; k < nh; k++) {
        Py_ssize_t i = k;
        if (slots != Py_None) {
            i = PyLong_AsSsize_t(PyTuple_GET_ITEM(slots, k));
            if (i == -1 && PyErr_Occurred())
                goto error;
        }
        if (i < 0 || i >= nv) {
            PyErr_SetString(PyExc_IndexError, "a slot is outside the values");
            goto error;
        }
        PyObject *v = vv[i];
        if (v == Py_None)
            continue;
        const char *h;
        Py_ssize_t hn;
        if (!ascii_of(hv[k], &h, &hn))
            goto unrenderable;
        if (buf_add(&b, h, hn) < 0)
            goto error;
        int rc = add_value(&b, v, rb[k] != 0);
        if (rc < 0)
            goto error;
        if (rc == 0)
            goto unrenderable;
        if (buf_reserve(&b, tsn + 2) < 0)
            goto error;
        b.p[b.len++] = ' ';
        memcpy(b.p + b.len, tss, (size_t)tsn);
        b.len += tsn;
        b.p[b.len++] = '\n';
        count++;
    }
    if (count) {
        PyObject *s = PyUnicode_New(b.len, 127);
        if (s == NULL)
            goto error;
        memcpy(PyUnicode_1BYTE_DATA(s), b.p, (size_t)b.len);
        int rc = PyList_Append(out, s);
        Py_DECREF(s);
        if (rc < 0)
            goto error;
    }
    PyMem_Free(b.p);
    return PyLong_FromSsize_t(count);
unrenderable:
    PyMem_Free(b.p);
    return PyLong_FromLong(-1);
error:
    PyMem_Free(b.p);
    return NULL;
}

/* -- rates --------------------------------------------------------------------- */

/* (cur[j] - prev[j]) * per_s for j < n into a new list: the list, Py_None (new
 * reference) when a value went backwards, or NULL with no exception when a
 * value is not an int or float or an int does not fit 64 bits: what Python's
 * sub and mul would do then is left to them. */
static PyObject *
rate_list(PyObject **cur, PyObject **prev, Py_ssize_t n, double per_s)
{
    PyObject *out = PyList_New(n);
    if (out == NULL)
        return NULL;
    for (Py_ssize_t j = 0; j < n; j++) {
        PyObject *a = cur[j], *b = prev[j];
        double d;
        if (PyLong_CheckExact(a) && PyLong_CheckExact(b)) {
            int oa, ob;
            long long x = PyLong_AsLongLongAndOverflow(a, &oa), y = PyLong_AsLongLongAndOverflow(b, &ob);
            if (oa || ob || (x == -1 && y == -1 && PyErr_Occurred())
                    || (x > 0 && y < 0 && x > LLONG_MAX + y) || (x < 0 && y > 0 && x < LLONG_MIN + y))
                goto unusual;
            long long diff = x - y;
            if (diff < 0) {
                Py_DECREF(out);
                Py_RETURN_NONE;
            }
            d = (double)diff;
        } else if ((PyFloat_CheckExact(a) || PyLong_CheckExact(a)) && (PyFloat_CheckExact(b) || PyLong_CheckExact(b))) {
            double x = PyFloat_CheckExact(a) ? PyFloat_AS_DOUBLE(a) : PyLong_AsDouble(a);
            double y = PyFloat_CheckExact(b) ? PyFloat_AS_DOUBLE(b) : PyLong_AsDouble(b);
            if (PyErr_Occurred())
                goto unusual;
            d = x - y;
            if (d != d)
                goto unusual; /* NaN: min() would make of it what it does */
            if (d < 0) {
                Py_DECREF(out);
                Py_RETURN_NONE;
            }
        } else {
            goto unusual;
        }
        PyObject *r = PyFloat_FromDouble(d * per_s);
        if (r == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, j, r);
    }
    return out;
unusual:
    PyErr_Clear();
    Py_DECREF(out);
    return NULL;
}

PyDoc_STRVAR(rates_doc,
"rates(cur, prev, per_s) -> list or None\n\n"
"[(c - p) * per_s for c, p in zip(cur, prev)] for two lists of the same length,\n"
"or None when any value went backwards, is not an int or a float, or does not\n"
"fit 64 bits (the caller's Python then decides).");

static PyObject *
rates(PyObject *self, PyObject *args)
{
    PyObject *cur, *prev;
    double per_s;
    if (!PyArg_ParseTuple(args, "O!O!d", &PyList_Type, &cur, &PyList_Type, &prev, &per_s))
        return NULL;
    if (PyList_GET_SIZE(cur) != PyList_GET_SIZE(prev))
        Py_RETURN_NONE;
    PyObject *r = rate_list(PySequence_Fast_ITEMS(cur), PySequence_Fast_ITEMS(prev), PyList_GET_SIZE(cur), per_s);
    if (r == NULL && !PyErr_Occurred())
        Py_RETURN_NONE;
    return r;
}

PyDoc_STRVAR(rates_rows_doc,
"rates_rows(rows, prev_rows, per_s) -> list or None\n\n"
"For each pair of rows (tuples) of two lists of the same length, the list of\n"
"rates, or None for a row with a value that went backwards; None for the whole\n"
"when rows differ in length or a value is not an int or a float or does not\n"
"fit 64 bits.");

static PyObject *
rates_rows(PyObject *self, PyObject *args)
{
    PyObject *rows, *prev;
    double per_s;
    if (!PyArg_ParseTuple(args, "O!O!d", &PyList_Type, &rows, &PyList_Type, &prev, &per_s))
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(rows);
    if (PyList_GET_SIZE(prev) != n)
        Py_RETURN_NONE;
    PyObject *out = PyList_New(n);
    if (out == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *a = PyList_GET_ITEM(rows, i), *b = PyList_GET_ITEM(prev, i);
        if (!PyTuple_CheckExact(a) || !PyTuple_CheckExact(b) || PyTuple_GET_SIZE(a) != PyTuple_GET_SIZE(b)) {
            Py_DECREF(out);
            Py_RETURN_NONE;
        }
        PyObject *r = rate_list(PySequence_Fast_ITEMS(a), PySequence_Fast_ITEMS(b), PyTuple_GET_SIZE(a), per_s);
        if (r == NULL) {
            Py_DECREF(out);
            if (PyErr_Occurred())
                return NULL;
            Py_RETURN_NONE;
        }
        PyList_SET_ITEM(out, i, r);
    }
    return out;
}

static PyMethodDef methods[] = {
    {"render", render, METH_VARARGS, render_doc},
    {"rates", rates, METH_VARARGS, rates_doc},
    {"rates_rows", rates_rows, METH_VARARGS, rates_rows_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "carbon_client._speedups",
    "C rendering of Carbon lines; -1 means: render these the Python way.", -1, methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModule_Create(&module);
}
