/* The compiled accelerator of the timeline's build (loopviz.model.timeline).

   fold_lines: reads a trace's event lines and folds the common ones in, straight from the
   bytes: a task's steps (Ran, Waited), its wake-ups (Ready) and the loop's idle spans
   (Idle), in their usual course. It stops at the first line that is anything else (another
   record, a line it does not read as plain JSON integers, damage, a step that blocks...)
   and returns where it starts: the Python code folds that line, then calls again. Each
   record is either folded here exactly as ``Timeline._add`` folds it, or left whole.

   order, gather, inverse: the compaction's stable sort by time and its reindexing.

   Only the public C API. The timeline's arrays grow through their own methods
   (``frombytes``, slice deletion) and are written through the buffer protocol. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdarg.h>
#include <string.h>

/* The model's constants, given by ``configure`` (timeline.py passes its own). */
static struct {
    long long max_t, slack, wide, site_max;
    int kind_shift, state_mask, waiting, ready, stepping, yielded, overdue;
    int no_loop, idle, busy, lane_tag_max;
    unsigned long long waits, causes, cancelled; /* bit sets */
    int ready_tag, ran_tag, waited_tag, idle_tag;
    int configured;
} K;

static PyObject *s_lanes, *s_pending, *s_threshold, *s_end, *s_active, *s_times, *s_numbers,
    *s_codes, *s_loop, *s_starts, *s_loop_state, *s_proc, *s_kept_from, *s_last, *s_ids,
    *s_info, *s_tag, *s_wait_at, *s_wait_ref, *s_wait_site, *s_timed_at, *s_timeouts,
    *s_add_wait, *s_set_ref, *s_ended, *s_library, *s_handler_method, *s_frombytes, *s_append;

/* --- an array written in place ------------------------------------------------------- */

/* One of the timeline's global arrays while a call folds into it: its real length ``len``,
   and room up to ``cap`` made by growing it (the part past ``len`` is cut off at the end). */
typedef struct {
    PyObject *array;
    Py_buffer view;
    int held;
    char *buf;
    Py_ssize_t len, cap, itemsize;
    Py_ssize_t grow; /* items to add next time it is full: doubles, from a few */
} Column;

static int column_open(Column *c, PyObject *array)
{
    memset(c, 0, sizeof(*c));
    c->array = array;
    Py_INCREF(array);
    if (PyObject_GetBuffer(array, &c->view, PyBUF_WRITABLE | PyBUF_FORMAT) < 0)
        return -1;
    c->held = 1;
    c->buf = c->view.buf;
    c->itemsize = c->view.itemsize;
    c->len = c->cap = c->view.len / c->itemsize;
    c->grow = 32;
    return 0;
}

/* Give the room back, leave the array its real length, and let it go. */
static int column_close(Column *c)
{
    int failed = 0;
    if (c->array == NULL)
        return 0;
    if (c->held) {
        PyBuffer_Release(&c->view);
        c->held = 0;
    }
    if (c->cap > c->len && PySequence_DelSlice(c->array, c->len, c->cap) < 0)
        failed = -1;
    Py_CLEAR(c->array);
    return failed;
}

#define MOST_GROWTH 8192

/* Room for ``more`` items past ``len``. */
static int column_reserve(Column *c, Py_ssize_t more)
{
    if (c->len + more <= c->cap)
        return 0;
    Py_ssize_t grow = c->grow > more ? c->grow : more;
    if (c->grow < MOST_GROWTH)
        c->grow *= 2;
    PyBuffer_Release(&c->view);
    c->held = 0;
    if (c->cap > c->len && PySequence_DelSlice(c->array, c->len, c->cap) < 0)
        return -1;
    c->cap = c->len;
    PyObject *chunk = PyBytes_FromStringAndSize(NULL, grow * c->itemsize);
    if (chunk == NULL)
        return -1;
    memset(PyBytes_AS_STRING(chunk), 0, grow * c->itemsize);
    PyObject *done = PyObject_CallMethodOneArg(c->array, s_frombytes, chunk);
    Py_DECREF(chunk);
    if (done == NULL)
        return -1;
    Py_DECREF(done);
    if (PyObject_GetBuffer(c->array, &c->view, PyBUF_WRITABLE | PyBUF_FORMAT) < 0)
        return -1;
    c->held = 1;
    c->buf = c->view.buf;
    c->cap = c->view.len / c->itemsize;
    return 0;
}

static inline long long column_get(const Column *c, Py_ssize_t i)
{
    switch (c->itemsize) {
    case 1:
        if (c->view.format[0] == 'b')
            return ((int8_t *)c->buf)[i];
        return ((uint8_t *)c->buf)[i];
    case 2:
        return ((uint16_t *)c->buf)[i];
    case 4:
        if (c->view.format[0] == 'i')
            return ((int32_t *)c->buf)[i];
        return ((uint32_t *)c->buf)[i];
    default:
        return ((int64_t *)c->buf)[i];
    }
}

/* Append (room reserved). */
static inline void column_put(Column *c, long long value)
{
    Py_ssize_t i = c->len++;
    switch (c->itemsize) {
    case 1:
        ((uint8_t *)c->buf)[i] = (uint8_t)value;
        break;
    case 2:
        ((uint16_t *)c->buf)[i] = (uint16_t)value;
        break;
    case 4:
        ((uint32_t *)c->buf)[i] = (uint32_t)value;
        break;
    default:
        ((int64_t *)c->buf)[i] = (int64_t)value;
    }
}

/* --- reading a line --------------------------------------------------------------------- */

#define MOST_FIELDS 8

/* The integers of a line ``[a,b,...]\n`` written as the recorder writes them (no spaces, no
   leading zeros, at most 18 digits: what any JSON reader reads as these same numbers).
   Returns how many, with ``*next`` just past the newline; -1 for any other line. */
static int read_line(const char *p, const char *stop, long long *out, const char **next)
{
    int n = 0;
    if (p >= stop || *p != '[')
        return -1;
    p++;
    for (;;) {
        int negative = 0, digits = 0;
        long long value = 0;
        if (p < stop && *p == '-') {
            negative = 1;
            p++;
        }
        if (p >= stop || *p < '0' || *p > '9')
            return -1;
        if (*p == '0' && (negative || (p + 1 < stop && p[1] >= '0' && p[1] <= '9')))
            return -1; /* -0, or a leading zero */
        while (p < stop && *p >= '0' && *p <= '9') {
            if (++digits > 18)
                return -1;
            value = value * 10 + (*p - '0');
            p++;
        }
        if (n == MOST_FIELDS)
            return -1;
        out[n++] = negative ? -value : value;
        if (p >= stop)
            return -1;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == ']' && p + 1 < stop && p[1] == '\n') {
            *next = p + 2;
            return n;
        }
        return -1;
    }
}

/* --- folding ------------------------------------------------------------------------------ */

/* What a call has at hand: the timeline's state, read once, written back at the end. */
typedef struct {
    PyObject *timeline, *lanes;
    Column times, numbers, codes, starts, states;
    PyObject *loop_starts, *loop_states; /* the arrays, opened as columns when first needed */
    long long threshold, end, active;
    int pending, end_wide, active_wide;
} Fold;

static int open_loop(Fold *f)
{
    if (f->starts.array != NULL)
        return 0;
    if (column_open(&f->starts, f->loop_starts) < 0)
        return -1;
    return column_open(&f->states, f->loop_states);
}

/* An int attribute as a long long: 1 done, 0 too wide (no error set), -1 error. */
static int get_ll(PyObject *obj, PyObject *name, long long *out)
{
    PyObject *value = PyObject_GetAttr(obj, name);
    if (value == NULL)
        return -1;
    int overflow = 0;
    *out = PyLong_AsLongLongAndOverflow(value, &overflow);
    Py_DECREF(value);
    if (*out == -1 && PyErr_Occurred())
        return -1;
    return overflow ? 0 : 1;
}

static int set_ll(PyObject *obj, PyObject *name, long long value)
{
    PyObject *number = PyLong_FromLongLong(value);
    if (number == NULL)
        return -1;
    int result = PyObject_SetAttr(obj, name, number);
    Py_DECREF(number);
    return result;
}

static int append_ll(PyObject *array, long long value)
{
    PyObject *number = PyLong_FromLongLong(value);
    if (number == NULL)
        return -1;
    PyObject *done = PyObject_CallMethodOneArg(array, s_append, number);
    Py_DECREF(number);
    if (done == NULL)
        return -1;
    Py_DECREF(done);
    return 0;
}

/* obj.name(*args), the args made from C values: "O" an object, "L" a long long. */
static int call_method(PyObject *obj, PyObject *name, const char *kinds, ...)
{
    PyObject *stack[5] = {obj, NULL, NULL, NULL, NULL};
    int n = 0, failed = 0;
    va_list values;
    va_start(values, kinds);
    for (; kinds[n] && n < 4; n++) {
        if (kinds[n] == 'O') {
            stack[n + 1] = va_arg(values, PyObject *);
            Py_INCREF(stack[n + 1]);
        }
        else if ((stack[n + 1] = PyLong_FromLongLong(va_arg(values, long long))) == NULL)
            failed = 1;
    }
    va_end(values);
    PyObject *done = failed ? NULL : PyObject_VectorcallMethod(name, stack, n + 1, NULL);
    for (int i = 1; i <= n; i++)
        Py_XDECREF(stack[i]);
    if (done == NULL)
        return -1;
    Py_DECREF(done);
    return 0;
}

/* The last item of an array (of ints), through its buffer: 1 found, 0 empty, -1 error. */
static int last_item(PyObject *array, long long *out, Py_ssize_t *length)
{
    Column c;
    if (column_open(&c, array) < 0) {
        column_close(&c);
        return -1;
    }
    *length = c.len;
    if (c.len)
        *out = column_get(&c, c.len - 1);
    column_close(&c);
    return c.len > 0;
}

/* The lane's last segment's time to its deadline (``Lane.last_timeout``): 0 none. */
static int last_timeout(PyObject *lane, Py_ssize_t segments, long long *timeout)
{
    *timeout = 0;
    PyObject *timed_at = PyObject_GetAttr(lane, s_timed_at);
    if (timed_at == NULL)
        return -1;
    if (timed_at == Py_None) {
        Py_DECREF(timed_at);
        return 0;
    }
    long long at;
    Py_ssize_t count;
    int found = last_item(timed_at, &at, &count);
    Py_DECREF(timed_at);
    if (found <= 0 || at != segments - 1)
        return found < 0 ? -1 : 0;
    PyObject *timeouts = PyObject_GetAttr(lane, s_timeouts);
    if (timeouts == NULL)
        return -1;
    found = timeouts == Py_None ? 0 : last_item(timeouts, timeout, &count);
    Py_DECREF(timeouts);
    if (found <= 0)
        *timeout = 0;
    return found < 0 ? -1 : 0;
}

/* When a timer due at ``deadline`` could first run (``Timeline._due_from``). */
static long long due_from(Fold *f, long long deadline)
{
    Column *starts = &f->starts;
    Py_ssize_t lo = 0, hi = starts->len;
    while (lo < hi) { /* bisect_right */
        Py_ssize_t mid = (lo + hi) / 2;
        if (deadline < column_get(starts, mid))
            hi = mid;
        else
            lo = mid + 1;
    }
    Py_ssize_t i = lo - 1;
    if (i >= 0 && column_get(&f->states, i) == K.idle && i + 1 < starts->len)
        return column_get(starts, i + 1);
    return deadline;
}

/* Append one segment's event (room reserved): its time, its lane's tag, its code. */
static int push_event(Fold *f, PyObject *ids, long long tag, long long t, int code)
{
    if (append_ll(ids, f->times.len) < 0)
        return -1;
    column_put(&f->times, t);
    column_put(&f->numbers, tag);
    column_put(&f->codes, code);
    if (!f->end_wide && t > f->end)
        f->end = t;
    return 0;
}

static int reserve_events(Fold *f, Py_ssize_t more)
{
    if (column_reserve(&f->times, more) < 0 || column_reserve(&f->numbers, more) < 0)
        return -1;
    return column_reserve(&f->codes, more);
}

/* A step (Ran: ``n`` 3; Waited: 6 or 7). 1 folded, 0 left for Python, -1 error. */
static int fold_step(Fold *f, PyObject *lane, const long long *v, int n, int waited)
{
    long long t = v[0], dur = v[2], last, tag;
    long long kind = 0, detail = 0, site = 0, timeout = 0;
    int after = K.yielded, got;
    PyObject *info = NULL, *ids = NULL;
    int result = 0;

    if (waited) {
        kind = v[3], detail = v[4], site = v[5], timeout = n == 7 ? v[6] : 0;
        if (kind < 0 || kind > 63 || !(K.waits >> kind & 1) || site < 0 || site > K.site_max)
            return 0;
        after = K.waiting | (int)kind << K.kind_shift;
    }
    if ((got = get_ll(lane, s_last, &last)) <= 0)
        return got;
    if (!(last <= t && t <= K.max_t && 0 <= dur && dur < f->threshold && !f->pending))
        return 0;
    info = PyObject_GetAttr(lane, s_info);
    if (info == NULL)
        return -1;
    PyObject *ended = PyObject_GetAttr(info, s_ended);
    if (ended == NULL)
        goto error;
    Py_DECREF(ended);
    if (ended != Py_None)
        goto done;
    if ((got = get_ll(lane, s_tag, &tag)) <= 0) {
        result = got;
        goto done;
    }
    if ((ids = PyObject_GetAttr(lane, s_ids)) == NULL)
        goto error;
    Py_ssize_t segments = PySequence_Size(ids);
    if (segments < 0)
        goto error;
    if (waited) { /* the wait's detail, site and deadline, by its rank (after the step) */
        if (K.wide < detail && detail <= K.site_max && !timeout) {
            PyObject *at = PyObject_GetAttr(lane, s_wait_at);
            PyObject *ref = at ? PyObject_GetAttr(lane, s_wait_ref) : NULL;
            PyObject *where = ref ? PyObject_GetAttr(lane, s_wait_site) : NULL;
            int failed = where == NULL || append_ll(at, segments + 1) < 0 ||
                         append_ll(ref, detail) < 0 || append_ll(where, site) < 0;
            Py_XDECREF(at);
            Py_XDECREF(ref);
            Py_XDECREF(where);
            if (failed)
                goto error;
        }
        else {
            if (call_method(lane, s_add_wait, "LLLL", (long long)segments + 1, detail, site,
                            timeout) < 0)
                goto error;
        }
    }
    if (reserve_events(f, 2) < 0)
        goto error;
    long long stop = t + dur;
    if (push_event(f, ids, tag, t, K.stepping) < 0 || push_event(f, ids, tag, stop, after) < 0)
        goto error;
    if (set_ll(lane, s_last, stop) < 0)
        goto error;
    if (!f->active_wide && stop > f->active)
        f->active = stop;
    if (after != K.yielded && site) { /* a library's task: the program's function it runs */
        PyObject *library = PyObject_GetAttr(info, s_library);
        if (library == NULL)
            goto error;
        int truth = PyObject_IsTrue(library);
        Py_DECREF(library);
        if (truth < 0)
            goto error;
        if (truth) {
            if (call_method(f->timeline, s_handler_method, "OL", info, site) < 0)
                goto error;
        }
    }
    result = 1;
    goto done;
error:
    result = -1;
done:
    Py_XDECREF(info);
    Py_XDECREF(ids);
    return result;
}

/* A wake-up (Ready: ``n`` 3 or 4). */
static int fold_ready(Fold *f, PyObject *lane, const long long *v, int n)
{
    long long t = v[0], cause = v[2], ref = n == 4 ? v[3] : 0, last, tag;
    int got, result = 0;
    if (cause < 0 || cause > 63 || !(K.causes >> cause & 1))
        return 0;
    int code = K.ready | (int)cause << K.kind_shift;
    if ((got = get_ll(lane, s_last, &last)) <= 0)
        return got;
    if (!(last <= t && t <= K.max_t))
        return 0;
    PyObject *ids = PyObject_GetAttr(lane, s_ids);
    if (ids == NULL)
        return -1;
    Py_ssize_t segments;
    long long final;
    int found = last_item(ids, &final, &segments);
    if (found <= 0) {
        result = found;
        goto done;
    }
    if (final < 0 || final >= f->codes.len) /* (not a stored event: left to Python) */
        goto done;
    int before = (int)column_get(&f->codes, final);
    if ((before & K.state_mask) != K.waiting)
        goto done;
    if ((got = get_ll(lane, s_tag, &tag)) <= 0) {
        result = got;
        goto done;
    }
    long long timeout, due = 0;
    int overdue = 0;
    if (last_timeout(lane, segments, &timeout) < 0)
        goto error;
    if (timeout) { /* a timed wait: ready from its deadline, if the loop was late to it */
        long long deadline, late;
        if (__builtin_add_overflow(last, timeout, &deadline))
            goto done;
        if (cause < 64 && (K.cancelled >> cause & 1) && t < deadline)
            goto done; /* cut short: Python keeps the list */
        if (open_loop(f) < 0)
            goto error;
        due = due_from(f, deadline);
        if (__builtin_sub_overflow(t, due, &late))
            goto done;
        overdue = late > K.slack;
        if (overdue && due < last)
            goto done; /* damage: Python repairs and says it */
    }
    if (reserve_events(f, 2) < 0)
        goto error;
    if (overdue) {
        if (push_event(f, ids, tag, due, (before & ~K.state_mask) | K.ready | K.overdue) < 0)
            goto error;
        segments++;
    }
    if (ref) {
        if (call_method(lane, s_set_ref, "LL", (long long)segments, ref) < 0)
            goto error;
    }
    if (push_event(f, ids, tag, t, code) < 0 || set_ll(lane, s_last, t) < 0)
        goto error;
    result = 1;
    goto done;
error:
    result = -1;
done:
    Py_DECREF(ids);
    return result;
}

/* The loop idle in select() (Idle: 3). */
static int fold_idle(Fold *f, const long long *v)
{
    long long t = v[0], stop = v[0] + v[1];
    if (open_loop(f) < 0)
        return -1;
    Column *starts = &f->starts, *states = &f->states;
    if (!(starts->len && states->len && column_get(starts, starts->len - 1) <= t && t <= stop &&
          stop <= t + K.max_t && t <= K.max_t &&
          column_get(states, states->len - 1) != K.no_loop))
        return 0;
    if (column_reserve(starts, 2) < 0 || column_reserve(states, 2) < 0)
        return -1;
    column_put(starts, t);
    column_put(starts, stop);
    column_put(states, K.idle);
    column_put(states, K.busy);
    if (!f->end_wide && stop > f->end)
        f->end = stop;
    return 1;
}

static int fold_line(Fold *f, const long long *v, int n)
{
    int tag = (int)v[0];
    v++, n--;
    if (tag == K.idle_tag)
        return n == 3 ? fold_idle(f, v) : 0;
    int step = tag == K.ran_tag || tag == K.waited_tag;
    if (!(step || tag == K.ready_tag))
        return 0;
    if (tag == K.ran_tag ? n != 3 : tag == K.waited_tag ? n != 6 && n != 7 : n != 3 && n != 4)
        return 0;
    PyObject *task = PyLong_FromLongLong(v[1]);
    if (task == NULL)
        return -1;
    PyObject *lane = PyDict_GetItemWithError(f->lanes, task); /* borrowed */
    Py_DECREF(task);
    if (lane == NULL)
        return PyErr_Occurred() ? -1 : 0;
    Py_INCREF(lane);
    int result = step ? fold_step(f, lane, v, n, tag == K.waited_tag) : fold_ready(f, lane, v, n);
    Py_DECREF(lane);
    return result;
}

static PyObject *get_array(PyObject *obj, PyObject *name, PyObject **out)
{
    *out = PyObject_GetAttr(obj, name);
    return *out;
}

/* fold_lines(timeline, body, pos) -> the position of the first line not folded */
static PyObject *fold_lines(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "fold_lines(timeline, body, pos)");
        return NULL;
    }
    if (!K.configured) {
        PyErr_SetString(PyExc_RuntimeError, "_fold is not configured");
        return NULL;
    }
    PyObject *timeline = args[0];
    Py_ssize_t pos = PyLong_AsSsize_t(args[2]);
    if (pos == -1 && PyErr_Occurred())
        return NULL;
    Py_buffer body;
    if (PyObject_GetBuffer(args[1], &body, PyBUF_SIMPLE) < 0)
        return NULL;
    if (pos < 0 || pos > body.len) {
        PyBuffer_Release(&body);
        PyErr_SetString(PyExc_ValueError, "pos outside the body");
        return NULL;
    }
    Fold f;
    memset(&f, 0, sizeof(f));
    f.timeline = timeline;
    PyObject *loop = NULL, *value = NULL, *times = NULL, *numbers = NULL, *codes = NULL;
    int failed = 0, got;

    /* Only the program's own records with nothing dropped before (``usual``). */
    value = PyObject_GetAttr(timeline, s_proc);
    int truth = value ? PyObject_IsTrue(value) : -1;
    Py_XDECREF(value);
    if (truth != 0)
        goto finish;
    value = PyObject_GetAttr(timeline, s_kept_from);
    truth = value ? PyObject_IsTrue(value) : -1;
    Py_XDECREF(value);
    if (truth != 0)
        goto finish;
    if ((f.lanes = PyObject_GetAttr(timeline, s_lanes)) == NULL || !PyDict_Check(f.lanes))
        goto bad_state;
    value = PyObject_GetAttr(timeline, s_pending);
    if (value == NULL || (truth = PyObject_IsTrue(value)) < 0) {
        Py_XDECREF(value);
        goto fail;
    }
    Py_DECREF(value);
    f.pending = truth;
    if ((got = get_ll(timeline, s_threshold, &f.threshold)) < 0)
        goto fail;
    if (!got || f.threshold > K.max_t)
        f.threshold = K.max_t;
    if ((got = get_ll(timeline, s_end, &f.end)) < 0)
        goto fail;
    f.end_wide = !got;
    if ((got = get_ll(timeline, s_active, &f.active)) < 0)
        goto fail;
    f.active_wide = !got;
    if (get_array(timeline, s_times, &times) == NULL ||
        get_array(timeline, s_numbers, &numbers) == NULL ||
        get_array(timeline, s_codes, &codes) == NULL || (loop = PyObject_GetAttr(timeline, s_loop)) == NULL ||
        get_array(loop, s_starts, &f.loop_starts) == NULL ||
        get_array(timeline, s_loop_state, &f.loop_states) == NULL)
        goto fail;
    if (column_open(&f.times, times) < 0 || column_open(&f.numbers, numbers) < 0 ||
        column_open(&f.codes, codes) < 0)
        goto fail;
    if (f.times.itemsize != 8 || f.codes.itemsize != 1 ||
        (f.numbers.itemsize != 2 && f.numbers.itemsize != 4))
        goto bad_state;

    const char *data = body.buf, *stop = data + body.len;
    long long fields[MOST_FIELDS];
    while (pos < body.len) {
        const char *next;
        int n = read_line(data + pos, stop, fields, &next);
        if (n < 1)
            break;
        int folded = fold_line(&f, fields, n);
        if (folded < 0)
            goto fail;
        if (!folded)
            break;
        pos = next - data;
    }
    goto finish;
bad_state:
    PyErr_SetString(PyExc_TypeError, "fold_lines: not a timeline's state");
fail:
    failed = 1;
finish:
    if (!failed && f.lanes != NULL) {
        if ((!f.end_wide && set_ll(timeline, s_end, f.end) < 0) ||
            (!f.active_wide && set_ll(timeline, s_active, f.active) < 0))
            failed = 1;
    }
    /* Close every column, even after an error (keeping the first error). */
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *raised = failed ? PyErr_GetRaisedException() : NULL;
#else
    PyObject *type = NULL, *raised = NULL, *tb = NULL;
    if (failed)
        PyErr_Fetch(&type, &raised, &tb);
#endif
    int closing = column_close(&f.times) | column_close(&f.numbers) | column_close(&f.codes) |
                  column_close(&f.starts) | column_close(&f.states);
    if (failed) {
        PyErr_Clear();
#if PY_VERSION_HEX >= 0x030C0000
        PyErr_SetRaisedException(raised);
#else
        PyErr_Restore(type, raised, tb);
#endif
    }
    else if (closing)
        failed = 1;
    Py_XDECREF(f.lanes);
    Py_XDECREF(times);
    Py_XDECREF(numbers);
    Py_XDECREF(codes);
    Py_XDECREF(loop);
    Py_XDECREF(f.loop_starts);
    Py_XDECREF(f.loop_states);
    PyBuffer_Release(&body);
    return failed ? NULL : PyLong_FromSsize_t(pos);
}

/* --- compaction ----------------------------------------------------------------------- */

/* An array of ``n`` items of ``like``'s type, exactly that size (``like * n`` of one item). */
static PyObject *new_like(PyObject *array_type, const char *typecode, Py_ssize_t n)
{
    PyObject *one = PyObject_CallFunction(array_type, "s(i)", typecode, 0);
    if (one == NULL)
        return NULL;
    PyObject *out = PySequence_Repeat(one, n);
    Py_DECREF(one);
    return out;
}

static PyObject *array_type(void)
{
    PyObject *module = PyImport_ImportModule("array");
    if (module == NULL)
        return NULL;
    PyObject *type = PyObject_GetAttrString(module, "array");
    Py_DECREF(module);
    return type;
}

/* order(times) -> array('i'): the indices of ``times`` sorted by time, ties in index order
   (``sorted(range(len(times)), key=times.__getitem__)``): a radix sort, stable. */
static PyObject *order(PyObject *module, PyObject *times)
{
    Column t;
    memset(&t, 0, sizeof(t));
    PyObject *type = NULL, *out = NULL;
    uint32_t *a = NULL, *b = NULL;
    if (column_open(&t, times) < 0)
        goto finish;
    if (t.itemsize != 8 || t.view.format[0] != 'q') {
        PyErr_SetString(PyExc_TypeError, "order: an array('q') of times");
        goto finish;
    }
    Py_ssize_t n = t.len;
    if (n > INT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "order: too many times");
        goto finish;
    }
    if ((type = array_type()) == NULL || (out = new_like(type, "i", n)) == NULL)
        goto finish;
    if (n == 0)
        goto finish;
    const int64_t *tv = (const int64_t *)t.buf;
    int64_t low = tv[0], high = tv[0];
    for (Py_ssize_t i = 1; i < n; i++) {
        if (tv[i] < low)
            low = tv[i];
        if (tv[i] > high)
            high = tv[i];
    }
    a = PyMem_Malloc(n * sizeof(uint32_t));
    b = PyMem_Malloc(n * sizeof(uint32_t));
    if (a == NULL || b == NULL) {
        PyErr_NoMemory();
        Py_CLEAR(out);
        goto finish;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        a[i] = (uint32_t)i;
    /* Sorted by the offset from the lowest, unsigned: 11 bits at a time from the last. */
#define KEY(i) ((uint64_t)tv[i] - (uint64_t)low)
    uint64_t range = (uint64_t)high - (uint64_t)low;
    enum { BITS = 11, SIZE = 1 << BITS };
    static Py_ssize_t count[SIZE];
    for (int shift = 0; shift < 64 && (range >> shift); shift += BITS) {
        memset(count, 0, sizeof(count));
        for (Py_ssize_t i = 0; i < n; i++)
            count[(KEY(a[i]) >> shift) & (SIZE - 1)]++;
        Py_ssize_t sum = 0;
        for (int d = 0; d < SIZE; d++) {
            Py_ssize_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (Py_ssize_t i = 0; i < n; i++)
            b[count[(KEY(a[i]) >> shift) & (SIZE - 1)]++] = a[i];
        uint32_t *swap = a;
        a = b;
        b = swap;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(out, &view, PyBUF_WRITABLE) < 0) {
        Py_CLEAR(out);
        goto finish;
    }
    memcpy(view.buf, a, n * sizeof(uint32_t));
    PyBuffer_Release(&view);
finish:
    PyMem_Free(a);
    PyMem_Free(b);
    Py_XDECREF(type);
    column_close(&t);
    return out;
}

/* Index ``i`` of a sequence of ``n``, as Python reads it (negative from the end): -1 outside. */
static inline Py_ssize_t python_index(long long i, Py_ssize_t n)
{
    if (i < 0)
        i += n;
    return i >= 0 && i < n ? (Py_ssize_t)i : -1;
}

/* gather(values, order) -> ``values`` in ``order``, an array of its type and exact size. */
static PyObject *gather(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "gather(values, order)");
        return NULL;
    }
    Column v, o, r;
    memset(&v, 0, sizeof(v));
    memset(&o, 0, sizeof(o));
    memset(&r, 0, sizeof(r));
    PyObject *type = NULL, *out = NULL, *typecode = NULL;
    if (column_open(&v, args[0]) < 0 || column_open(&o, args[1]) < 0)
        goto finish;
    if ((typecode = PyObject_GetAttrString(args[0], "typecode")) == NULL ||
        (type = array_type()) == NULL)
        goto finish;
    const char *code = PyUnicode_AsUTF8(typecode);
    if (code == NULL || (out = new_like(type, code, o.len)) == NULL)
        goto finish;
    if (column_open(&r, out) < 0) {
        Py_CLEAR(out);
        goto finish;
    }
    for (Py_ssize_t k = 0; k < o.len; k++) {
        Py_ssize_t i = python_index(column_get(&o, k), v.len);
        if (i < 0) {
            PyErr_SetString(PyExc_IndexError, "array index out of range");
            Py_CLEAR(out);
            goto finish;
        }
        memcpy(r.buf + k * r.itemsize, v.buf + i * v.itemsize, v.itemsize);
    }
finish:
    column_close(&r);
    column_close(&o);
    column_close(&v);
    Py_XDECREF(type);
    Py_XDECREF(typecode);
    return out;
}

/* inverse(order) -> array('i') ``where`` with ``where[order[k]] = k``. */
static PyObject *inverse(PyObject *module, PyObject *order_array)
{
    Column o, r;
    memset(&o, 0, sizeof(o));
    memset(&r, 0, sizeof(r));
    PyObject *type = NULL, *out = NULL;
    if (column_open(&o, order_array) < 0)
        goto finish;
    if ((type = array_type()) == NULL || (out = new_like(type, "i", o.len)) == NULL)
        goto finish;
    if (column_open(&r, out) < 0) {
        Py_CLEAR(out);
        goto finish;
    }
    int32_t *where = (int32_t *)r.buf;
    for (Py_ssize_t k = 0; k < o.len; k++) {
        Py_ssize_t i = python_index(column_get(&o, k), o.len);
        if (i < 0) {
            PyErr_SetString(PyExc_IndexError, "array assignment index out of range");
            Py_CLEAR(out);
            goto finish;
        }
        where[i] = (int32_t)k;
    }
finish:
    column_close(&r);
    column_close(&o);
    Py_XDECREF(type);
    return out;
}

/* configure(...): the model's constants (see timeline.py's call). */
static PyObject *configure(PyObject *module, PyObject *args)
{
    if (!PyArg_ParseTuple(args, "LLLLiiiiiiiiiiiKKKiiii", &K.max_t, &K.slack, &K.wide,
                          &K.site_max, &K.kind_shift, &K.state_mask, &K.waiting, &K.ready,
                          &K.stepping, &K.yielded, &K.overdue, &K.no_loop, &K.idle, &K.busy,
                          &K.lane_tag_max, &K.waits, &K.causes, &K.cancelled, &K.ready_tag,
                          &K.ran_tag, &K.waited_tag, &K.idle_tag))
        return NULL;
    K.configured = 1;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"configure", configure, METH_VARARGS, "Give the model's constants."},
    {"fold_lines", (PyCFunction)(void (*)(void))fold_lines, METH_FASTCALL,
     "fold_lines(timeline, body, pos): fold the common lines from pos on; return where the "
     "first other line starts (len(body): all folded)."},
    {"order", order, METH_O, "order(times): the indices in time order (stable), array('i')."},
    {"gather", (PyCFunction)(void (*)(void))gather, METH_FASTCALL,
     "gather(values, order): values in order, an array of exact size."},
    {"inverse", inverse, METH_O, "inverse(order): where each index moved, array('i')."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_fold", "The compiled fold of loopviz's timeline.", -1, methods,
    NULL, NULL, NULL, NULL,
};

#define INTERN(var, text)                                                                     \
    if ((var = PyUnicode_InternFromString(text)) == NULL)                                     \
        return NULL;

PyMODINIT_FUNC PyInit__fold(void)
{
    INTERN(s_lanes, "_lanes");
    INTERN(s_pending, "_pending");
    INTERN(s_threshold, "_threshold");
    INTERN(s_end, "end");
    INTERN(s_active, "_active_until");
    INTERN(s_times, "_times");
    INTERN(s_numbers, "_numbers");
    INTERN(s_codes, "_codes");
    INTERN(s_loop, "_loop");
    INTERN(s_starts, "starts");
    INTERN(s_loop_state, "_loop_state");
    INTERN(s_proc, "_proc");
    INTERN(s_kept_from, "kept_from");
    INTERN(s_last, "last");
    INTERN(s_ids, "ids");
    INTERN(s_info, "info");
    INTERN(s_tag, "tag");
    INTERN(s_wait_at, "wait_at");
    INTERN(s_wait_ref, "wait_ref");
    INTERN(s_wait_site, "wait_site");
    INTERN(s_timed_at, "timed_at");
    INTERN(s_timeouts, "timeouts");
    INTERN(s_add_wait, "add_wait");
    INTERN(s_set_ref, "set_ref");
    INTERN(s_ended, "ended");
    INTERN(s_library, "library");
    INTERN(s_handler_method, "_handler");
    INTERN(s_frombytes, "frombytes");
    INTERN(s_append, "append");
    return PyModule_Create(&module_def);
}
