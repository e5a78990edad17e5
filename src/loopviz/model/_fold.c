/* The compiled accelerator of the timeline's build (loopviz.model.timeline).

   fold_lines: reads a trace's event lines and folds the common ones in, straight from the
   bytes: a task's steps (Ran, Waited) and wake-ups (Ready), and the loop's idle spans (Idle).
   It stops at the first line that is anything else (another record, a line not written as
   plain JSON integers, damage it does not repair as Python would, a step that blocks...) and
   returns where that line starts: the Python code folds it, then calls again. A record is
   either folded here exactly as ``Timeline._add`` would fold it, or left whole to it.

   order, gather, inverse: the compaction's stable sort by time and its reindexing.

   Only the public C API: the timeline's arrays are read through the buffer protocol and
   grow through their own ``frombytes``. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

/* The model's constants, given by ``configure`` (timeline.py passes its own). */
static struct {
    long long max_t, slack, wide, site_max;
    int kind_shift, state_mask, waiting, ready, stepping, yielded, overdue;
    int no_loop, idle, busy;
    unsigned long long waits, causes, cancelled; /* sets of Wait and Cause values, as bits */
    int ready_tag, ran_tag, waited_tag, idle_tag;
    int configured;
} K;

static PyObject *array_type; /* array.array */

static PyObject *s_lanes, *s_pending, *s_threshold, *s_end, *s_active, *s_times, *s_numbers,
    *s_codes, *s_loop, *s_starts, *s_loop_state, *s_proc, *s_kept_from, *s_damage_said,
    *s_last, *s_ids, *s_info, *s_tag, *s_wait_at, *s_wait_ref, *s_wait_site, *s_timed_at,
    *s_timeouts, *s_add_wait, *s_set_ref, *s_ended, *s_library, *s_handler, *s_out_of_order,
    *s_frombytes;

/* --- arrays ---------------------------------------------------------------------------- */

/* One of the timeline's global arrays while a call folds into it: the ``base`` items it has
   (read, and rewritten, in place) and the ``staged`` ones to append when the call ends. */
typedef struct {
    PyObject *array;
    Py_buffer view;
    int held;
    char format;
    Py_ssize_t base, itemsize;
    char *stage;
    Py_ssize_t staged, room;
} Column;

static int column_open(Column *c, PyObject *array, const char *formats)
{
    memset(c, 0, sizeof(*c));
    c->array = array;
    Py_INCREF(array);
    if (PyObject_GetBuffer(array, &c->view, PyBUF_WRITABLE | PyBUF_FORMAT) < 0)
        return -1;
    c->held = 1;
    c->format = c->view.format ? c->view.format[0] : 'B';
    c->itemsize = c->view.itemsize;
    c->base = c->view.len / c->itemsize;
    if (strchr(formats, c->format) == NULL || (c->view.format && c->view.format[1])) {
        PyErr_SetString(PyExc_TypeError, "_fold: an array of another type");
        return -1;
    }
    return 0;
}

/* Append what was staged and let the array go; 0 done, -1 error (the array is let go). */
static int column_close(Column *c)
{
    int failed = 0;
    if (c->held)
        PyBuffer_Release(&c->view);
    c->held = 0;
    if (c->staged && c->array != NULL) {
        PyObject *bytes = PyMemoryView_FromMemory(c->stage, c->staged * c->itemsize, PyBUF_READ);
        PyObject *done = bytes ? PyObject_CallMethodOneArg(c->array, s_frombytes, bytes) : NULL;
        Py_XDECREF(bytes);
        Py_XDECREF(done);
        failed = done == NULL ? -1 : 0;
    }
    PyMem_Free(c->stage);
    c->stage = NULL;
    c->staged = c->room = 0;
    Py_CLEAR(c->array);
    return failed;
}

static inline Py_ssize_t column_len(const Column *c) { return c->base + c->staged; }

static inline long long item_at(const char *buf, char format, Py_ssize_t i)
{
    switch (format) {
    case 'b':
        return ((const int8_t *)buf)[i];
    case 'B':
        return ((const uint8_t *)buf)[i];
    case 'H':
        return ((const uint16_t *)buf)[i];
    case 'i':
        return ((const int32_t *)buf)[i];
    case 'I':
        return ((const uint32_t *)buf)[i];
    default:
        return ((const int64_t *)buf)[i];
    }
}

static inline void item_set(char *buf, char format, Py_ssize_t i, long long value)
{
    switch (format) {
    case 'b':
    case 'B':
        ((uint8_t *)buf)[i] = (uint8_t)value;
        break;
    case 'H':
        ((uint16_t *)buf)[i] = (uint16_t)value;
        break;
    case 'i':
    case 'I':
        ((uint32_t *)buf)[i] = (uint32_t)value;
        break;
    default:
        ((int64_t *)buf)[i] = (int64_t)value;
    }
}

static inline long long column_get(const Column *c, Py_ssize_t i)
{
    if (i < c->base)
        return item_at(c->view.buf, c->format, i);
    return item_at(c->stage, c->format, i - c->base);
}

static inline void column_set(Column *c, Py_ssize_t i, long long value)
{
    if (i < c->base)
        item_set(c->view.buf, c->format, i, value);
    else
        item_set(c->stage, c->format, i - c->base, value);
}

static int column_put(Column *c, long long value)
{
    if (c->staged == c->room) {
        Py_ssize_t room = c->room ? 2 * c->room : 64;
        char *stage = PyMem_Realloc(c->stage, room * c->itemsize);
        if (stage == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        c->stage = stage;
        c->room = room;
    }
    item_set(c->stage, c->format, c->staged++, value);
    return 0;
}

/* A lane's array('i') (its ids or a wait's details): its length and last item. */
static int small_array(PyObject *array, Py_ssize_t *length, long long *last)
{
    Py_buffer view;
    if (PyObject_GetBuffer(array, &view, PyBUF_FORMAT) < 0)
        return -1;
    int right = view.itemsize == 4 && view.format && !strcmp(view.format, "i");
    *length = view.len / 4;
    *last = right && *length ? ((const int32_t *)view.buf)[*length - 1] : 0;
    PyBuffer_Release(&view);
    if (!right) {
        PyErr_SetString(PyExc_TypeError, "_fold: a lane's array is not array('i')");
        return -1;
    }
    return 0;
}

/* Bytearrays of one and of two int32, and of one int64: what a lane's array gets appended. */
static PyObject *scratch4, *scratch8;

/* Append ``count`` (1 or 2) values to a lane's array('i'), already checked to be one. */
static int append_i32(PyObject *array, int count, long long first, long long second)
{
    if (first < INT32_MIN || first > INT32_MAX || second < INT32_MIN || second > INT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "signed integer is greater than maximum");
        return -1;
    }
    int32_t values[2] = {(int32_t)first, (int32_t)second};
    PyObject *bytes = count == 1 ? scratch4 : scratch8;
    memcpy(PyByteArray_AS_STRING(bytes), values, 4 * count);
    PyObject *done = PyObject_CallMethodOneArg(array, s_frombytes, bytes);
    if (done == NULL)
        return -1;
    Py_DECREF(done);
    return 0;
}

/* Append a value to an array of ``format`` ("i" or "q"), checked to be one. */
static int append_checked(PyObject *array, const char *format, long long value)
{
    Py_buffer view;
    if (PyObject_GetBuffer(array, &view, PyBUF_FORMAT) < 0)
        return -1;
    int right = view.format && !strcmp(view.format, format);
    PyBuffer_Release(&view);
    if (!right) {
        PyErr_Format(PyExc_TypeError, "_fold: a lane's array is not array('%s')", format);
        return -1;
    }
    if (format[0] == 'i')
        return append_i32(array, 1, value, 0);
    memcpy(PyByteArray_AS_STRING(scratch8), &value, 8);
    PyObject *done = PyObject_CallMethodOneArg(array, s_frombytes, scratch8);
    if (done == NULL)
        return -1;
    Py_DECREF(done);
    return 0;
}

/* --- reading a line ------------------------------------------------------------------------ */

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
    PyObject *timeline, *lanes, *pending;
    Column times, numbers, codes, starts, states;
    PyObject *loop_starts, *loop_states; /* the arrays, opened as columns when first needed */
    long long threshold, end, active;
    int end_wide, active_wide, damage_said;
} Fold;

static int open_loop(Fold *f)
{
    if (f->starts.array != NULL)
        return 0;
    if (column_open(&f->starts, f->loop_starts, "q") < 0)
        return -1;
    return column_open(&f->states, f->loop_states, "b");
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

/* A record of the lane's that came before one it follows: said once (``_out_of_order``). */
static int out_of_order(Fold *f, PyObject *lane)
{
    if (f->damage_said)
        return 0;
    if (call_method(f->timeline, s_out_of_order, "O", lane) < 0)
        return -1;
    PyObject *said = PyObject_GetAttr(f->timeline, s_damage_said);
    if (said == NULL)
        return -1;
    f->damage_said = PyObject_IsTrue(said);
    Py_DECREF(said);
    return f->damage_said < 0 ? -1 : 0;
}

/* The lane's last segment's time to its deadline (``Lane.last_timeout``): 0 none. */
static int last_timeout(PyObject *lane, Py_ssize_t segments, long long *timeout)
{
    *timeout = 0;
    PyObject *timed_at = PyObject_GetAttr(lane, s_timed_at);
    if (timed_at == NULL)
        return -1;
    Py_ssize_t count = 0;
    long long at = 0;
    int failed = timed_at != Py_None && small_array(timed_at, &count, &at) < 0;
    Py_DECREF(timed_at);
    if (failed)
        return -1;
    if (!count || at != segments - 1)
        return 0;
    PyObject *timeouts = PyObject_GetAttr(lane, s_timeouts);
    if (timeouts == NULL)
        return -1;
    if (timeouts != Py_None) {
        Py_buffer view;
        if (PyObject_GetBuffer(timeouts, &view, PyBUF_FORMAT) < 0) {
            Py_DECREF(timeouts);
            return -1;
        }
        if (view.itemsize == 8 && view.format && !strcmp(view.format, "q") && view.len)
            *timeout = ((const int64_t *)view.buf)[view.len / 8 - 1];
        else if (!(view.itemsize == 8 && view.format && !strcmp(view.format, "q")))
            failed = 1;
        PyBuffer_Release(&view);
    }
    Py_DECREF(timeouts);
    if (failed)
        PyErr_SetString(PyExc_TypeError, "_fold: a lane's timeouts are not array('q')");
    return failed ? -1 : 0;
}

/* When a timer due at ``deadline`` could first run (``Timeline._due_from``). */
static long long due_from(Fold *f, long long deadline)
{
    Column *starts = &f->starts;
    Py_ssize_t lo = 0, hi = column_len(starts);
    while (lo < hi) { /* bisect_right */
        Py_ssize_t mid = (lo + hi) / 2;
        if (deadline < column_get(starts, mid))
            hi = mid;
        else
            lo = mid + 1;
    }
    Py_ssize_t i = lo - 1;
    if (i >= 0 && i < column_len(&f->states) && column_get(&f->states, i) == K.idle &&
        i + 1 < column_len(starts))
        return column_get(starts, i + 1);
    return deadline;
}

/* Append a segment's events: their times and codes, the lane's tag, to its ids too. */
static int push_events(Fold *f, PyObject *ids, long long tag, int count, long long t0, int code0,
                       long long t1, int code1)
{
    Py_ssize_t n = column_len(&f->times);
    if (append_i32(ids, count, n, n + 1) < 0)
        return -1;
    for (int k = 0; k < count; k++) {
        long long t = k ? t1 : t0;
        if (column_put(&f->times, t) < 0 || column_put(&f->numbers, tag) < 0 ||
            column_put(&f->codes, k ? code1 : code0) < 0)
            return -1;
        if (!f->end_wide && t > f->end)
            f->end = t;
    }
    return 0;
}

/* ``lane.add_wait(i, detail, site, timeout)``: wait segment i's detail, site and deadline. */
static int add_wait(PyObject *lane, long long i, long long detail, long long site,
                    long long timeout)
{
    if (!(K.wide < detail && detail <= K.site_max)) /* kept aside: Python's */
        return call_method(lane, s_add_wait, "LLLL", i, detail, site, timeout);
    PyObject *at = PyObject_GetAttr(lane, s_wait_at);
    PyObject *ref = at ? PyObject_GetAttr(lane, s_wait_ref) : NULL;
    PyObject *where = ref ? PyObject_GetAttr(lane, s_wait_site) : NULL;
    int failed = where == NULL || append_checked(at, "i", i) < 0 ||
                 append_checked(ref, "i", detail) < 0 || append_checked(where, "i", site) < 0;
    Py_XDECREF(at);
    Py_XDECREF(ref);
    Py_XDECREF(where);
    if (failed || !timeout)
        return failed ? -1 : 0;
    PyObject *timed_at = PyObject_GetAttr(lane, s_timed_at);
    PyObject *timeouts = timed_at ? PyObject_GetAttr(lane, s_timeouts) : NULL;
    if (timeouts != NULL && (timed_at == Py_None || timeouts == Py_None)) {
        /* its first timed wait: the arrays made when first needed */
        Py_SETREF(timed_at, PyObject_CallFunction(array_type, "s", "i"));
        Py_SETREF(timeouts, timed_at ? PyObject_CallFunction(array_type, "s", "q") : NULL);
        if (timeouts == NULL || PyObject_SetAttr(lane, s_timed_at, timed_at) < 0 ||
            PyObject_SetAttr(lane, s_timeouts, timeouts) < 0)
            Py_CLEAR(timeouts);
    }
    failed = timeouts == NULL || append_checked(timed_at, "i", i) < 0 ||
             append_checked(timeouts, "q", timeout) < 0;
    Py_XDECREF(timed_at);
    Py_XDECREF(timeouts);
    return failed ? -1 : 0;
}

/* What fold_step and fold_ready read of a lane. */
typedef struct {
    PyObject *lane, *info, *ids;
    long long last, tag, final; /* final: the index of its last event */
    Py_ssize_t segments;
} LaneState;

static void lane_clear(LaneState *l)
{
    Py_CLEAR(l->info);
    Py_CLEAR(l->ids);
}

/* 1 read, 0 a value too wide (left to Python), -1 error. */
static int lane_read(LaneState *l, PyObject *lane)
{
    int got;
    l->lane = lane;
    if ((got = get_ll(lane, s_last, &l->last)) <= 0 || (got = get_ll(lane, s_tag, &l->tag)) <= 0)
        return got;
    if ((l->info = PyObject_GetAttr(lane, s_info)) == NULL ||
        (l->ids = PyObject_GetAttr(lane, s_ids)) == NULL)
        return -1;
    return small_array(l->ids, &l->segments, &l->final) < 0 ? -1 : 1;
}

/* A step (Ran: ``n`` 3; Waited: 6 or 7): 1 folded, 0 left to Python, -1 error. As
   ``Timeline._add`` folds it, or ``_on_ran`` / ``_on_waited`` when it comes before the
   lane's last event (moved to it, the damage said); when blocking, left to Python. */
static int fold_step(Fold *f, PyObject *task, PyObject *lane, const long long *v, int n,
                     int waited)
{
    long long t = v[0], dur = v[2];
    long long kind = 0, detail = 0, site = 0, timeout = 0;
    int after = K.yielded, got, result = 0;
    if (waited) {
        kind = v[3], detail = v[4], site = v[5], timeout = n == 7 ? v[6] : 0;
        if (kind < 0 || kind > 63 || !(K.waits >> kind & 1) || site < 0 || site > K.site_max)
            return 0;
        after = K.waiting | (int)kind << K.kind_shift;
    }
    if (!(0 <= t && t <= K.max_t && 0 <= dur && dur < f->threshold))
        return 0;
    if (PyDict_Size(f->pending) && (got = PyDict_Contains(f->pending, task)) != 0)
        return got < 0 ? -1 : 0; /* a watchdog report waits for a step of this task */
    LaneState l = {0};
    if ((got = lane_read(&l, lane)) <= 0) {
        result = got;
        goto done;
    }
    PyObject *ended = PyObject_GetAttr(l.info, s_ended);
    if (ended == NULL)
        goto error;
    Py_DECREF(ended);
    if (ended != Py_None)
        goto done;
    if (waited && add_wait(lane, l.segments + 1, detail, site, timeout) < 0)
        goto error;
    long long start = t, stop = t + dur;
    if (t < l.last) { /* repaired: moved to where the task's lane is */
        if (out_of_order(f, lane) < 0)
            goto error;
        start = l.last;
    }
    if (!f->active_wide && stop > f->active)
        f->active = stop;
    if (stop < start)
        stop = start;
    if (push_events(f, l.ids, l.tag, 2, start, K.stepping, stop, after) < 0 ||
        set_ll(lane, s_last, stop) < 0)
        goto error;
    if (after != K.yielded && site) { /* a library's task: the program's function it runs */
        PyObject *library = PyObject_GetAttr(l.info, s_library);
        if (library == NULL)
            goto error;
        int truth = PyObject_IsTrue(library);
        Py_DECREF(library);
        if (truth < 0 || (truth && call_method(f->timeline, s_handler, "OL", l.info, site) < 0))
            goto error;
    }
    result = 1;
    goto done;
error:
    result = -1;
done:
    lane_clear(&l);
    return result;
}

/* A wake-up (Ready: ``n`` 3 or 4), as ``Timeline._add`` folds it or ``_on_ready`` (a task
   ready already: the cause named; one that came before the lane's last event: moved to it). */
static int fold_ready(Fold *f, PyObject *lane, const long long *v, int n)
{
    long long t = v[0], cause = v[2], ref = n == 4 ? v[3] : 0;
    int result = 0, got;
    if (cause < 0 || cause > 63 || !(K.causes >> cause & 1) || !(0 <= t && t <= K.max_t))
        return 0;
    int code = K.ready | (int)cause << K.kind_shift;
    LaneState l = {0};
    if ((got = lane_read(&l, lane)) <= 0) {
        result = got;
        goto done;
    }
    if (l.segments == 0 || l.final < 0 || l.final >= column_len(&f->codes))
        goto done; /* (not a stored event: left to Python) */
    int before = (int)column_get(&f->codes, l.final);
    if ((before & K.state_mask) == K.ready && !(before & K.overdue)) {
        column_set(&f->codes, l.final, code); /* ready already: the record names the cause */
        if (call_method(lane, s_set_ref, "LL", (long long)l.segments - 1, ref) < 0)
            goto error;
        result = 1;
        goto done;
    }
    if ((before & K.state_mask) != K.waiting)
        goto done;
    long long timeout, due = 0;
    int overdue = 0;
    if (last_timeout(lane, l.segments, &timeout) < 0)
        goto error;
    if (timeout) { /* a timed wait: ready from its deadline, if the loop was late to it */
        long long deadline, late;
        if (__builtin_add_overflow(l.last, timeout, &deadline))
            goto done;
        if ((K.cancelled >> cause & 1) && t < deadline)
            goto done; /* cut short: Python keeps the list */
        if (open_loop(f) < 0)
            goto error;
        due = due_from(f, deadline);
        if (__builtin_sub_overflow(t, due, &late))
            goto done;
        overdue = late > K.slack;
        if (overdue && due < l.last)
            goto done; /* damage: Python repairs and says it */
    }
    if (overdue) {
        if (push_events(f, l.ids, l.tag, 1, due, (before & ~K.state_mask) | K.ready | K.overdue,
                        0, 0) < 0)
            goto error;
        l.segments++;
        l.last = due;
    }
    if (t < l.last) { /* repaired: moved to where the task's lane is */
        if (out_of_order(f, lane) < 0)
            goto error;
        t = l.last;
    }
    if (ref && call_method(lane, s_set_ref, "LL", (long long)l.segments, ref) < 0)
        goto error;
    if (push_events(f, l.ids, l.tag, 1, t, code, 0, 0) < 0 || set_ll(lane, s_last, t) < 0)
        goto error;
    result = 1;
    goto done;
error:
    result = -1;
done:
    lane_clear(&l);
    return result;
}

/* The loop idle in select() (Idle: 3), as ``Timeline._add`` folds it. */
static int fold_idle(Fold *f, const long long *v)
{
    long long t = v[0], stop = v[0] + v[1];
    if (open_loop(f) < 0)
        return -1;
    Column *starts = &f->starts, *states = &f->states;
    Py_ssize_t count = column_len(starts);
    if (!(count && column_len(states) && column_get(starts, count - 1) <= t && t <= stop &&
          stop <= t + K.max_t && t <= K.max_t &&
          column_get(states, column_len(states) - 1) != K.no_loop))
        return 0;
    if (column_put(starts, t) < 0 || column_put(starts, stop) < 0 ||
        column_put(states, K.idle) < 0 || column_put(states, K.busy) < 0)
        return -1;
    if (!f->end_wide && stop > f->end)
        f->end = stop;
    return 1;
}

static int fold_line(Fold *f, const long long *v, int n)
{
    long long tag = v[0]; /* not cut to an int: 2^32 + a tag is damage, left to Python */
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
    int result = lane == NULL ? (PyErr_Occurred() ? -1 : 0) : 1;
    if (result == 1) {
        Py_INCREF(lane);
        result = step ? fold_step(f, task, lane, v, n, tag == K.waited_tag)
                      : fold_ready(f, lane, v, n);
        Py_DECREF(lane);
    }
    Py_DECREF(task);
    return result;
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
    int failed = 0, got, truth;

    /* Only the program's own records, with nothing dropped before (``_add``'s ``usual``). */
    value = PyObject_GetAttr(timeline, s_proc);
    truth = value ? PyObject_IsTrue(value) : -1;
    Py_XDECREF(value);
    if (truth == 0) {
        value = PyObject_GetAttr(timeline, s_kept_from);
        truth = value ? PyObject_IsTrue(value) : -1;
        Py_XDECREF(value);
    }
    if (truth != 0) {
        failed = truth < 0;
        goto finish;
    }
    value = PyObject_GetAttr(timeline, s_damage_said);
    f.damage_said = value ? PyObject_IsTrue(value) : -1;
    Py_XDECREF(value);
    if (f.damage_said < 0)
        goto fail;
    if ((f.lanes = PyObject_GetAttr(timeline, s_lanes)) == NULL ||
        (f.pending = PyObject_GetAttr(timeline, s_pending)) == NULL)
        goto fail;
    if (!PyDict_Check(f.lanes) || !PyDict_Check(f.pending)) {
        PyErr_SetString(PyExc_TypeError, "fold_lines: not a timeline");
        goto fail;
    }
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
    if ((times = PyObject_GetAttr(timeline, s_times)) == NULL ||
        (numbers = PyObject_GetAttr(timeline, s_numbers)) == NULL ||
        (codes = PyObject_GetAttr(timeline, s_codes)) == NULL ||
        (loop = PyObject_GetAttr(timeline, s_loop)) == NULL ||
        (f.loop_starts = PyObject_GetAttr(loop, s_starts)) == NULL ||
        (f.loop_states = PyObject_GetAttr(timeline, s_loop_state)) == NULL)
        goto fail;
    if (column_open(&f.times, times, "q") < 0 || column_open(&f.numbers, numbers, "HI") < 0 ||
        column_open(&f.codes, codes, "B") < 0)
        goto fail;

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
fail:
    failed = 1;
finish:
    if (!failed && f.lanes != NULL) {
        if ((!f.end_wide && set_ll(timeline, s_end, f.end) < 0) ||
            (!f.active_wide && set_ll(timeline, s_active, f.active) < 0))
            failed = 1;
    }
    /* Every column is closed (what was folded appended), even after an error. */
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *raised = failed ? PyErr_GetRaisedException() : NULL;
#else
    PyObject *type = NULL, *raised = NULL, *traceback = NULL;
    if (failed)
        PyErr_Fetch(&type, &raised, &traceback);
#endif
    int closing = column_close(&f.times) | column_close(&f.numbers) | column_close(&f.codes) |
                  column_close(&f.starts) | column_close(&f.states);
    if (failed) {
        PyErr_Clear();
#if PY_VERSION_HEX >= 0x030C0000
        PyErr_SetRaisedException(raised);
#else
        PyErr_Restore(type, raised, traceback);
#endif
    }
    else if (closing)
        failed = 1;
    Py_XDECREF(f.lanes);
    Py_XDECREF(f.pending);
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

/* An array('<typecode>') of ``n`` zeros, of exactly that size (``array(code, (0,)) * n``). */
static PyObject *new_array(const char *typecode, Py_ssize_t n)
{
    PyObject *one = PyObject_CallFunction(array_type, "s(i)", typecode, 0);
    if (one == NULL)
        return NULL;
    PyObject *out = PySequence_Repeat(one, n);
    Py_DECREF(one);
    return out;
}

/* Index ``i`` of a sequence of ``n``, as Python reads it (negative from the end): -1 outside. */
static inline Py_ssize_t python_index(long long i, Py_ssize_t n)
{
    if (i < 0)
        i += n;
    return i >= 0 && i < n ? (Py_ssize_t)i : -1;
}

/* order(times) -> array('i'): the indices of ``times`` sorted by time, ties in index order
   (``sorted(range(len(times)), key=times.__getitem__)``): a radix sort, stable, on each
   time's offset from the lowest, 11 bits at a time from the lowest. Each pass moves the keys
   with their indices, so that it reads both in order (10 million times do not fit a cache). */
static PyObject *order(PyObject *module, PyObject *times)
{
    Column t, r;
    memset(&r, 0, sizeof(r));
    PyObject *out = NULL;
    uint64_t *keys = NULL, *keys2 = NULL;
    uint32_t *index = NULL, *index2 = NULL;
    if (column_open(&t, times, "q") < 0)
        goto finish;
    Py_ssize_t n = t.base;
    if (n > INT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "order: too many times");
        goto finish;
    }
    if ((out = new_array("i", n)) == NULL || n == 0)
        goto finish;
    if (column_open(&r, out, "i") < 0) {
        Py_CLEAR(out);
        goto finish;
    }
    const int64_t *tv = (const int64_t *)t.view.buf;
    int64_t low = tv[0], high = tv[0];
    for (Py_ssize_t i = 1; i < n; i++) {
        if (tv[i] < low)
            low = tv[i];
        if (tv[i] > high)
            high = tv[i];
    }
    uint64_t range = (uint64_t)high - (uint64_t)low;
    index = (uint32_t *)r.view.buf; /* the result, and one of the two buffers */
    for (Py_ssize_t i = 0; i < n; i++)
        index[i] = (uint32_t)i;
    if (range == 0)
        goto finish;
    keys = PyMem_Malloc(n * sizeof(uint64_t));
    keys2 = PyMem_Malloc(n * sizeof(uint64_t));
    index2 = PyMem_Malloc(n * sizeof(uint32_t));
    if (keys == NULL || keys2 == NULL || index2 == NULL) {
        PyErr_NoMemory();
        Py_CLEAR(out);
        goto finish;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        keys[i] = (uint64_t)tv[i] - (uint64_t)low;
    enum { BITS = 11, SIZE = 1 << BITS };
    static Py_ssize_t count[SIZE];
    uint32_t *from = index, *to = index2;
    for (int shift = 0; shift < 64 && (range >> shift); shift += BITS) {
        memset(count, 0, sizeof(count));
        for (Py_ssize_t i = 0; i < n; i++)
            count[(keys[i] >> shift) & (SIZE - 1)]++;
        Py_ssize_t sum = 0;
        for (int d = 0; d < SIZE; d++) {
            Py_ssize_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_ssize_t j = count[(keys[i] >> shift) & (SIZE - 1)]++;
            keys2[j] = keys[i];
            to[j] = from[i];
        }
        uint64_t *swap_keys = keys;
        keys = keys2;
        keys2 = swap_keys;
        uint32_t *swap = from;
        from = to;
        to = swap;
    }
    if (from != index)
        memcpy(index, from, n * sizeof(uint32_t));
finish:
    PyMem_Free(keys);
    PyMem_Free(keys2);
    PyMem_Free(index2);
    column_close(&r);
    column_close(&t);
    return out;
}

/* gather(values, order) -> ``values`` in ``order``, an array of its type and exact size. */
static PyObject *gather(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "gather(values, order)");
        return NULL;
    }
    Column v, o, r;
    memset(&o, 0, sizeof(o));
    memset(&r, 0, sizeof(r));
    PyObject *out = NULL;
    if (column_open(&v, args[0], "bBHiIq") < 0 || column_open(&o, args[1], "i") < 0)
        goto finish;
    char code[2] = {v.format, 0};
    if ((out = new_array(code, o.base)) == NULL)
        goto finish;
    if (column_open(&r, out, code) < 0) {
        Py_CLEAR(out);
        goto finish;
    }
    for (Py_ssize_t k = 0; k < o.base; k++) {
        Py_ssize_t i = python_index(column_get(&o, k), v.base);
        if (i < 0) {
            PyErr_SetString(PyExc_IndexError, "array index out of range");
            Py_CLEAR(out);
            goto finish;
        }
        memcpy((char *)r.view.buf + k * r.itemsize, (char *)v.view.buf + i * v.itemsize,
               v.itemsize);
    }
finish:
    column_close(&r);
    column_close(&o);
    column_close(&v);
    return out;
}

/* inverse(order) -> array('i') ``where`` with ``where[order[k]] = k``. */
static PyObject *inverse(PyObject *module, PyObject *order_array)
{
    Column o, r;
    memset(&r, 0, sizeof(r));
    PyObject *out = NULL;
    if (column_open(&o, order_array, "i") < 0 || (out = new_array("i", o.base)) == NULL)
        goto finish;
    if (column_open(&r, out, "i") < 0) {
        Py_CLEAR(out);
        goto finish;
    }
    int32_t *where = (int32_t *)r.view.buf;
    for (Py_ssize_t k = 0; k < o.base; k++) {
        Py_ssize_t i = python_index(column_get(&o, k), o.base);
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
    return out;
}

/* configure(...): the model's constants (see timeline.py's call). */
static PyObject *configure(PyObject *module, PyObject *args)
{
    if (!PyArg_ParseTuple(args, "LLLLiiiiiiiiiiKKKiiii", &K.max_t, &K.slack, &K.wide,
                          &K.site_max, &K.kind_shift, &K.state_mask, &K.waiting, &K.ready,
                          &K.stepping, &K.yielded, &K.overdue, &K.no_loop, &K.idle, &K.busy,
                          &K.waits, &K.causes, &K.cancelled, &K.ready_tag, &K.ran_tag,
                          &K.waited_tag, &K.idle_tag))
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
    INTERN(s_damage_said, "_damage_said");
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
    INTERN(s_handler, "_handler");
    INTERN(s_out_of_order, "_out_of_order");
    INTERN(s_frombytes, "frombytes");
    if ((scratch4 = PyByteArray_FromStringAndSize(NULL, 4)) == NULL ||
        (scratch8 = PyByteArray_FromStringAndSize(NULL, 8)) == NULL)
        return NULL;
    PyObject *module = PyImport_ImportModule("array");
    if (module == NULL)
        return NULL;
    array_type = PyObject_GetAttrString(module, "array");
    Py_DECREF(module);
    if (array_type == NULL)
        return NULL;
    return PyModule_Create(&module_def);
}
