/* Optional C versions of the parsers read every cycle.
 *
 * Each function takes the same text as its Python counterpart and returns the
 * same result, or None whenever the text is anything but what a kernel
 * prints: a malformed line, a tab, a number of 20 digits or more, a byte
 * outside printable ASCII where the format has none. On None the caller runs
 * the Python parser, which then raises or reports exactly as it always did,
 * so this module never decides what an error is. Equivalence with the Python
 * parsers is tested on the real captures and on generated text
 * (tests/parsers/test_speedups.py).
 *
 * No I/O, no state, no allocation beyond the returned objects.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* Unsigned decimal of 1 to 19 digits in [p, end): 0 and *out, or -1. */
static int
parse_u64(const char *p, const char *end, unsigned long long *out)
{
    Py_ssize_t n = end - p;
    unsigned long long v = 0;
    if (n < 1 || n > 19)
        return -1;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (unsigned long long)(*p - '0');
    }
    *out = v;
    return 0;
}

/* Printable ASCII, spaces and newlines only: the alphabet of the host-wide files. */
static int
plain_ascii(const char *s, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c != '\n' && (c < 0x20 || c > 0x7e))
            return 0;
    }
    return 1;
}

/* The bytes of `text` (a str: the "U" argument format), or NULL (no
 * exception set) to decline: text with no UTF-8 form, as with lone
 * surrogates from a surrogateescape decoding, or, when `plain` is set,
 * anything but printable ASCII, spaces and newlines. */
static const char *
text_bytes(PyObject *text, Py_ssize_t *len, int plain)
{
    const char *s = PyUnicode_AsUTF8AndSize(text, len);
    if (s == NULL) {
        PyErr_Clear();
        return NULL;
    }
    return plain && !plain_ascii(s, *len) ? NULL : s;
}

/* Split [p, end) at spaces into at most `max` fields; the count, or -1 when more. */
static int
split_spaces(const char *p, const char *end, const char **starts, const char **ends, int max)
{
    int n = 0;
    while (p < end) {
        while (p < end && *p == ' ')
            p++;
        if (p >= end)
            break;
        if (n == max)
            return -1;
        starts[n] = p;
        while (p < end && *p != ' ')
            p++;
        ends[n++] = p;
    }
    return n;
}

/* -- /proc/net/dev ---------------------------------------------------------- */

PyDoc_STRVAR(net_dev_columns_doc,
"net_dev_columns(text, columns, skip) -> (names, flat) or None\n\n"
"parsers.net_dev.parse_net_dev_columns for a file every line of which a\n"
"kernel could have printed; None otherwise.");

static PyObject *
net_dev_columns(PyObject *self, PyObject *args)
{
    PyObject *text, *columns, *skip;
    Py_ssize_t len;
    int cols[16], ncols;
    if (!PyArg_ParseTuple(args, "UOO", &text, &columns, &skip))
        return NULL;
    if (!PyTuple_Check(columns) || PyTuple_GET_SIZE(columns) < 1 || PyTuple_GET_SIZE(columns) > 16) {
        PyErr_SetString(PyExc_ValueError, "columns must be a tuple of 1 to 16 indexes");
        return NULL;
    }
    ncols = (int)PyTuple_GET_SIZE(columns);
    for (int i = 0; i < ncols; i++) {
        long c = PyLong_AsLong(PyTuple_GET_ITEM(columns, i));
        if (c == -1 && PyErr_Occurred())
            return NULL;
        if (c < 0 || c > 15) {
            PyErr_SetString(PyExc_ValueError, "a column index must be in 0..15");
            return NULL;
        }
        cols[i] = (int)c;
    }
    const char *s = text_bytes(text, &len, 0);
    if (s == NULL)
        Py_RETURN_NONE;
    PyObject *names = PyList_New(0), *flat = PyList_New(0);
    if (names == NULL || flat == NULL)
        goto error;
    const char *end = s + len, *line = s;
    while (line <= end) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (eol == NULL)
            eol = end;
        const char *colon = NULL;
        for (const char *q = eol; q > line; q--)
            if (q[-1] == ':') {
                colon = q - 1;
                break;
            }
        if (colon == NULL) {
            /* A header ('|', no ':') or a blank line is skipped, anything else is Python's. */
            int blank = 1, bar = 0;
            for (const char *q = line; q < eol; q++) {
                if (*q == '|')
                    bar = 1;
                else if (*q != ' ')
                    blank = 0;
            }
            if (!blank && !bar)
                goto fallback;
        } else {
            const char *st[16], *en[16];
            unsigned long long v[16];
            if (split_spaces(colon + 1, eol, st, en, 16) != 16)
                goto fallback;
            for (int i = 0; i < 16; i++)
                if (parse_u64(st[i], en[i], &v[i]) < 0)
                    goto fallback;
            const char *a = line, *b = colon;
            while (a < b && *a == ' ')
                a++;
            while (b > a && b[-1] == ' ')
                b--;
            if (a == b)
                goto fallback;
            PyObject *name = PyUnicode_DecodeUTF8(a, b - a, NULL);
            if (name == NULL)
                goto error;
            int skipped = PySequence_Contains(skip, name);
            if (skipped < 0) {
                Py_DECREF(name);
                goto error;
            }
            if (!skipped) {
                int rc = PyList_Append(names, name);
                for (int i = 0; rc == 0 && i < ncols; i++) {
                    PyObject *x = PyLong_FromUnsignedLongLong(v[cols[i]]);
                    rc = x == NULL ? -1 : PyList_Append(flat, x);
                    Py_XDECREF(x);
                }
                if (rc < 0) {
                    Py_DECREF(name);
                    goto error;
                }
            }
            Py_DECREF(name);
        }
        line = eol + 1;
    }
    return Py_BuildValue("(NN)", names, flat);
fallback:
    Py_DECREF(names);
    Py_DECREF(flat);
    Py_RETURN_NONE;
error:
    Py_XDECREF(names);
    Py_XDECREF(flat);
    return NULL;
}

/* -- /proc/diskstats -------------------------------------------------------- */

PyDoc_STRVAR(diskstats_doc,
"diskstats(text, cls, skip) -> list of cls or None\n\n"
"parsers.diskstats.parse_diskstats: cls is the DiskStats named tuple (21 items:\n"
"major, minor, name, 17 counters padded with 0, the count of fields printed);\n"
"lines of devices in skip (a container, or None) are left out unconverted.");

static PyObject *
diskstats(PyObject *self, PyObject *args)
{
    PyObject *text, *cls, *skip;
    Py_ssize_t len;
    if (!PyArg_ParseTuple(args, "UOO", &text, &cls, &skip))
        return NULL;
    if (!PyType_Check(cls) || !PyType_IsSubtype((PyTypeObject *)cls, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "cls must be a tuple subclass");
        return NULL;
    }
    PyTypeObject *type = (PyTypeObject *)cls;
    const char *s = text_bytes(text, &len, 1);
    if (s == NULL)
        Py_RETURN_NONE;
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    const char *end = s + len, *line = s;
    while (line < end) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (eol == NULL)
            eol = end;
        const char *st[21], *en[21];
        int n = split_spaces(line, eol, st, en, 21);
        line = eol + 1;
        if (n == 0)
            continue;
        /* A line of a skipped device is not looked at, whatever it holds. */
        if (n != 14 && n != 18 && n != 20 && (n < 3 || skip == Py_None))
            goto fallback;
        PyObject *name = PyUnicode_FromStringAndSize(st[2], en[2] - st[2]);
        if (name == NULL)
            goto error;
        if (skip != Py_None) {
            int skipped = PySequence_Contains(skip, name);
            if (skipped < 0) {
                Py_DECREF(name);
                goto error;
            }
            if (skipped) {
                Py_DECREF(name);
                continue;
            }
        }
        if (n != 14 && n != 18 && n != 20) {
            Py_DECREF(name);
            goto fallback;
        }
        unsigned long long v[20] = {0};
        for (int i = 0; i < n; i++) {
            if (i == 2)
                continue;
            if (parse_u64(st[i], en[i], &v[i]) < 0) {
                Py_DECREF(name);
                goto fallback;
            }
        }
        PyObject *rec = type->tp_alloc(type, 21);
        if (rec == NULL) {
            Py_DECREF(name);
            goto error;
        }
        /* major, minor, name, the counters (fields 3.. of the line), zeros, n */
        int k = 0;
        for (int i = 0; i < 20; i++) {
            PyObject *x;
            if (i == 2) {
                x = name;
            } else {
                x = PyLong_FromUnsignedLongLong(i < n ? v[i] : 0);
                if (x == NULL) {
                    Py_DECREF(rec);
                    goto error;
                }
            }
            PyTuple_SET_ITEM(rec, k++, x);
        }
        PyObject *count = PyLong_FromLong(n);
        if (count == NULL) {
            Py_DECREF(rec);
            goto error;
        }
        PyTuple_SET_ITEM(rec, 20, count);
        int rc = PyList_Append(out, rec);
        Py_DECREF(rec);
        if (rc < 0)
            goto error;
    }
    return out;
fallback:
    Py_DECREF(out);
    Py_RETURN_NONE;
error:
    Py_DECREF(out);
    return NULL;
}

/* -- /proc/meminfo ---------------------------------------------------------- */

/* The line starting with `head` (len hn): its start, or NULL. */
static const char *
find_line(const char *s, Py_ssize_t len, const char *head, Py_ssize_t hn)
{
    const char *end = s + len, *p = s;
    if (len >= hn && memcmp(s, head, (size_t)hn) == 0)
        return s;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            return NULL;
        p = nl + 1;
        if (end - p >= hn && memcmp(p, head, (size_t)hn) == 0)
            return p;
    }
    return NULL;
}

PyDoc_STRVAR(meminfo_doc,
"meminfo(text, keys) -> dict or None\n\n"
"parsers.meminfo.parse_meminfo(text, keys): the 'Key: value [kB]' lines of\n"
"keys, kB in bytes; keys without a line are absent.");

static PyObject *
meminfo(PyObject *self, PyObject *args)
{
    PyObject *text, *keys;
    Py_ssize_t len;
    if (!PyArg_ParseTuple(args, "UO!", &text, &PyTuple_Type, &keys))
        return NULL;
    const char *s = text_bytes(text, &len, 1);
    if (s == NULL)
        Py_RETURN_NONE;
    int blank = 1;
    for (Py_ssize_t i = 0; i < len && blank; i++)
        blank = s[i] == ' ' || s[i] == '\n';
    if (blank)
        Py_RETURN_NONE;
    PyObject *out = PyDict_New();
    if (out == NULL)
        return NULL;
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(keys); k++) {
        PyObject *key = PyTuple_GET_ITEM(keys, k);
        Py_ssize_t kn;
        char head[128];
        const char *ks = PyUnicode_Check(key) ? PyUnicode_AsUTF8AndSize(key, &kn) : NULL;
        if (ks == NULL || kn < 1 || kn > 120) {
            PyErr_Clear();
            goto fallback;
        }
        memcpy(head, ks, (size_t)kn);
        head[kn] = ':';
        const char *p = find_line(s, len, head, kn + 1);
        if (p == NULL)
            continue;
        const char *end = memchr(p, '\n', (size_t)(s + len - p));
        if (end == NULL)
            end = s + len;
        /* The key has no space or ':' of its own, or the Python regex refuses the line. */
        for (Py_ssize_t i = 0; i < kn; i++)
            if (ks[i] == ' ' || ks[i] == ':')
                goto fallback;
        p += kn + 1;
        while (p < end && *p == ' ')
            p++;
        const char *d = p;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        unsigned long long v;
        if (parse_u64(d, p, &v) < 0)
            goto fallback;
        const char *sp = p;
        while (p < end && *p == ' ')
            p++;
        int kb = 0;
        if (p < end && p > sp && end - p >= 2 && p[0] == 'k' && p[1] == 'B') {
            kb = 1;
            p += 2;
            while (p < end && *p == ' ')
                p++;
        }
        if (p != end)
            goto fallback;
        if (kb) {
            if (v > ULLONG_MAX / 1024)
                goto fallback;
            v *= 1024;
        }
        PyObject *x = PyLong_FromUnsignedLongLong(v);
        if (x == NULL || PyDict_SetItem(out, key, x) < 0) {
            Py_XDECREF(x);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(x);
    }
    return out;
fallback:
    Py_DECREF(out);
    Py_RETURN_NONE;
}

/* -- /proc/stat ------------------------------------------------------------- */

static const char *const STAT_SCALARS[] = {
    "intr", "ctxt", "btime", "processes", "procs_running", "procs_blocked", "softirq",
};
#define N_SCALARS 7

PyDoc_STRVAR(stat_totals_doc,
"stat_totals(text) -> (cpu, scalars) or None\n\n"
"The aggregate cpu line's 4 to 10 times (a tuple of ints) and the scalar lines\n"
"(a dict: intr, ctxt, btime, processes, procs_running, procs_blocked, softirq,\n"
"those present) of /proc/stat, as parsers.stat.parse_stat(text, per_cpu=False)\n"
"reads them; None where it would raise or the text is unusual.");

static PyObject *
stat_totals(PyObject *self, PyObject *args)
{
    PyObject *text;
    Py_ssize_t len;
    if (!PyArg_ParseTuple(args, "U", &text))
        return NULL;
    const char *s = text_bytes(text, &len, 1);
    if (s == NULL)
        Py_RETURN_NONE;
    unsigned long long cpu[10], scalar[N_SCALARS];
    int ncpu = -1, have[N_SCALARS] = {0};
    const char *end = s + len, *line = s;
    while (line < end) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (eol == NULL)
            eol = end;
        const char *p = line;
        line = eol + 1;
        while (p < eol && *p == ' ')
            p++;
        const char *tag = p;
        while (p < eol && *p != ' ')
            p++;
        Py_ssize_t tn = p - tag;
        if (tn == 0)
            continue;
        if (tn >= 3 && memcmp(tag, "cpu", 3) == 0) {
            if (tn != 3)
                continue; /* per-CPU lines are not read */
            const char *st[11], *en[11];
            int n = split_spaces(p, eol, st, en, 11);
            if (n < 4 || n > 10)
                return Py_NewRef(Py_None);
            for (int i = 0; i < n; i++)
                if (parse_u64(st[i], en[i], &cpu[i]) < 0)
                    return Py_NewRef(Py_None);
            ncpu = n;
            continue;
        }
        for (int k = 0; k < N_SCALARS; k++) {
            if ((Py_ssize_t)strlen(STAT_SCALARS[k]) == tn && memcmp(tag, STAT_SCALARS[k], (size_t)tn) == 0) {
                while (p < eol && *p == ' ')
                    p++;
                const char *v = p;
                while (p < eol && *p != ' ')
                    p++;
                if (parse_u64(v, p, &scalar[k]) < 0)
                    return Py_NewRef(Py_None);
                have[k] = 1;
                break;
            }
        }
    }
    if (ncpu < 0 || !have[1] || !have[3])
        Py_RETURN_NONE;
    PyObject *times = PyTuple_New(ncpu), *scalars = PyDict_New();
    if (times == NULL || scalars == NULL)
        goto error;
    for (int i = 0; i < ncpu; i++) {
        PyObject *x = PyLong_FromUnsignedLongLong(cpu[i]);
        if (x == NULL)
            goto error;
        PyTuple_SET_ITEM(times, i, x);
    }
    for (int k = 0; k < N_SCALARS; k++) {
        if (!have[k])
            continue;
        PyObject *x = PyLong_FromUnsignedLongLong(scalar[k]);
        if (x == NULL || PyDict_SetItemString(scalars, STAT_SCALARS[k], x) < 0) {
            Py_XDECREF(x);
            goto error;
        }
        Py_DECREF(x);
    }
    return Py_BuildValue("(NN)", times, scalars);
error:
    Py_XDECREF(times);
    Py_XDECREF(scalars);
    return NULL;
}

/* -- /proc/loadavg ---------------------------------------------------------- */

PyDoc_STRVAR(loadavg_doc,
"loadavg(text) -> (load1, load5, load15, running, total, last_pid) or None");

static int
load_float(const char *p, const char *end, double *out)
{
    char buf[32];
    int dots = 0;
    Py_ssize_t n = end - p;
    if (n < 1 || n > 30)
        return -1;
    for (const char *q = p; q < end; q++) {
        if (*q == '.')
            dots++;
        else if (*q < '0' || *q > '9')
            return -1;
    }
    /* Python's check: digits once one '.' is removed (so "." alone is refused). */
    if (dots > 1 || n - dots < 1)
        return -1;
    memcpy(buf, p, (size_t)n);
    buf[n] = '\0';
    *out = PyOS_string_to_double(buf, NULL, NULL);
    if (*out == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        return -1;
    }
    return Py_IS_FINITE(*out) ? 0 : -1;
}

static PyObject *
loadavg(PyObject *self, PyObject *args)
{
    PyObject *text;
    Py_ssize_t len;
    if (!PyArg_ParseTuple(args, "U", &text))
        return NULL;
    const char *s = text_bytes(text, &len, 1);
    if (s == NULL)
        Py_RETURN_NONE;
    const char *end = s + len;
    while (end > s && (end[-1] == '\n' || end[-1] == ' '))
        end--;
    if (memchr(s, '\n', (size_t)(end - s)) != NULL)
        Py_RETURN_NONE;
    const char *st[5], *en[5];
    if (split_spaces(s, end, st, en, 5) != 5)
        Py_RETURN_NONE;
    double l[3];
    for (int i = 0; i < 3; i++)
        if (load_float(st[i], en[i], &l[i]) < 0)
            Py_RETURN_NONE;
    const char *slash = memchr(st[3], '/', (size_t)(en[3] - st[3]));
    unsigned long long r, t, pid;
    if (slash == NULL || parse_u64(st[3], slash, &r) < 0 || parse_u64(slash + 1, en[3], &t) < 0
            || parse_u64(st[4], en[4], &pid) < 0)
        Py_RETURN_NONE;
    return Py_BuildValue("(dddKKK)", l[0], l[1], l[2], r, t, pid);
}

static PyMethodDef methods[] = {
    {"net_dev_columns", net_dev_columns, METH_VARARGS, net_dev_columns_doc},
    {"diskstats", diskstats, METH_VARARGS, diskstats_doc},
    {"meminfo", meminfo, METH_VARARGS, meminfo_doc},
    {"stat_totals", stat_totals, METH_VARARGS, stat_totals_doc},
    {"loadavg", loadavg, METH_VARARGS, loadavg_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "parsers._speedups",
    "C versions of the per-cycle parsers; None means: ask the Python parser.", -1, methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModule_Create(&module);
}
