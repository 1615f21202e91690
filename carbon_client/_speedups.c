/* Optional C versions of the rate engine's arithmetic and of line rendering,
 * and Program: a whole single-schema group's cycle in one call (see below).
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

/* One line: head + value + ' ' + ts + '\n'. 1 written, 0 not renderable
 * here (a head that is not ASCII, a value add_value declines), -1 error. */
static int
add_line(buf_t *b, PyObject *head, PyObject *v, int rate, const char *ts, Py_ssize_t tsn)
{
    const char *h;
    Py_ssize_t hn;
    if (!ascii_of(head, &h, &hn))
        return 0;
    if (buf_add(b, h, hn) < 0)
        return -1;
    int rc = add_value(b, v, rate);
    if (rc <= 0)
        return rc;
    if (buf_reserve(b, tsn + 2) < 0)
        return -1;
    b->p[b->len++] = ' ';
    memcpy(b->p + b->len, ts, (size_t)tsn);
    b->len += tsn;
    b->p[b->len++] = '\n';
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
        int rc = add_line(&b, hv[k], v, rb[k] != 0, tss, tsn);
        if (rc < 0)
            goto error;
        if (rc == 0)
            goto unrenderable;
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
 * sub and mul would do then is left to them (even when another value went
 * backwards: Python subtracts them all before it looks). */
static PyObject *
rate_list(PyObject **cur, PyObject **prev, Py_ssize_t n, double per_s)
{
    PyObject *out = PyList_New(n);
    int backwards = 0;
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
                backwards = 1;
                continue;
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
                backwards = 1;
                continue;
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
    if (backwards) {
        Py_DECREF(out);
        Py_RETURN_NONE;
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

/* -- a whole group: rates, metrics, aggregate and lines in one call ------------ */

/* One value of the evaluator: None, an int that fits 64 bits, a float, or a
 * comparison's bool. */
enum { T_NONE, T_INT, T_FLOAT, T_BOOL };
typedef struct {
    int tag;
    long long i;
    double f;
} val_t;

/* Opcodes of a derived metric's expression (carbon_client/sampling.py
 * _program emits them): (op, arg) pairs. */
enum {
    OP_LOCAL, OP_RATE, OP_FIELD, OP_CONST, OP_ADD, OP_SUB, OP_MUL, OP_DIV,
    OP_LT, OP_LE, OP_GT, OP_GE, OP_NEG, OP_MIN, OP_MAX, OP_JF, OP_JMP,
};
enum { M_COUNTER, M_GAUGE, M_DERIVED };

#define STACK 32
#define EXACT (9007199254740992LL) /* 2**53: ints up to here convert to float exactly */

/* Evaluation results: OK, NONE_ (the expression raised TypeError or
 * ZeroDivisionError: no value), DECLINE (Python must decide: an int overflow,
 * a bool used as a number...). */
enum { EV_OK = 0, EV_NONE = 1, EV_DECLINE = -1 };

typedef struct {
    PyObject_HEAD
    Py_ssize_t width, ncounters, nmetrics, ncode, nconsts, nmaxed;
    int *cpos;   /* raw positions of the counter fields */
    int *mkind, *marg, *mstart, *mlen;
    double *mscale;
    int *code;   /* ncode (op, arg) pairs */
    val_t *consts;
    int *maxed;
    PyObject *schema;
} Program;

static int
as_double(const val_t *v, double *out)
{
    if (v->tag == T_FLOAT) {
        *out = v->f;
        return 1;
    }
    if (v->tag == T_INT) {
        *out = (double)v->i;
        return 1;
    }
    return 0;
}

static int
is_exact(long long i)
{
    return i <= EXACT && i >= -EXACT;
}

/* a <op> b for the orderings: 1 true, 0 false, CMP_NONE (Python raises
 * TypeError), CMP_DECLINE (Python must decide). */
enum { CMP_NONE = -2, CMP_DECLINE = -3 };

static int
compare(int op, const val_t *a, const val_t *b)
{
    if (a->tag == T_BOOL || b->tag == T_BOOL)
        return CMP_DECLINE;
    if (a->tag == T_NONE || b->tag == T_NONE)
        return CMP_NONE;
    int r;
    if (a->tag == T_INT && b->tag == T_INT) {
        long long x = a->i, y = b->i;
        r = op == OP_LT ? x < y : op == OP_LE ? x <= y : op == OP_GT ? x > y : x >= y;
    } else {
        if ((a->tag == T_INT && !is_exact(a->i)) || (b->tag == T_INT && !is_exact(b->i)))
            return CMP_DECLINE;
        double x, y;
        as_double(a, &x);
        as_double(b, &y);
        r = op == OP_LT ? x < y : op == OP_LE ? x <= y : op == OP_GT ? x > y : x >= y;
    }
    return r;
}

static int
arith(int op, const val_t *a, const val_t *b, val_t *out)
{
    if (a->tag == T_BOOL || b->tag == T_BOOL)
        return EV_DECLINE;
    if (a->tag == T_NONE || b->tag == T_NONE)
        return EV_NONE;
    if (a->tag == T_INT && b->tag == T_INT) {
        long long r;
        if (op == OP_DIV) {
            if (b->i == 0)
                return EV_NONE;
            if (!is_exact(a->i) || !is_exact(b->i))
                return EV_DECLINE;
            out->tag = T_FLOAT;
            out->f = (double)a->i / (double)b->i;
            return EV_OK;
        }
        int ovf = op == OP_ADD ? __builtin_add_overflow(a->i, b->i, &r)
                : op == OP_SUB ? __builtin_sub_overflow(a->i, b->i, &r)
                               : __builtin_mul_overflow(a->i, b->i, &r);
        if (ovf)
            return EV_DECLINE;
        out->tag = T_INT;
        out->i = r;
        return EV_OK;
    }
    double x, y;
    as_double(a, &x);
    as_double(b, &y);
    out->tag = T_FLOAT;
    switch (op) {
    case OP_ADD: out->f = x + y; break;
    case OP_SUB: out->f = x - y; break;
    case OP_MUL: out->f = x * y; break;
    default:
        if (y == 0.0)
            return EV_NONE;
        out->f = x / y;
    }
    return EV_OK;
}

static int
truth(const val_t *v)
{
    switch (v->tag) {
    case T_NONE: return 0;
    case T_FLOAT: return v->f != 0.0;
    default: return v->i != 0;
    }
}

/* One derived metric: ``code`` over the instance's metric values so far
 * (``locals``), rates and raw fields. */
static int
evaluate(const Program *p, int start, int len, const val_t *locals, const double *rates,
         const val_t *fields, val_t *out)
{
    val_t st[STACK];
    int sp = 0;
    const int *code = p->code + 2 * start;
    for (int pc = 0; pc < len;) {
        int op = code[2 * pc], arg = code[2 * pc + 1];
        pc++;
        /* Program_new checked the operands; the stack is checked here. */
        if (sp >= STACK || sp < (op <= OP_CONST || op == OP_JMP ? 0 : op == OP_NEG || op == OP_JF ? 1 : 2))
            return EV_DECLINE;
        switch (op) {
        case OP_LOCAL: st[sp++] = locals[arg]; break;
        case OP_RATE: st[sp].tag = T_FLOAT; st[sp].f = rates[arg]; sp++; break;
        case OP_FIELD: st[sp++] = fields[arg]; break;
        case OP_CONST: st[sp++] = p->consts[arg]; break;
        case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: {
            val_t r;
            int rc = arith(op, &st[sp - 2], &st[sp - 1], &r);
            if (rc != EV_OK)
                return rc;
            sp--;
            st[sp - 1] = r;
            break;
        }
        case OP_LT: case OP_LE: case OP_GT: case OP_GE: {
            int rc = compare(op, &st[sp - 2], &st[sp - 1]);
            if (rc < 0)
                return rc == CMP_NONE ? EV_NONE : EV_DECLINE;
            sp--;
            st[sp - 1].tag = T_BOOL;
            st[sp - 1].i = rc;
            break;
        }
        case OP_NEG: {
            val_t *v = &st[sp - 1];
            if (v->tag == T_NONE)
                return EV_NONE;
            if (v->tag == T_BOOL || (v->tag == T_INT && v->i == LLONG_MIN))
                return EV_DECLINE;
            if (v->tag == T_INT)
                v->i = -v->i;
            else
                v->f = -v->f;
            break;
        }
        case OP_MIN: case OP_MAX: {
            /* min(a, b): b if b < a else a; max(a, b): b if b > a else a */
            int rc = compare(op == OP_MIN ? OP_LT : OP_GT, &st[sp - 1], &st[sp - 2]);
            if (rc < 0)
                return rc == CMP_NONE ? EV_NONE : EV_DECLINE;
            if (rc)
                st[sp - 2] = st[sp - 1];
            sp--;
            break;
        }
        case OP_JF:
            sp--;
            if (!truth(&st[sp]))
                pc = arg;
            break;
        case OP_JMP: pc = arg; break;
        default: return EV_DECLINE;
        }
    }
    if (sp != 1 || st[0].tag == T_BOOL)
        return EV_DECLINE;
    *out = st[0];
    return EV_OK;
}

/* A raw value as a val_t: 0 when it is not None, an int of 64 bits or a float. */
static int
load_raw(PyObject *o, val_t *v)
{
    if (o == Py_None) {
        v->tag = T_NONE;
        return 1;
    }
    if (PyFloat_CheckExact(o)) {
        v->tag = T_FLOAT;
        v->f = PyFloat_AS_DOUBLE(o);
        return 1;
    }
    if (PyLong_CheckExact(o)) {
        int ovf;
        v->i = PyLong_AsLongLongAndOverflow(o, &ovf);
        if (ovf || (v->i == -1 && PyErr_Occurred())) {
            PyErr_Clear();
            return 0;
        }
        v->tag = T_INT;
        return 1;
    }
    return 0;
}

/* Every metric of one instance from its rates and raw fields. */
static int
metrics_of(const Program *p, const double *rates, const val_t *fields, val_t *m)
{
    for (Py_ssize_t k = 0; k < p->nmetrics; k++) {
        double s = p->mscale[k];
        switch (p->mkind[k]) {
        case M_COUNTER:
            m[k].tag = T_FLOAT;
            m[k].f = s != 1.0 ? rates[p->marg[k]] * s : rates[p->marg[k]];
            break;
        case M_GAUGE:
            m[k] = fields[p->marg[k]];
            if (s != 1.0 && m[k].tag != T_NONE) {
                double x;
                as_double(&m[k], &x);
                m[k].tag = T_FLOAT;
                m[k].f = x * s;
            }
            break;
        default: {
            int rc = evaluate(p, p->mstart[k], p->mlen[k], m, rates, fields, &m[k]);
            if (rc == EV_DECLINE)
                return -1;
            if (rc == EV_NONE)
                m[k].tag = T_NONE;
        }
        }
        if (m[k].tag == T_FLOAT && !Py_IS_FINITE(m[k].f))
            return -1;
    }
    return 0;
}

static PyObject *
val_object(const val_t *v)
{
    switch (v->tag) {
    case T_INT: return PyLong_FromLongLong(v->i);
    case T_FLOAT: return PyFloat_FromDouble(v->f);
    default: Py_RETURN_NONE;
    }
}

static void
Program_dealloc(Program *p)
{
    PyMem_Free(p->cpos);
    PyMem_Free(p->mkind);
    PyMem_Free(p->marg);
    PyMem_Free(p->mstart);
    PyMem_Free(p->mlen);
    PyMem_Free(p->mscale);
    PyMem_Free(p->code);
    PyMem_Free(p->consts);
    PyMem_Free(p->maxed);
    Py_XDECREF(p->schema);
    Py_TYPE(p)->tp_free((PyObject *)p);
}

static int
int_array(PyObject *seq, int **out, Py_ssize_t *n, const char *what)
{
    PyObject *f = PySequence_Fast(seq, what);
    if (f == NULL)
        return -1;
    *n = PySequence_Fast_GET_SIZE(f);
    *out = PyMem_Malloc(sizeof(int) * (size_t)(*n ? *n : 1));
    if (*out == NULL) {
        Py_DECREF(f);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < *n; i++) {
        long x = PyLong_AsLong(PySequence_Fast_GET_ITEM(f, i));
        if (x == -1 && PyErr_Occurred()) {
            Py_DECREF(f);
            return -1;
        }
        (*out)[i] = (int)x;
    }
    Py_DECREF(f);
    return 0;
}

static PyObject *
Program_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    PyObject *schema, *cpos, *metrics, *code, *consts, *maxed;
    Py_ssize_t width;
    if (!PyArg_ParseTuple(args, "OnOOOOO:Program", &schema, &width, &cpos, &metrics, &code, &consts, &maxed))
        return NULL;
    Program *p = (Program *)type->tp_alloc(type, 0);
    if (p == NULL)
        return NULL;
    Py_INCREF(schema);
    p->schema = schema;
    p->width = width;
    Py_ssize_t n;
    if (int_array(cpos, &p->cpos, &p->ncounters, "cpos") < 0 || int_array(code, &p->code, &n, "code") < 0
            || int_array(maxed, &p->maxed, &p->nmaxed, "maxed") < 0)
        goto error;
    p->ncode = n / 2;
    for (Py_ssize_t i = 0; i < p->ncounters; i++)
        if (p->cpos[i] < 0 || p->cpos[i] >= width)
            goto bad;
    PyObject *m = PySequence_Fast(metrics, "metrics");
    if (m == NULL)
        goto error;
    p->nmetrics = PySequence_Fast_GET_SIZE(m);
    size_t nm = (size_t)(p->nmetrics ? p->nmetrics : 1);
    p->mkind = PyMem_Malloc(sizeof(int) * nm);
    p->marg = PyMem_Malloc(sizeof(int) * nm);
    p->mstart = PyMem_Malloc(sizeof(int) * nm);
    p->mlen = PyMem_Malloc(sizeof(int) * nm);
    p->mscale = PyMem_Malloc(sizeof(double) * nm);
    if (!p->mkind || !p->marg || !p->mstart || !p->mlen || !p->mscale) {
        Py_DECREF(m);
        PyErr_NoMemory();
        goto error;
    }
    for (Py_ssize_t k = 0; k < p->nmetrics; k++) {
        int kind, arg, start, len;
        double scale;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(m, k), "iidii", &kind, &arg, &scale, &start, &len)) {
            Py_DECREF(m);
            goto error;
        }
        p->mkind[k] = kind;
        p->marg[k] = arg;
        p->mscale[k] = scale;
        p->mstart[k] = start;
        p->mlen[k] = len;
        if ((kind == M_COUNTER && (arg < 0 || arg >= p->ncounters))
                || (kind == M_GAUGE && (arg < 0 || arg >= width))
                || (kind == M_DERIVED && (start < 0 || len < 1 || start + len > p->ncode))
                || kind < M_COUNTER || kind > M_DERIVED) {
            Py_DECREF(m);
            goto bad;
        }
    }
    Py_DECREF(m);
    /* Every jump forward inside its expression, every operand in range. */
    for (Py_ssize_t k = 0; k < p->nmetrics; k++) {
        if (p->mkind[k] != M_DERIVED)
            continue;
        for (int pc = 0; pc < p->mlen[k]; pc++) {
            int op = p->code[2 * (p->mstart[k] + pc)], arg = p->code[2 * (p->mstart[k] + pc) + 1];
            if (op == OP_JF || op == OP_JMP) {
                if (arg <= pc || arg > p->mlen[k]) /* forward only: no loops */
                    goto bad;
            } else if ((op == OP_LOCAL && (arg < 0 || arg >= k)) || (op == OP_RATE && (arg < 0 || arg >= p->ncounters))
                       || (op == OP_FIELD && (arg < 0 || arg >= width)) || op < OP_LOCAL || op > OP_JMP) {
                goto bad;
            }
        }
    }
    PyObject *c = PySequence_Fast(consts, "consts");
    if (c == NULL)
        goto error;
    p->nconsts = PySequence_Fast_GET_SIZE(c);
    p->consts = PyMem_Malloc(sizeof(val_t) * (size_t)(p->nconsts ? p->nconsts : 1));
    if (p->consts == NULL) {
        Py_DECREF(c);
        PyErr_NoMemory();
        goto error;
    }
    for (Py_ssize_t i = 0; i < p->nconsts; i++) {
        if (!load_raw(PySequence_Fast_GET_ITEM(c, i), &p->consts[i])) {
            Py_DECREF(c);
            goto bad;
        }
    }
    Py_DECREF(c);
    for (Py_ssize_t k = 0; k < p->ncode; k++)
        if (p->code[2 * k] == OP_CONST && (p->code[2 * k + 1] < 0 || p->code[2 * k + 1] >= p->nconsts))
            goto bad;
    for (Py_ssize_t i = 0; i < p->nmaxed; i++)
        if (p->maxed[i] < 0 || p->maxed[i] >= p->nmetrics)
            goto bad;
    return (PyObject *)p;
bad:
    PyErr_SetString(PyExc_ValueError, "inconsistent program");
error:
    Py_DECREF(p);
    return NULL;
}

static PyObject *str_schema, *str_heads, *str_slots, *str_rates;

/* The plan (heads, slots, rates) of one instance; 0 when it has none the C
 * can render, -1 on error. */
static int
plan_of(Program *p, PyObject *plans, PyObject *make, PyObject *inst, PyObject **heads, PyObject **slots,
        PyObject **rates)
{
    PyObject *plan = PyDict_GetItemWithError(plans, inst); /* borrowed */
    PyObject *own = NULL;
    if (plan == NULL && PyErr_Occurred())
        return -1;
    if (plan != NULL) {
        PyObject *s = PyObject_GetAttr(plan, str_schema);
        if (s == NULL)
            return -1;
        Py_DECREF(s);
        if (s != p->schema)
            plan = NULL;
    }
    if (plan == NULL) {
        plan = own = PyObject_CallOneArg(make, inst);
        if (plan == NULL)
            return -1;
    }
    int rc = -1;
    *heads = PyObject_GetAttr(plan, str_heads);
    *slots = *heads ? PyObject_GetAttr(plan, str_slots) : NULL;
    *rates = *slots ? PyObject_GetAttr(plan, str_rates) : NULL;
    if (*rates != NULL) {
        rc = PyTuple_CheckExact(*heads) && PyTuple_CheckExact(*slots) && PyBytes_CheckExact(*rates)
             && PyTuple_GET_SIZE(*slots) == PyTuple_GET_SIZE(*heads)
             && PyBytes_GET_SIZE(*rates) == PyTuple_GET_SIZE(*heads);
    }
    if (rc != 1) {
        Py_CLEAR(*heads);
        Py_CLEAR(*slots);
        Py_CLEAR(*rates);
    }
    Py_XDECREF(own);
    return rc;
}

/* Append one instance's lines; 1 rendered, 0 not renderable here, -1 error. */
static int
render_instance(buf_t *b, PyObject *heads, PyObject *slots, PyObject *rates, PyObject *values,
                const char *ts, Py_ssize_t tsn, Py_ssize_t *count)
{
    Py_ssize_t nh = PyTuple_GET_SIZE(heads), nv = PyList_GET_SIZE(values);
    const char *rb = PyBytes_AS_STRING(rates);
    for (Py_ssize_t k = 0; k < nh; k++) {
        Py_ssize_t i = PyLong_AsSsize_t(PyTuple_GET_ITEM(slots, k));
        if (i == -1 && PyErr_Occurred())
            return -1;
        if (i < 0 || i >= nv)
            return 0;
        PyObject *v = PyList_GET_ITEM(values, i);
        if (v == Py_None)
            continue;
        int rc = add_line(b, PyTuple_GET_ITEM(heads, k), v, rb[k] != 0, ts, tsn);
        if (rc <= 0)
            return rc;
        (*count)++;
    }
    return 1;
}

PyDoc_STRVAR(Program_run_doc,
"run(raw, prev_keys, prev_curs, per_s, ts, plans, make_plan, aggregate, members)\n"
"    -> (curs, values, text, count) or None\n\n"
"One cycle of a single-schema group when its instances are those of last time\n"
"(raw's keys equal prev_keys, in order) and no counter went backwards: every\n"
"instance's rates and metrics, the aggregate instance (the members' fields\n"
"and rates summed, agg=max metrics the largest member's), and the lines of\n"
"each instance from its plan (plans[inst], or make_plan(inst)). Returns the\n"
"raw tuples in order (the next cycle's prev_curs), the values of each\n"
"instance (the aggregate's last), the lines as one str and their count.\n"
"None, having changed nothing, whenever the Python engine must decide.");

static PyObject *
Program_run(Program *p, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 9) {
        PyErr_SetString(PyExc_TypeError, "run() takes 9 arguments");
        return NULL;
    }
    PyObject *raw = args[0], *prev_keys = args[1], *prev_curs = args[2], *ts = args[4];
    PyObject *plans = args[5], *make = args[6], *agg = args[7], *members = args[8];
    double per_s = PyFloat_AsDouble(args[3]);
    if (per_s == -1.0 && PyErr_Occurred())
        return NULL;
    if (!PyDict_CheckExact(raw) || !PyTuple_CheckExact(prev_keys) || !PyList_CheckExact(prev_curs)
            || !PyDict_CheckExact(plans) || !(per_s > 0) || !Py_IS_FINITE(per_s))
        Py_RETURN_NONE;
    Py_ssize_t n = PyDict_GET_SIZE(raw);
    if (PyTuple_GET_SIZE(prev_keys) != n || PyList_GET_SIZE(prev_curs) != n)
        Py_RETURN_NONE;
    if (members != Py_None && !PyAnySet_CheckExact(members))
        Py_RETURN_NONE;
    const char *tss;
    Py_ssize_t tsn;
    if (!PyUnicode_Check(ts) || !ascii_of(ts, &tss, &tsn))
        Py_RETURN_NONE;

    Py_ssize_t W = p->width, C = p->ncounters, M = p->nmetrics;
    int with_agg = agg != Py_None;
    /* per instance (and one more for the aggregate): fields, rates, metrics */
    val_t *fields = PyMem_Malloc(sizeof(val_t) * (size_t)((n + 1) * W + 1));
    double *rates = PyMem_Malloc(sizeof(double) * (size_t)((n + 1) * C + 1));
    val_t *mv = PyMem_Malloc(sizeof(val_t) * (size_t)((n + 1) * M + 1));
    char *member = PyMem_Malloc((size_t)n + 1);
    PyObject *curs = PyList_New(n), *values = NULL, *result = NULL;
    buf_t b = {NULL, 0, 0};
    if (!fields || !rates || !mv || !member) {
        PyErr_NoMemory();
        goto done;
    }
    if (curs == NULL)
        goto done;

    Py_ssize_t pos = 0, i = 0, nmembers = 0;
    PyObject *key, *cur;
    while (PyDict_Next(raw, &pos, &key, &cur)) {
        PyObject *pk = PyTuple_GET_ITEM(prev_keys, i), *prev = PyList_GET_ITEM(prev_curs, i);
        int eq = PyObject_RichCompareBool(pk, key, Py_EQ);
        if (eq < 0)
            goto done;
        if (!eq)
            goto decline; /* other instances than last time */
        if (with_agg && key != Py_None) {
            eq = PyObject_RichCompareBool(key, agg, Py_EQ);
            if (eq < 0)
                goto done;
            if (eq)
                goto decline; /* an instance named like the aggregate */
        }
        if (!PyTuple_CheckExact(cur) || !PyTuple_CheckExact(prev) || PyTuple_GET_SIZE(cur) != W
                || PyTuple_GET_SIZE(prev) != W)
            goto decline;
        val_t *f = fields + i * W;
        for (Py_ssize_t j = 0; j < W; j++)
            if (!load_raw(PyTuple_GET_ITEM(cur, j), &f[j]))
                goto decline;
        double *r = rates + i * C;
        for (Py_ssize_t j = 0; j < C; j++) {
            val_t a = f[p->cpos[j]], pv;
            if (!load_raw(PyTuple_GET_ITEM(prev, p->cpos[j]), &pv) || a.tag == T_NONE || pv.tag == T_NONE)
                goto decline;
            double d;
            if (a.tag == T_INT && pv.tag == T_INT) {
                long long diff;
                if (__builtin_sub_overflow(a.i, pv.i, &diff) || diff < 0)
                    goto decline;
                d = (double)diff;
            } else {
                double x, y;
                as_double(&a, &x);
                as_double(&pv, &y);
                d = x - y;
                if (!(d >= 0))
                    goto decline; /* backwards, or NaN */
            }
            r[j] = d * per_s;
        }
        if (metrics_of(p, r, f, mv + i * M) < 0)
            goto decline;
        member[i] = 0;
        if (with_agg) {
            int in = members == Py_None ? 1 : PySet_Contains(members, key);
            if (in < 0)
                goto done;
            member[i] = (char)in;
            nmembers += in;
        }
        Py_INCREF(cur);
        PyList_SET_ITEM(curs, i, cur);
        i++;
    }
    if (i != n)
        goto decline; /* the dict changed size while read */

    Py_ssize_t total = n;
    if (with_agg && nmembers) {
        /* The aggregate: fields and rates summed left to right (sampling._fold;
         * None fields left out), then its metrics. */
        val_t *f = fields + n * W;
        double *r = rates + n * C;
        for (Py_ssize_t j = 0; j < W; j++) {
            val_t s = {T_NONE, 0, 0.0};
            for (Py_ssize_t k = 0; k < n; k++) {
                if (!member[k])
                    continue;
                val_t *v = &fields[k * W + j];
                if (v->tag == T_NONE)
                    continue;
                if (s.tag == T_NONE)
                    s = *v;
                else if (arith(OP_ADD, &s, v, &s) != EV_OK)
                    goto decline;
            }
            f[j] = s;
        }
        for (Py_ssize_t j = 0; j < C; j++) {
            double s = 0.0;
            int first = 1;
            for (Py_ssize_t k = 0; k < n; k++) {
                if (!member[k])
                    continue;
                s = first ? rates[k * C + j] : s + rates[k * C + j];
                first = 0;
            }
            r[j] = s;
        }
        val_t *m = mv + n * M;
        if (metrics_of(p, r, f, m) < 0)
            goto decline;
        for (Py_ssize_t x = 0; x < p->nmaxed; x++) {
            int at = p->maxed[x];
            val_t best = {T_NONE, 0, 0.0};
            for (Py_ssize_t k = 0; k < n; k++) {
                if (!member[k])
                    continue;
                val_t *v = &mv[k * M + at];
                if (v->tag == T_NONE)
                    continue;
                if (best.tag == T_NONE) {
                    best = *v;
                    continue;
                }
                int gt = compare(OP_GT, v, &best);
                if (gt < 0)
                    goto decline;
                if (gt)
                    best = *v;
            }
            m[at] = best;
        }
        total = n + 1;
    }

    values = PyList_New(total);
    if (values == NULL)
        goto done;
    for (Py_ssize_t k = 0; k < total; k++) {
        PyObject *row = PyList_New(M);
        if (row == NULL)
            goto done;
        PyList_SET_ITEM(values, k, row);
        for (Py_ssize_t x = 0; x < M; x++) {
            PyObject *o;
            /* A gauge sent as read is the raw object itself, as in Python. */
            if (k < n && p->mkind[x] == M_GAUGE && p->mscale[x] == 1.0)
                o = Py_NewRef(PyTuple_GET_ITEM(PyList_GET_ITEM(curs, k), p->marg[x]));
            else
                o = val_object(&mv[k * M + x]);
            if (o == NULL)
                goto done;
            PyList_SET_ITEM(row, x, o);
        }
    }

    Py_ssize_t count = 0;
    if (buf_reserve(&b, total * M * (48 + tsn)) < 0)
        goto done;
    for (Py_ssize_t k = 0; k < total; k++) {
        PyObject *inst = k < n ? PyTuple_GET_ITEM(prev_keys, k) : agg;
        PyObject *heads, *slots, *rflags;
        int rc = plan_of(p, plans, make, inst, &heads, &slots, &rflags);
        if (rc < 0)
            goto done;
        if (rc == 0)
            goto decline;
        rc = render_instance(&b, heads, slots, rflags, PyList_GET_ITEM(values, k), tss, tsn, &count);
        Py_DECREF(heads);
        Py_DECREF(slots);
        Py_DECREF(rflags);
        if (rc < 0)
            goto done;
        if (rc == 0)
            goto decline;
    }
    PyObject *text = PyUnicode_New(b.len, 127);
    if (text == NULL)
        goto done;
    if (b.len)
        memcpy(PyUnicode_1BYTE_DATA(text), b.p, (size_t)b.len);
    result = Py_BuildValue("(OONn)", curs, values, text, count);
    goto done;
decline:
    if (!PyErr_Occurred()) {
        result = Py_NewRef(Py_None);
    }
done:
    PyMem_Free(fields);
    PyMem_Free(rates);
    PyMem_Free(mv);
    PyMem_Free(member);
    PyMem_Free(b.p);
    Py_XDECREF(curs);
    Py_XDECREF(values);
    return result;
}

static PyMethodDef Program_methods[] = {
    {"run", (PyCFunction)(void (*)(void))Program_run, METH_FASTCALL, Program_run_doc},
    {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(Program_doc,
"Program(schema, width, cpos, metrics, code, consts, maxed)\n\n"
"A schema's metrics compiled for the C engine (carbon_client/sampling.py\n"
"_program makes them): cpos the raw positions of the counter fields; metrics\n"
"one (kind, arg, scale, start, length) each, kind 0 counter (arg: its rate),\n"
"1 gauge (arg: its raw position), 2 derived (code[start:start+length]);\n"
"code (op, arg) pairs; consts the expressions' constants; maxed the metrics\n"
"the aggregate takes the largest member's value of.");

static PyTypeObject ProgramType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "carbon_client._speedups.Program",
    .tp_basicsize = sizeof(Program),
    .tp_dealloc = (destructor)Program_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = Program_doc,
    .tp_methods = Program_methods,
    .tp_new = Program_new,
};

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
    if (PyType_Ready(&ProgramType) < 0)
        return NULL;
    str_schema = PyUnicode_InternFromString("schema");
    str_heads = PyUnicode_InternFromString("heads");
    str_slots = PyUnicode_InternFromString("slots");
    str_rates = PyUnicode_InternFromString("rates");
    if (!str_schema || !str_heads || !str_slots || !str_rates)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&ProgramType);
    if (PyModule_AddObject(m, "Program", (PyObject *)&ProgramType) < 0) {
        Py_DECREF(&ProgramType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
