/* The recorder's hot path in C: an optional accelerator for record/handles.py, loop.py and
 * session.py (setup.py builds it where a C compiler is present; see loopviz/compiled.py).
 *
 * Each function here is the compiled twin of a Python method of the same name and does the
 * same thing, in the same order, with the same fields; speedups.py puts them in the methods'
 * places. What they save is the Python calls, frames and big-int arithmetic of a task's step
 * (a step's clock readings are C integers here), not any of the work.
 *
 * Only the public C API is used, with one exception named in record/cpython.py: a handle's
 * slots (``asyncio.Handle.__slots__`` and the timed handles' own) are read and written at the
 * offsets their member descriptors give, as Python's own slot access does.
 *
 * The methods are objects of a small descriptor type flagged Py_TPFLAGS_METHOD_DESCRIPTOR:
 * put in a class, ``obj.method(...)`` calls them with ``obj`` first and no bound method made,
 * as for a Python function (this is what the flag is documented for).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <time.h>
#ifndef Py_T_OBJECT_EX
#include <structmember.h>
#define Py_T_OBJECT_EX T_OBJECT_EX
#endif

/* --- the clock: time.monotonic_ns(), as CPython reads it ------------------------------------ */

static PyObject *py_monotonic_ns; /* the fallback where the clock below is not CPython's */

static int
now_ns(long long *out)
{
#if PY_VERSION_HEX >= 0x030D0000
    PyTime_t t;
    if (PyTime_Monotonic(&t) < 0) {
        return -1;
    }
    *out = (long long)t;
    return 0;
#elif defined(__APPLE__)
    *out = (long long)clock_gettime_nsec_np(CLOCK_UPTIME_RAW);
    return 0;
#elif defined(CLOCK_MONOTONIC) && !defined(_WIN32)
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    *out = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    return 0;
#else
    PyObject *t = PyObject_CallNoArgs(py_monotonic_ns);
    if (t == NULL) {
        return -1;
    }
    *out = PyLong_AsLongLong(t);
    Py_DECREF(t);
    return (*out == -1 && PyErr_Occurred()) ? -1 : 0;
#endif
}

/* --- exceptions, on 3.11 and 3.12+ ----------------------------------------------------------- */

static PyObject *
take_exception(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    return PyErr_GetRaisedException();
#else
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb != NULL && value != NULL) {
        PyException_SetTraceback(value, tb);
    }
    Py_XDECREF(type);
    Py_XDECREF(tb);
    return value;
#endif
}

static void
give_exception(PyObject *exc) /* steals exc */
{
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(exc);
#else
    PyErr_Restore(Py_NewRef((PyObject *)Py_TYPE(exc)), exc, PyException_GetTraceback(exc));
#endif
}

/* An exception raised while ``pending`` was being handled: ``pending`` is its context, as
 * Python sets it for one raised in an ``except`` or ``finally`` block. Steals ``pending``. */
static void
chain_exception(PyObject *pending)
{
    PyObject *raised = take_exception();
    if (raised != pending) {
        PyException_SetContext(raised, pending); /* steals pending */
    }
    else {
        Py_DECREF(pending);
    }
    give_exception(raised);
}

/* --- names, and what configure() hands over ------------------------------------------------- */

static PyObject *s_boundary, *s_after_step, *s_callback_ran, *s_fut_waiter, *s_done,
    *s_cause, *s_ref, *s_self, *s_append, *s_wants_boundary,
    *s_callback_min_ns, *s_task_scheduled, *s_step_ended, *s_fail, *s_cancelled,
    *s_exception, *s_result;

static PyObject *zero_float, *zero_int, *cause_io;
static PyObject *report_error;   /* cpython.report_error(handle, exc) */
static PyObject *ran_type;       /* trace.Ran */
static PyObject *handles_dict;   /* record/handles.py's globals: CALLBACK_MIN_NS */
static PyObject *call_soon_py;   /* TracingLoop's Python call_soon, for all but a yield */
static PyObject *after_step_method; /* this module's after_step */
static PyTypeObject *loop_type;  /* TracingLoop */
static PyTypeObject *recorder_type; /* Recorder, once session.py configured it */
static PyTypeObject *task_type;  /* asyncio.Task */
static PyTypeObject *wrapper_type; /* a coroutine's __await__() iterator (cpython.py) */
static getter fut_waiter_get;    /* its _fut_waiter getter */
static void *fut_waiter_closure;
static PyTypeObject *step_type;  /* the C Task's step callback type, once seen */
static PyTypeObject *step_class, *callback_class; /* handles.Step, handles.Callback */
static PyObject *cause_task, *cause_future;
static PyObject *ready_type, *finished_type; /* trace.Ready, trace.Finished */
static long cause_timer_value;
static PyObject *cause_timer, *outcome_result, *none_text;

/* Offsets of slots (their member descriptors'): a handle's (H_), a step's (S_), a traced
 * loop's (L_), a recorder's (R_). */
static Py_ssize_t H_loop, H_callback, H_args, H_context, H_cancelled, H_repr,
    H_source_traceback, S_task, S_tid, C_cause, C_ref;
static Py_ssize_t L_hooks, L_recording, L_running_task, L_running_tid, L_running_step,
    L_busy_since, L_step_deadline, L_wake_cause, L_wake_ref, L_ready, L_closed, L_debug;
static Py_ssize_t R_origin, R_emit, R_fresh, R_queue_users, R_wants_boundary, R_task_ids,
    R_finished, R_strings, R_held, R_resource_waits;
static Py_ssize_t L_executor_jobs, L_creating, L_sleep_due, L_scheduled;
static Py_ssize_t R_codes;
static PyObject *waited_type, *wait_sleep, *wait_for; /* trace.Waited; Wait.SLEEP; WAIT_FOR */
static PyObject *resource_waits; /* trace.RESOURCE_WAITS */
static PyTypeObject *books_type; /* resources.QueueBooks */
static PyObject *use_type, *op_put, *op_got; /* trace.Use; UseOp.PUT, UseOp.GOT */
static Py_ssize_t B_queue, B_done, B_puts, B_level, B_rid, B_woke, B_wakes; /* its slots */
static PyTypeObject *future_type; /* asyncio.Future */
static double no_deadline_s;
static PyObject *s_get_coro, *s_cr_code, *s_cr_await, *s_cr_frame, *s_f_lasti, *s_library,
    *s_kind, *s_sites, *s_resource, *s_woken_from, *s_resources, *s_count, *s_on, *s_enabled,
    *s_unfinished, *s_qsize;
static Py_ssize_t T_when, T_scheduled, T_ref; /* a Timer's */
static PyTypeObject *timer_class;
static PyObject *call_at_py, *create_task_py, *stock_create_task, *heappush, *sleep_timer,
    *no_deadline, *s_task_created, *upkeep; /* loop.upkeep */

static int
slot_offset(PyObject *cls, const char *name, Py_ssize_t *out)
{
    PyObject *descr = PyObject_GetAttrString(cls, name);
    if (descr == NULL) {
        return -1;
    }
    int ok = Py_IS_TYPE(descr, &PyMemberDescr_Type) &&
             ((PyMemberDescrObject *)descr)->d_member->type == Py_T_OBJECT_EX;
    if (ok) {
        *out = ((PyMemberDescrObject *)descr)->d_member->offset;
    }
    Py_DECREF(descr);
    if (!ok) {
        PyErr_Format(PyExc_TypeError, "%R.%s is not an object slot", cls, name);
        return -1;
    }
    return 0;
}

/* A slot's value (borrowed), or NULL with AttributeError as Python says it when unset. */
static inline PyObject *
slot(PyObject *obj, Py_ssize_t offset, const char *name)
{
    PyObject *value = *(PyObject **)((char *)obj + offset);
    if (value == NULL) {
        PyErr_Format(PyExc_AttributeError, "'%.50s' object has no attribute '%s'",
                     Py_TYPE(obj)->tp_name, name);
    }
    return value;
}

#define SLOT(obj, name) slot((obj), name, #name)

static inline void
set_slot(PyObject *obj, Py_ssize_t offset, PyObject *value) /* steals value */
{
    PyObject **where = (PyObject **)((char *)obj + offset);
    PyObject *old = *where;
    *where = value;
    Py_XDECREF(old);
}

/* Whether a slot's value is true: 1, 0, or -1 on error. */
static inline int
slot_true(PyObject *obj, Py_ssize_t offset, const char *name)
{
    PyObject *v = slot(obj, offset, name);
    return v == NULL ? -1 : v == Py_True ? 1 : v == Py_False || v == Py_None ? 0 : PyObject_IsTrue(v);
}

/* Whether obj.name is true: 1, 0, or -1. */
static int
attr_is_true(PyObject *obj, PyObject *name)
{
    PyObject *v = PyObject_GetAttr(obj, name);
    if (v == NULL) {
        return -1;
    }
    int r = PyObject_IsTrue(v);
    Py_DECREF(v);
    return r;
}

static inline int
is_loop(PyObject *loop)
{
    if (Py_TYPE(loop) == loop_type || PyType_IsSubtype(Py_TYPE(loop), loop_type)) {
        return 1;
    }
    PyErr_Format(PyExc_TypeError, "not a traced loop: %R", loop);
    return 0;
}

static inline int
is_recorder(PyObject *hooks)
{
    return recorder_type != NULL &&
           (Py_TYPE(hooks) == recorder_type || PyType_IsSubtype(Py_TYPE(hooks), recorder_type));
}

/* hooks.wants_boundary is true: 1, 0, or -1. */
static int
wants_boundary(PyObject *hooks)
{
    if (is_recorder(hooks)) {
        return slot_true(hooks, R_wants_boundary, "wants_boundary");
    }
    PyObject *v = PyObject_GetAttr(hooks, s_wants_boundary);
    if (v == NULL) {
        return -1;
    }
    int r = PyObject_IsTrue(v);
    Py_DECREF(v);
    return r;
}

static int
boundary(PyObject *hooks)
{
    int wants = wants_boundary(hooks);
    if (wants <= 0) {
        return wants;
    }
    PyObject *r = PyObject_CallMethodNoArgs(hooks, s_boundary);
    if (r == NULL) {
        return -1;
    }
    Py_DECREF(r);
    return 0;
}

static inline long long
as_ns(PyObject *v)
{
#if LONG_MAX >= 0x7FFFFFFFFFFFFFFF
    return PyLong_AsLong(v); /* CPython's fast path for a few digits: AsLongLong has none */
#else
    return PyLong_AsLongLong(v);
#endif
}

/* ``emit(type(*fields))``: 0, or -1 with the exception set, as it is already when one of
 * ``fields`` is NULL (a conversion that failed: nothing is built). */
static int
emit_record(PyObject *emit, PyObject *type, PyObject *const *fields, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        if (fields[i] == NULL) {
            return -1;
        }
    }
    PyObject *record = PyObject_Vectorcall(type, fields, n, NULL);
    if (record == NULL) {
        return -1;
    }
    Py_INCREF(emit); /* (held: the recorder's field may be replaced meanwhile) */
    PyObject *r = PyObject_CallOneArg(emit, record);
    Py_DECREF(emit);
    Py_DECREF(record);
    if (r == NULL) {
        return -1;
    }
    Py_DECREF(r);
    return 0;
}

/* Runs handle's callback in its context, as ``self._context.run(self._callback, *self._args)``:
 * its result (a new reference) or NULL. */
static PyObject *
run_callback(PyObject *handle)
{
    PyObject *context = slot(handle, H_context, "_context");
    PyObject *callback = context ? slot(handle, H_callback, "_callback") : NULL;
    PyObject *args = callback ? slot(handle, H_args, "_args") : NULL;
    if (args == NULL) {
        return NULL;
    }
    if (!PyContext_CheckExact(context)) { /* ``context.run(callback, *args)``, as asyncio */
        PyObject *tuple = PySequence_Tuple(args);
        PyObject *whole = tuple ? PyTuple_New(PyTuple_GET_SIZE(tuple) + 1) : NULL;
        PyObject *run = whole ? PyObject_GetAttrString(context, "run") : NULL;
        PyObject *result = NULL;
        if (run != NULL) {
            PyTuple_SET_ITEM(whole, 0, Py_NewRef(callback));
            for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(tuple); i++) {
                PyTuple_SET_ITEM(whole, i + 1, Py_NewRef(PyTuple_GET_ITEM(tuple, i)));
            }
            result = PyObject_Call(run, whole, NULL);
        }
        Py_XDECREF(run);
        Py_XDECREF(whole);
        Py_XDECREF(tuple);
        return result;
    }
    Py_INCREF(context);
    Py_INCREF(callback);
    Py_INCREF(args);
    PyObject *result = NULL;
    if (PyContext_Enter(context) == 0) {
        if (PyTuple_CheckExact(args)) {
            result = PyObject_Vectorcall(callback, &PyTuple_GET_ITEM(args, 0),
                                         PyTuple_GET_SIZE(args), NULL);
        }
        else {
            PyObject *tuple = PySequence_Tuple(args);
            if (tuple != NULL) {
                result = PyObject_Call(callback, tuple, NULL);
                Py_DECREF(tuple);
            }
        }
        if (PyContext_Exit(context) != 0) {
            Py_CLEAR(result);
        }
    }
    Py_DECREF(args);
    Py_DECREF(callback);
    Py_DECREF(context);
    return result;
}

/* After a callback failed (the exception is set): the exception to raise on once the
 * ``finally`` part ran (SystemExit, KeyboardInterrupt, or report_error's own failure), or
 * NULL if it was reported as the stock ``Handle._run`` does. */
static PyObject *
handle_failure(PyObject *handle)
{
    PyObject *exc = take_exception();
    if (PyErr_GivenExceptionMatches(exc, PyExc_SystemExit) ||
        PyErr_GivenExceptionMatches(exc, PyExc_KeyboardInterrupt)) {
        return exc;
    }
    /* Reported as from ``except BaseException as exc:``: the exception handler sees it in
     * sys.exc_info(), and an error raised there has it as its context. */
    PyObject *handled = PyErr_GetHandledException();
    PyErr_SetHandledException(exc);
    PyObject *r = PyObject_CallFunctionObjArgs(report_error, handle, exc, NULL);
    PyErr_SetHandledException(handled);
    Py_XDECREF(handled);
    if (r == NULL) {
        chain_exception(exc);
        return take_exception();
    }
    Py_DECREF(r);
    Py_DECREF(exc);
    return NULL;
}

/* Ends a _run: raises ``pending`` (stolen, may be NULL) unless the ``finally`` part failed
 * (``failed``: its exception is set), which then has ``pending`` as its context. */
static PyObject *
end_run(PyObject *pending, int failed)
{
    if (failed) {
        if (pending != NULL) {
            chain_exception(pending);
        }
        return NULL;
    }
    if (pending != NULL) {
        give_exception(pending);
        return NULL;
    }
    Py_RETURN_NONE;
}

/* --- Recorder.after_step ------------------------------------------------------------------ */

static int
call_method(PyObject *name, PyObject *const *args, Py_ssize_t n) /* args[0]: self */
{
    PyObject *r = PyObject_VectorcallMethod(name, (PyObject **)args,
                                            n | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    if (r == NULL) {
        return -1;
    }
    Py_DECREF(r);
    return 0;
}

/* An exception from recording (set): as the Python code's ``except Exception as exc:
 * self.fail(exc)``, recording stops and the program goes on. 0, or -1 if it must propagate. */
static int
or_fail(PyObject *self)
{
    if (!PyErr_ExceptionMatches(PyExc_Exception)) {
        return -1;
    }
    PyObject *exc = take_exception();
    PyObject *r = PyObject_CallMethodOneArg(self, s_fail, exc);
    Py_DECREF(exc);
    if (r == NULL) {
        return -1;
    }
    Py_DECREF(r);
    return 0;
}

/* A method's answer is None (1), not (0), or an error (-1). */
static int
answer_is(PyObject *obj, PyObject *name, PyObject *expected)
{
    PyObject *r = PyObject_CallMethodNoArgs(obj, name);
    if (r == NULL) {
        return -1;
    }
    int is = r == expected;
    Py_DECREF(r);
    return is;
}

/* ``_step_ended``'s most frequent case in C: the step ended the task with the result None,
 * no task woken by its end waiting for its record. 1: recorded; 0: the Python code must do
 * it (nothing was changed); -1: an error. */
static int
finished_with_none(PyObject *self, PyObject *task, PyObject *tid, long long start,
                   long long dur)
{
    int no = answer_is(task, s_cancelled, Py_False);
    if (no != 1) {
        return no;
    }
    PyObject *exc = PyObject_GetAttr(task, s_exception);
    if (exc == NULL) {
        return -1;
    }
    Py_DECREF(exc);
    if (exc != Py_None) {
        return 0;
    }
    int none = answer_is(task, s_result, Py_None);
    if (none != 1) {
        return none;
    }
    /* (Read after the task's methods ran: a subclass's could change them.) */
    PyObject *held = SLOT(self, R_held);
    PyObject *ids = held ? SLOT(self, R_task_ids) : NULL;
    PyObject *finished = ids ? SLOT(self, R_finished) : NULL;
    PyObject *strings = finished ? SLOT(self, R_strings) : NULL;
    PyObject *emit = strings ? SLOT(self, R_emit) : NULL;
    if (emit == NULL) {
        return -1;
    }
    if (!PyList_CheckExact(held) || PyList_GET_SIZE(held) || !PyDict_CheckExact(ids) ||
        !PyDict_CheckExact(finished) || !PyDict_CheckExact(strings)) {
        return 0;
    }
    PyObject *detail = PyDict_GetItemWithError(strings, none_text); /* borrowed */
    PyObject *key = detail ? PyLong_FromVoidPtr(task) : NULL;
    if (key == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    PyObject *known = PyDict_GetItemWithError(ids, key); /* borrowed */
    if (known == NULL) {
        Py_DECREF(key);
        return PyErr_Occurred() ? -1 : 0;
    }
    /* self._finished[id(task)] = self._task_ids.pop(id(task)) */
    Py_INCREF(known);
    Py_INCREF(detail);
    int failed = PyDict_SetItem(finished, key, known) < 0 || PyDict_DelItem(ids, key) < 0;
    Py_DECREF(known);
    Py_DECREF(key);
    PyObject *t = failed ? NULL : PyLong_FromLongLong(start);
    PyObject *d = t ? PyLong_FromLongLong(dur) : NULL;
    PyObject *fields[5] = {t, tid, d, outcome_result, detail};
    int emitted = emit_record(emit, finished_type, fields, 5);
    Py_XDECREF(d);
    Py_XDECREF(t);
    Py_DECREF(detail);
    return emitted < 0 ? -1 : 1;
}

/* Whether ``future`` may be an executor job's (``loop.executor_jobs``: None, or a weak dict
 * once the loop has run one): 0 surely not, 1 maybe (the Python code tells), -1 an error. */
static int
maybe_job(PyObject *jobs, PyObject *future)
{
    if (jobs == Py_None) {
        return 0;
    }
    if (PyDict_CheckExact(jobs)) {
        return PyDict_Contains(jobs, future);
    }
    Py_ssize_t n = PyObject_Size(jobs); /* none in flight: none of them */
    return n < 0 ? -1 : n > 0;
}

/* ``task_scheduled``'s most frequent wake-up in C: a known task woken by a sleep's timer
 * (``_woken``'s last case, none of those before it applying). Its id (a new reference), or
 * NULL: with an error set, or without for the Python code to do it (nothing was changed). */
static PyObject *
woken_by_timer(PyObject *self, PyObject *loop, PyObject *task, PyObject *future)
{
    PyObject *jobs = *(PyObject **)((char *)loop + L_executor_jobs);
    int job = jobs == NULL ? 1 : maybe_job(jobs, future);
    if (job != 0) {
        return NULL; /* (an error set, or the Python code's) */
    }
    PyObject *cause = *(PyObject **)((char *)loop + L_wake_cause);
    PyObject *running = *(PyObject **)((char *)loop + L_running_task);
    if (cause == NULL || !PyLong_CheckExact(cause) || PyLong_AsLong(cause) != cause_timer_value ||
        running != Py_None || PyObject_TypeCheck(future, task_type)) {
        PyErr_Clear();
        return NULL;
    }
    int no = answer_is(future, s_cancelled, Py_False);
    if (no != 1) {
        return NULL;
    }
    /* (Read after the future's method ran: a subclass's could change them.) */
    PyObject *waits = SLOT(self, R_resource_waits);
    PyObject *ids = waits ? SLOT(self, R_task_ids) : NULL;
    PyObject *origin = ids ? SLOT(self, R_origin) : NULL;
    PyObject *emit = origin ? SLOT(self, R_emit) : NULL;
    if (emit == NULL) {
        return NULL;
    }
    if (!PyDict_CheckExact(waits) || PyDict_GET_SIZE(waits) || !PyDict_CheckExact(ids)) {
        return NULL;
    }
    PyObject *key = PyLong_FromVoidPtr(task);
    PyObject *tid = key ? PyDict_GetItemWithError(ids, key) : NULL; /* borrowed */
    Py_XDECREF(key);
    long long now, base = as_ns(origin);
    if (tid == NULL || (base == -1 && PyErr_Occurred()) || now_ns(&now) < 0) {
        return NULL;
    }
    Py_INCREF(tid);
    PyObject *t = PyLong_FromLongLong(now - base);
    PyObject *fields[4] = {t, tid, cause_timer, zero_int};
    int emitted = emit_record(emit, ready_type, fields, 4);
    Py_XDECREF(t);
    if (emitted < 0) {
        Py_DECREF(tid);
        return NULL;
    }
    return tid;
}

/* ``task_scheduled``'s wake-up of a known task by the running step in C: its future (not a
 * task, not cancelled, not an executor job's) was resolved by that step (``_woken``'s case
 * "resolved by the running step"); what the step did to the resource the task waited on, if
 * one, comes first (``_woken_from``). Its id (a new reference), or NULL: with an error set, or
 * without for the Python code to do it (nothing was changed). */
static PyObject *
woken_by_step(PyObject *self, PyObject *loop, PyObject *task, PyObject *future)
{
    PyObject *jobs = *(PyObject **)((char *)loop + L_executor_jobs);
    int job = jobs == NULL ? 1 : maybe_job(jobs, future);
    PyObject *running = *(PyObject **)((char *)loop + L_running_task);
    if (job != 0 || running == NULL || running == Py_None ||
        PyObject_TypeCheck(future, task_type)) {
        return NULL; /* (an error set, or the Python code's) */
    }
    int no = answer_is(future, s_cancelled, Py_False);
    if (no != 1) {
        return NULL; /* (an error set, or the Python code's) */
    }
    /* (Read after the future's method ran: a subclass's could change them.) */
    PyObject *waits = SLOT(self, R_resource_waits);
    PyObject *ids = waits ? SLOT(self, R_task_ids) : NULL;
    PyObject *origin = ids ? SLOT(self, R_origin) : NULL;
    if (origin == NULL || !PyDict_CheckExact(waits) || !PyDict_CheckExact(ids)) {
        return NULL;
    }
    PyObject *key = PyLong_FromVoidPtr(task);
    PyObject *tid = key ? PyDict_GetItemWithError(ids, key) : NULL; /* borrowed */
    Py_XDECREF(key);
    key = tid ? PyLong_FromVoidPtr(running) : NULL;
    PyObject *by = key ? PyDict_GetItemWithError(ids, key) : NULL; /* borrowed */
    Py_XDECREF(key);
    long long now, base = as_ns(origin);
    if (tid == NULL || (by == NULL && PyErr_Occurred()) || (base == -1 && PyErr_Occurred()) ||
        now_ns(&now) < 0) {
        return NULL;
    }
    Py_INCREF(tid);
    by = Py_NewRef(by ? by : zero_int);
    PyObject *t = PyLong_FromLongLong(now - base);
    /* waited = self._resource_waits.pop(tid, None) */
    PyObject *waited = t && PyDict_GET_SIZE(waits) ? PyDict_GetItemWithError(waits, tid) : NULL;
    int failed = t == NULL || (waited == NULL && PyErr_Occurred());
    if (waited != NULL) {
        Py_INCREF(waited);
        failed = PyDict_DelItem(waits, tid) < 0;
        if (!failed) {
            PyObject *call[4] = {self, waited, by, t};
            failed = call_method(s_woken_from, call, 4) < 0;
        }
        Py_DECREF(waited);
    }
    /* self.emit, read now: _woken_from is Python code (a SIGUSR1 handler's pause() there
     * replaces it), as self.emit(ready) reads it after */
    PyObject *emit = failed ? NULL : SLOT(self, R_emit);
    PyObject *fields[4] = {t, tid, cause_future, by};
    if (emit == NULL || emit_record(emit, ready_type, fields, 4) < 0) {
        Py_CLEAR(tid);
    }
    Py_XDECREF(t);
    Py_DECREF(by);
    return tid;
}

/* A float field of the loop (``loop.time()`` seconds) as ``int(x * 1e9)``: 0 on success,
 * 1 where Python's answer is not a C integer's (NaN, too large), -1 on error. */
static int
seconds_ns(PyObject *x, long long *out)
{
    double v = PyFloat_AsDouble(x);
    if (v == -1.0 && PyErr_Occurred()) {
        return -1;
    }
    v *= 1e9;
    if (!(v > -9e18 && v < 9e18)) {
        return 1;
    }
    *out = (long long)v;
    return 0;
}

/* ``_step_ended``'s most frequent waits in C: a task whose chain of awaits is coroutines only,
 * ending in ``asyncio.sleep()`` or, on a plain future (``_awaited`` knows nothing of it), in a
 * method of a lock, an event, a queue... (``RESOURCE_WAITS``), as ``_waited`` finds them, at a
 * place of its own code seen before. 1: recorded; 0: the Python code must do it (nothing was
 * changed); -1: an error. */
static int
waited_in_library(PyObject *self, PyObject *loop, PyObject *task, PyObject *waiter, PyObject *tid,
                  long long start, long long dur, long long t1)
{
    PyObject *codes = SLOT(self, R_codes);
    if (codes == NULL) {
        return -1;
    }
    if (!PyDict_CheckExact(codes)) {
        return 0;
    }
    Py_INCREF(codes);
    PyObject *obj = PyObject_CallMethodNoArgs(task, s_get_coro);
    PyObject *user = NULL, *user_info = NULL, *found = NULL, *found_at = NULL, *kind = NULL;
    PyObject *detail_obj = NULL;
    int outcome = obj == NULL ? -1 : 0;
    while (obj != NULL && obj != Py_None) {
        if (!PyCoro_CheckExact(obj)) {
            if (PyGen_CheckExact(obj) || Py_TYPE(obj) == wrapper_type) {
                goto out; /* a generator, a coroutine's wrapper: the Python code */
            }
            break; /* what it waits on (a future's iterator) */
        }
        PyObject *code = PyObject_GetAttr(obj, s_cr_code);
        PyObject *key = code ? PyLong_FromVoidPtr(code) : NULL;
        Py_XDECREF(code);
        PyObject *info = key ? PyDict_GetItemWithError(codes, key) : NULL;
        Py_XDECREF(key);
        if (info == NULL) {
            outcome = PyErr_Occurred() ? -1 : 0; /* code not seen yet: the Python code */
            goto out;
        }
        int library = attr_is_true(info, s_library);
        if (library < 0) {
            outcome = -1;
            goto out;
        }
        if (!library) { /* the program's own: the innermost so far */
            Py_XSETREF(user, Py_NewRef(obj));
            Py_XSETREF(user_info, Py_NewRef(info));
            Py_CLEAR(found);
            Py_CLEAR(found_at);
        }
        else if (found == NULL) {
            PyObject *kind = PyObject_GetAttr(info, s_kind);
            if (kind == NULL) {
                outcome = -1;
                goto out;
            }
            int other = kind != Py_None && PyObject_RichCompareBool(kind, wait_for, Py_EQ) != 0;
            int waits = kind != Py_None;
            Py_DECREF(kind);
            if (other) {
                goto out; /* a wait_for (or an error): the Python code */
            }
            if (waits) {
                found = Py_NewRef(info);
                found_at = Py_NewRef(obj);
            }
        }
        PyObject *next = PyObject_GetAttr(obj, s_cr_await);
        Py_SETREF(obj, next);
    }
    if (obj == NULL || user_info == NULL || found == NULL) {
        outcome = obj == NULL ? -1 : 0;
        goto out;
    }
    kind = PyObject_GetAttr(found, s_kind);
    int sleep = kind == NULL ? -1 : PyObject_RichCompareBool(kind, wait_sleep, Py_EQ);
    int resource = sleep != 0 ? 0 : PySet_Contains(resource_waits, kind);
    if (sleep < 0 || resource < 0) {
        outcome = -1;
        goto out;
    }
    if (resource) { /* on a future of its own: not a task's, a gather's, an executor job's */
        PyObject *jobs = SLOT(loop, L_executor_jobs);
        if (jobs == NULL) {
            outcome = -1;
            goto out;
        }
        resource = Py_IS_TYPE(waiter, future_type);
        int job = resource ? maybe_job(jobs, waiter) : 0;
        if (job < 0) {
            outcome = -1;
            goto out;
        }
        resource = resource && !job;
    }
    if (!sleep && !resource) {
        goto out;
    }
    /* Where its own code is suspended: a place seen before (else the Python code). */
    PyObject *frame = PyObject_GetAttr(user, s_cr_frame);
    PyObject *lasti = frame ? PyObject_GetAttr(frame, s_f_lasti) : NULL;
    Py_XDECREF(frame);
    PyObject *sites = lasti ? PyObject_GetAttr(user_info, s_sites) : NULL;
    PyObject *site = sites && PyDict_CheckExact(sites) ? PyDict_GetItemWithError(sites, lasti)
                                                        : NULL;
    Py_XINCREF(site);
    Py_XDECREF(sites);
    Py_XDECREF(lasti);
    if (site == NULL) {
        outcome = PyErr_Occurred() ? -1 : 0;
        goto out;
    }
    /* Its deadline (the step's earliest timer) and the sleep's own length, as _step_ended and
     * _waited work them out. */
    PyObject *deadline = SLOT(loop, L_step_deadline);
    PyObject *due = deadline ? SLOT(loop, L_sleep_due) : NULL;
    PyObject *origin = due ? SLOT(self, R_origin) : NULL;
    long long base = origin ? as_ns(origin) : -1, timeout = 0, detail = 0, ns = 0;
    int has = deadline ? PyObject_IsTrue(deadline) : -1;
    int odd = has < 0 || (base == -1 && PyErr_Occurred()) ? -1 : 0;
    if (odd == 0 && has) {
        odd = seconds_ns(deadline, &ns);
        timeout = ns - t1;
        timeout = timeout ? (timeout > 1 ? timeout : 1) : 0;
    }
    if (odd == 0 && !sleep) { /* which of them: the program's own call says */
        PyObject *call[5] = {self, found_at, tid, kind, waiter};
        detail_obj = PyObject_VectorcallMethod(s_resource, call,
                                               5 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
        odd = detail_obj == NULL ? -1 : 0;
    }
    else if (odd == 0) {
        double at = PyFloat_AsDouble(due);
        if (at == -1.0 && PyErr_Occurred()) {
            odd = -1;
        }
        else if (at >= no_deadline_s) {
            detail = -1; /* it sleeps for ever */
        }
        else if ((odd = seconds_ns(due, &ns)) == 0) {
            long long own = ns - base - start - dur;
            detail = own > timeout ? own : 0;
        }
    }
    if (odd != 0) {
        Py_DECREF(site);
        outcome = odd < 0 ? -1 : 0;
        goto out;
    }
    PyObject *emit = SLOT(self, R_emit);
    PyObject *fields[7] = {NULL};
    fields[0] = emit ? PyLong_FromLongLong(start) : NULL;
    fields[1] = Py_NewRef(tid);
    fields[2] = fields[0] ? PyLong_FromLongLong(dur) : NULL;
    fields[3] = Py_NewRef(kind);
    fields[4] = fields[2] == NULL ? NULL
                : detail_obj  ? Py_NewRef(detail_obj)
                              : PyLong_FromLongLong(detail);
    fields[5] = site; /* (given) */
    fields[6] = fields[4] ? PyLong_FromLongLong(timeout) : NULL;
    int emitted = emit_record(emit, waited_type, fields, 7); /* (no emit: fields[0] is NULL) */
    for (int i = 0; i < 7; i++) {
        Py_XDECREF(fields[i]);
    }
    outcome = emitted < 0 ? -1 : 1;
out:
    Py_XDECREF(obj);
    Py_XDECREF(user);
    Py_XDECREF(user_info);
    Py_XDECREF(found);
    Py_XDECREF(found_at);
    Py_XDECREF(kind);
    Py_XDECREF(detail_obj);
    Py_DECREF(codes);
    return outcome;
}

/* An int (a new reference, given) as a C integer. Where it is not one (not an int, too
 * large) ``*odd`` is set to 1 (the error cleared: the Python code then does what it does with
 * it); where reading it raised (``v`` NULL), to -1 with the exception left set. Once ``*odd``
 * is -1, nothing is read (no call with an exception set). */
static long long
plain_int(PyObject *v, int *odd)
{
    if (v == NULL) {
        if (*odd >= 0) {
            *odd = -1;
        }
        return -1;
    }
    long long x = PyLong_Check(v) ? PyLong_AsLongLong(v) : -1;
    if (!PyLong_Check(v) || (x == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        if (*odd == 0) {
            *odd = 1;
        }
    }
    Py_DECREF(v);
    return x;
}
#define READ_INT(expr) (odd < 0 ? -1 : plain_int((expr), &odd))

/* ``ResourceWatch.count(books, task, *t, *last)`` in C: the puts and gets of a queue since it
 * was last seen, from its own books, as ``Use`` records. 1: counted; 0: the Python code must
 * do it, with ``*t`` and ``*last`` (which a wake-up's hand-over, done first as there, may
 * have changed); -1: an error (raised where the Python code raises it). */
static int
count_queue(PyObject *self, PyObject *watch, PyObject *books, PyObject *task, long long *t,
            long long *last)
{
    if (!Py_IS_TYPE(books, books_type)) {
        return 0;
    }
    PyObject *ref = SLOT(books, B_queue);
    PyObject *queue = ref ? PyObject_CallNoArgs(ref) : NULL;
    if (queue == NULL) {
        PyErr_Clear();
        return 0;
    }
    if (queue == Py_None) {
        Py_DECREF(queue);
        return 1;
    }
    int odd = 0;
    long long woke = READ_INT(Py_XNewRef(SLOT(books, B_woke)));
    long long wakes = woke ? READ_INT(Py_XNewRef(SLOT(books, B_wakes))) : 0;
    if (odd) {
        Py_DECREF(queue);
        return odd < 0 ? -1 : 0;
    }
    if (woke) { /* stamped with when its step first woke a task waiting on the queue */
        *t = woke, *last = wakes;
        set_slot(books, B_woke, Py_NewRef(zero_int));
    }
    long long puts = READ_INT(PyObject_GetAttr(queue, s_unfinished));
    puts += READ_INT(Py_XNewRef(SLOT(books, B_done)));
    long long level = READ_INT(PyObject_CallMethodNoArgs(queue, s_qsize));
    long long last_puts = READ_INT(Py_XNewRef(SLOT(books, B_puts)));
    long long last_level = READ_INT(Py_XNewRef(SLOT(books, B_level)));
    Py_DECREF(queue);
    if (odd) {
        return odd < 0 ? -1 : 0;
    }
    long long put = puts - last_puts;
    if (!put && level == last_level) {
        return 1;
    }
    int on = attr_is_true(watch, s_on);
    int enabled = on == 1 ? attr_is_true(self, s_enabled) : 0;
    if (on < 0 || enabled < 0) {
        return -1;
    }
    if (!(on && enabled)) {
        return 1;
    }
    long long got = put - level + last_level;
    if (put < 0) { /* 3.13's shutdown(immediate=True) dropped items without task_done() */
        put = 0, got = last_level - level;
    }
    PyObject *n_puts = PyLong_FromLongLong(puts), *n_level = PyLong_FromLongLong(level);
    if (n_puts == NULL || n_level == NULL) {
        Py_XDECREF(n_puts);
        Py_XDECREF(n_level);
        return -1;
    }
    set_slot(books, B_puts, n_puts);
    set_slot(books, B_level, Py_NewRef(n_level));
    PyObject *emit = SLOT(self, R_emit), *rid = emit ? SLOT(books, B_rid) : NULL;
    if (rid == NULL) {
        Py_DECREF(n_level);
        return -1;
    }
    Py_INCREF(rid);
    Py_INCREF(emit);
    PyObject *at = PyLong_FromLongLong(*t);
    int failed = at == NULL;
    long long put_op = PyLong_AsLong(op_put);
    for (int i = 0; i < 2 && !failed; i++) { /* the op that woke a task, if one, last */
        int puts_now = (i == 0) == (*last != put_op);
        long long n = puts_now ? put : got;
        if (n > 0) {
            PyObject *count = PyLong_FromLongLong(n);
            PyObject *fields[6] = {at, rid, puts_now ? op_put : op_got, task, n_level, count};
            failed = emit_record(emit, use_type, fields, 6) < 0;
            Py_XDECREF(count);
        }
    }
    Py_XDECREF(at);
    Py_DECREF(n_level);
    Py_DECREF(rid);
    Py_DECREF(emit);
    return failed ? -1 : 1;
}
#undef READ_INT

/* ``_stepped`` in C: ``task`` (``tid``), which uses queues (``users``, by task id), ended a
 * step at ``t`` (since the recorder's origin): what it did to each of them (its last step if
 * it is done: it uses them no more). 0, or -1 on error. */
static int
stepped(PyObject *self, PyObject *task, PyObject *tid, PyObject *users, long long t)
{
    PyObject *done = PyObject_CallMethodNoArgs(task, s_done);
    int last = done == NULL ? -1 : PyObject_IsTrue(done);
    Py_XDECREF(done);
    PyObject *watch = last < 0 ? NULL : PyObject_GetAttr(self, s_resources);
    PyObject *mine = watch ? PyDict_GetItemWithError(users, tid) : NULL; /* borrowed */
    if (mine == NULL) {
        if (watch != NULL && !PyErr_Occurred()) {
            PyErr_SetObject(PyExc_KeyError, tid);
        }
        Py_XDECREF(watch);
        return -1;
    }
    PyObject *queues = PySequence_Tuple(mine);
    if (queues == NULL || (last && PyDict_DelItem(users, tid) < 0)) {
        Py_XDECREF(queues);
        Py_DECREF(watch);
        return -1;
    }
    int outcome = 0;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(queues) && outcome == 0; i++) {
        PyObject *books = PyTuple_GET_ITEM(queues, i);
        long long at_ns = t, last = PyLong_AsLong(op_put);
        int counted = count_queue(self, watch, books, tid, &at_ns, &last);
        if (counted == 0) { /* the Python code's */
            PyObject *at = PyLong_FromLongLong(at_ns);
            PyObject *op = at ? PyLong_FromLongLong(last) : NULL;
            PyObject *call[5] = {watch, books, tid, at, op};
            counted = op == NULL ? -1 : call_method(s_count, call, 5);
            Py_XDECREF(op);
            Py_XDECREF(at);
        }
        outcome = counted < 0 ? -1 : 0;
    }
    Py_DECREF(queues);
    Py_DECREF(watch);
    return outcome;
}

/* The step of ``task`` (id ``tid``) ran from t0 to t1: ``self`` (a Recorder) records it. */
static int
step_ended(PyObject *self, PyObject *loop, PyObject *task, PyObject *tid, long long t0,
           long long t1)
{
    int fresh = slot_true(self, R_fresh, "_fresh");
    if (fresh < 0) {
        return -1;
    }
    if (fresh) {
        PyObject *r = PyObject_CallMethodNoArgs(self, s_boundary);
        if (r == NULL) {
            return -1;
        }
        Py_DECREF(r);
    }
    PyObject *waiter = Py_IS_TYPE(task, task_type) ? fut_waiter_get(task, fut_waiter_closure)
                                                   : PyObject_GetAttr(task, s_fut_waiter);
    if (waiter == NULL) {
        return -1;
    }
    int yielded = 0, waiter_none = waiter == Py_None;
    if (waiter_none) {
        PyObject *done = PyObject_CallMethodNoArgs(task, s_done);
        yielded = done == NULL ? -1 : PyObject_Not(done);
        Py_XDECREF(done);
    }
    PyObject *origin = yielded < 0 ? NULL : SLOT(self, R_origin);
    long long base = origin ? as_ns(origin) : -1;
    if (base == -1 && (yielded < 0 || PyErr_Occurred())) {
        Py_DECREF(waiter);
        return -1;
    }
    PyObject *end = NULL;
    if (yielded) { /* ready again at once */
        PyObject *emit = SLOT(self, R_emit);
        PyObject *t = emit ? PyLong_FromLongLong(t0 - base) : NULL;
        PyObject *dur = t ? PyLong_FromLongLong(t1 - t0) : NULL;
        PyObject *fields[3] = {t, tid, dur};
        int emitted = emit_record(emit, ran_type, fields, 3); /* (no emit: t is NULL) */
        Py_XDECREF(dur);
        Py_XDECREF(t);
        Py_DECREF(waiter);
        if (emitted < 0) {
            return -1;
        }
    }
    else {
        /* try: self._step_ended(...) except Exception as exc: self.fail(exc) */
        int done = waiter_none ? finished_with_none(self, task, tid, t0 - base, t1 - t0)
                               : waited_in_library(self, loop, task, waiter, tid, t0 - base,
                                                   t1 - t0, t1);
        Py_DECREF(waiter);
        if (done == 0) {
            PyObject *start = PyLong_FromLongLong(t0);
            end = start ? PyLong_FromLongLong(t1) : NULL;
            done = end == NULL ? -1 : 0;
            if (end != NULL) {
                PyObject *call[6] = {self, loop, task, tid, start, end};
                done = call_method(s_step_ended, call, 6);
            }
            Py_XDECREF(start);
        }
        if (done < 0 && or_fail(self) < 0) {
            Py_XDECREF(end);
            return -1;
        }
    }
    PyObject *users = SLOT(self, R_queue_users);
    int uses = users == NULL ? -1
               : PyDict_CheckExact(users) && PyDict_GET_SIZE(users) ? PyDict_Contains(users, tid)
                                                                    : 0;
    if (uses > 0) { /* what it did to its queues */
        uses = books_type ? stepped(self, task, tid, users, t1 - base) : -1;
    }
    Py_XDECREF(end);
    return uses < 0 ? -1 : 0;
}

static PyObject *
after_step(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (nargs != 6 || kwnames != NULL) {
        PyErr_SetString(PyExc_TypeError, "after_step(loop, task, tid, start, end)");
        return NULL;
    }
    if (!is_recorder(args[0])) {
        PyErr_SetString(PyExc_TypeError, "after_step of a Recorder");
        return NULL;
    }
    long long t0 = PyLong_AsLongLong(args[4]), t1 = PyLong_AsLongLong(args[5]);
    if ((t0 == -1 || t1 == -1) && PyErr_Occurred()) {
        return NULL;
    }
    if (step_ended(args[0], args[1], args[2], args[3], t0, t1) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* Whether hooks' after_step is this module's: then Step._run calls it in C. */
static PyTypeObject *compiled_hooks_type;
static unsigned int compiled_hooks_tag;

static int
compiled_after_step(PyObject *hooks)
{
    PyTypeObject *type = Py_TYPE(hooks);
    if (type == compiled_hooks_type && type->tp_version_tag == compiled_hooks_tag &&
        compiled_hooks_tag != 0) {
        return 1;
    }
    if (!is_recorder(hooks)) {
        return 0;
    }
    PyObject *method = PyObject_GetAttr((PyObject *)type, s_after_step);
    if (method == NULL) {
        PyErr_Clear();
        return 0;
    }
    int mine = method == after_step_method;
    Py_DECREF(method);
    if (mine) {
        compiled_hooks_type = type; /* (a type's tag changes when its attributes do) */
        compiled_hooks_tag = type->tp_version_tag;
    }
    return mine;
}

/* --- Step._run ---------------------------------------------------------------------------- */

static PyObject *
step_run(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (nargs != 1 || kwnames != NULL) {
        PyErr_SetString(PyExc_TypeError, "_run() takes no arguments");
        return NULL;
    }
    PyObject *self = args[0];
    if (!PyObject_TypeCheck(self, step_class)) { /* its slots are read at Step's offsets */
        PyErr_Format(PyExc_TypeError, "_run() of a Step, not of %R", self);
        return NULL;
    }
    PyObject *loop = slot(self, H_loop, "_loop");
    PyObject *task = loop && is_loop(loop) ? slot(self, S_task, "_task") : NULL;
    PyObject *tid = task ? slot(self, S_tid, "_tid") : NULL;
    PyObject *hooks = tid ? SLOT(loop, L_hooks) : NULL;
    if (hooks == NULL) {
        return NULL;
    }
    /* Held: the step may drop them from the handle and the loop meanwhile. */
    Py_INCREF(self);
    Py_INCREF(loop);
    Py_INCREF(task);
    Py_INCREF(tid);
    Py_INCREF(hooks);
    PyObject *pending = NULL;
    long long t0 = 0, t1 = 0;
    int failed = 1;
    set_slot(loop, L_running_task, Py_NewRef(task));
    set_slot(loop, L_step_deadline, Py_NewRef(zero_float));
    set_slot(loop, L_running_tid, Py_NewRef(tid));
    set_slot(loop, L_running_step, Py_NewRef(self));
    PyObject *since = now_ns(&t0) < 0 ? NULL : PyLong_FromLongLong(t0);
    if (since == NULL) {
        goto done;
    }
    set_slot(loop, L_busy_since, since);
    if (boundary(hooks) < 0) {
        goto done;
    }
    /* try: */
    PyObject *result = run_callback(self);
    if (result == NULL) {
        pending = handle_failure(self);
    }
    else {
        Py_DECREF(result);
    }
    /* finally: */
    if (now_ns(&t1) < 0) {
        goto done;
    }
    set_slot(loop, L_running_task, Py_NewRef(Py_None));
    set_slot(loop, L_running_step, Py_NewRef(Py_None));
    set_slot(loop, L_busy_since, Py_NewRef(zero_int));
    int recording = slot_true(loop, L_recording, "recording");
    if (recording < 0) {
        goto done;
    }
    if (recording) {
        if (compiled_after_step(hooks)) {
            if (step_ended(hooks, loop, task, tid, t0, t1) < 0) {
                goto done;
            }
        }
        else {
            PyObject *start = PyLong_FromLongLong(t0);
            PyObject *end = start ? PyLong_FromLongLong(t1) : NULL;
            int error = end == NULL;
            if (!error) {
                PyObject *call[6] = {hooks, loop, task, tid, start, end};
                error = call_method(s_after_step, call, 6);
            }
            Py_XDECREF(start);
            Py_XDECREF(end);
            if (error) {
                goto done;
            }
        }
    }
    failed = 0;
done:
    Py_DECREF(hooks);
    Py_DECREF(tid);
    Py_DECREF(task);
    Py_DECREF(loop);
    Py_DECREF(self);
    return end_run(pending, failed);
}

/* --- _TimedRun._run: a plain callback's, timed --------------------------------------------- */

static PyObject *
timed_run(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (nargs != 1 || kwnames != NULL) {
        PyErr_SetString(PyExc_TypeError, "_run() takes no arguments");
        return NULL;
    }
    PyObject *self = args[0];
    if (!PyObject_TypeCheck(self, callback_class) && !PyObject_TypeCheck(self, timer_class)) {
        PyErr_Format(PyExc_TypeError, "_run() of a timed callback, not of %R", self);
        return NULL;
    }
    PyObject *loop = slot(self, H_loop, "_loop");
    PyObject *hooks = loop && is_loop(loop) ? SLOT(loop, L_hooks) : NULL;
    if (hooks == NULL) {
        return NULL;
    }
    PyObject *cause = PyObject_GetAttr(self, s_cause);
    PyObject *ref = cause ? PyObject_GetAttr(self, s_ref) : NULL;
    if (ref == NULL) {
        Py_XDECREF(cause);
        return NULL;
    }
    Py_INCREF(self);
    Py_INCREF(loop);
    Py_INCREF(hooks);
    PyObject *pending = NULL;
    long long t0 = 0, t1 = 0;
    int failed = 1;
    set_slot(loop, L_wake_cause, cause); /* (stolen) */
    set_slot(loop, L_wake_ref, ref);
    set_slot(loop, L_running_tid, Py_NewRef(zero_int));
    PyObject *since = now_ns(&t0) < 0 ? NULL : PyLong_FromLongLong(t0);
    if (since == NULL) {
        goto done;
    }
    set_slot(loop, L_busy_since, since);
    PyObject *result = run_callback(self);
    if (result == NULL) {
        pending = handle_failure(self);
    }
    else {
        Py_DECREF(result);
    }
    if (now_ns(&t1) < 0) {
        goto done;
    }
    set_slot(loop, L_busy_since, Py_NewRef(zero_int));
    set_slot(loop, L_wake_cause, Py_NewRef(cause_io));
    set_slot(loop, L_wake_ref, Py_NewRef(zero_int));
    if (boundary(hooks) < 0) {
        goto done;
    }
    int recording = slot_true(loop, L_recording, "recording");
    if (recording < 0) {
        goto done;
    }
    if (recording) {
        PyObject *min = PyDict_GetItemWithError(handles_dict, s_callback_min_ns); /* borrowed */
        long long threshold = min ? PyLong_AsLongLong(min) : -1;
        if (threshold == -1 && PyErr_Occurred()) {
            goto done;
        }
        if (min == NULL) {
            PyErr_SetString(PyExc_NameError, "CALLBACK_MIN_NS");
            goto done;
        }
        if (t1 - t0 >= threshold) {
            PyObject *callback = slot(self, H_callback, "_callback");
            PyObject *start = callback ? PyLong_FromLongLong(t0) : NULL;
            PyObject *end = start ? PyLong_FromLongLong(t1) : NULL;
            int error = end == NULL;
            if (!error) {
                Py_INCREF(callback);
                PyObject *call[4] = {hooks, callback, start, end};
                error = call_method(s_callback_ran, call, 4);
                Py_DECREF(callback);
            }
            Py_XDECREF(start);
            Py_XDECREF(end);
            if (error) {
                goto done;
            }
        }
    }
    failed = 0;
done:
    Py_DECREF(hooks);
    Py_DECREF(loop);
    Py_DECREF(self);
    return end_run(pending, failed);
}

/* --- TracingLoop.call_soon: a yield queues its running step's handle again ------------------ */

static int
is_step_type(PyTypeObject *type)
{
    if (type == step_type) {
        return 1;
    }
    if (step_type != NULL) {
        return 0;
    }
    const char *name = strrchr(type->tp_name, '.');
    name = name ? name + 1 : type->tp_name;
    if (strcmp(name, "TaskStepMethWrapper") == 0) {
        step_type = type; /* a static type on 3.11, a module's heap type after: kept alive */
        Py_INCREF(type);
        return 1;
    }
    return 0;
}

/* callback.__self__ as ``getattr(callback, "__self__", None)`` in a ``try ... except
 * Exception`` (a new reference, or NULL with nothing set for none); -1 for a BaseException. */
static int
self_of(PyObject *callback, PyObject **task)
{
    if (PyFunction_Check(callback) && PyFunction_GET_CODE(callback) != NULL &&
        (((PyFunctionObject *)callback)->func_dict == NULL ||
         PyDict_GET_SIZE(((PyFunctionObject *)callback)->func_dict) == 0)) {
        *task = NULL; /* a plain function: nothing in its __dict__, no __self__ */
        return 0;
    }
#if PY_VERSION_HEX >= 0x030D0000
    int found = PyObject_GetOptionalAttr(callback, s_self, task);
#else
    int found = _PyObject_LookupAttr(callback, s_self, task);
#endif
    if (found < 0) {
        if (!PyErr_ExceptionMatches(PyExc_Exception)) {
            return -1;
        }
        PyErr_Clear();
        *task = NULL;
    }
    return 0;
}

static PyMethodDef *wakeup_def; /* the C Task's task_wakeup, once seen */

static int
is_wakeup(PyObject *callback)
{
    if (!PyCFunction_Check(callback)) {
        return 0;
    }
    PyMethodDef *def = ((PyCFunctionObject *)callback)->m_ml;
    if (def == wakeup_def) {
        return 1;
    }
    if (wakeup_def == NULL && def != NULL && def->ml_name != NULL &&
        strcmp(def->ml_name, "task_wakeup") == 0) {
        wakeup_def = def;
        return 1;
    }
    return 0;
}

/* A new handle of ``type`` (Step or Callback) with the stock fields set, as call_soon's. */
static PyObject *
new_handle(PyTypeObject *type, PyObject *loop, PyObject *callback, PyObject *const *args,
           Py_ssize_t nargs, PyObject *context)
{
    PyObject *tuple = PyTuple_New(nargs);
    if (tuple == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < nargs; i++) {
        PyTuple_SET_ITEM(tuple, i, Py_NewRef(args[i]));
    }
    PyObject *ctx = context != NULL ? Py_NewRef(context) : PyContext_CopyCurrent();
    PyObject *handle = ctx ? type->tp_alloc(type, 0) : NULL;
    if (handle == NULL) {
        Py_XDECREF(ctx);
        Py_DECREF(tuple);
        return NULL;
    }
    set_slot(handle, H_context, ctx);
    set_slot(handle, H_loop, Py_NewRef(loop));
    set_slot(handle, H_callback, Py_NewRef(callback));
    set_slot(handle, H_args, tuple);
    set_slot(handle, H_cancelled, Py_NewRef(Py_False));
    set_slot(handle, H_repr, Py_NewRef(Py_None));
    set_slot(handle, H_source_traceback, Py_NewRef(Py_None));
    return handle;
}

/* Whether the stock fields the C code reads at TracingLoop's offsets are there: unset where
 * a subclass made one its own slot (its own offset), which the Python code then uses. */
static inline int
stock_slots_set(PyObject *loop)
{
    return *(PyObject **)((char *)loop + L_ready) != NULL &&
           *(PyObject **)((char *)loop + L_scheduled) != NULL;
}

static int plainly_recording(PyObject *loop);

/* Queues ``handle`` (a new reference, given back) in the loop's ready queue. */
static PyObject *
queued(PyObject *loop, PyObject *handle)
{
    PyObject *ready = SLOT(loop, L_ready);
    PyObject *r = ready ? PyObject_CallMethodOneArg(ready, s_append, handle) : NULL;
    if (r == NULL) {
        Py_DECREF(handle);
        return NULL;
    }
    Py_DECREF(r);
    return handle;
}

/* TracingLoop.call_soon's answer for a recording loop outside debug mode, or NULL with no
 * exception set where the Python call_soon is left to it (it then raises what it would). */
static PyObject *
schedule(PyObject *loop, PyObject *callback, PyObject *const *args, Py_ssize_t nargs,
         PyObject *context)
{
    if (!plainly_recording(loop)) {
        return NULL;
    }
    PyObject *task;
    if (self_of(callback, &task) < 0) {
        return NULL;
    }
    PyObject *running = *(PyObject **)((char *)loop + L_running_task);
    PyObject *hooks = SLOT(loop, L_hooks);
    if (hooks == NULL) {
        Py_XDECREF(task);
        return NULL;
    }
    PyObject *handle = NULL;
    if (is_step_type(Py_TYPE(callback)) || (task != NULL && is_wakeup(callback) &&
                                            PyObject_TypeCheck(task, task_type))) {
        PyObject *tid;
        if (task == running && task != NULL && Py_TYPE(callback) == step_type) {
            /* A yield: the running step's own handle again (see the Python call_soon). */
            PyObject *again = *(PyObject **)((char *)loop + L_running_step);
            Py_DECREF(task);
            if (again == NULL || again == Py_None) {
                return NULL;
            }
            PyObject *tuple = PyTuple_New(nargs);
            PyObject *ctx = tuple == NULL ? NULL
                            : context != NULL ? Py_NewRef(context)
                                              : PyContext_CopyCurrent();
            if (ctx == NULL) {
                Py_XDECREF(tuple);
                return NULL;
            }
            for (Py_ssize_t i = 0; i < nargs; i++) {
                PyTuple_SET_ITEM(tuple, i, Py_NewRef(args[i]));
            }
            set_slot(again, H_callback, Py_NewRef(callback));
            set_slot(again, H_args, tuple);
            set_slot(again, H_context, ctx);
            return queued(loop, Py_NewRef(again));
        }
        if (task == NULL) {
            return NULL;
        }
        PyObject *future = Py_TYPE(callback) == step_type || nargs == 0 ? Py_None : args[0];
        Py_INCREF(hooks);
        tid = NULL;
        if (future != Py_None && compiled_after_step(hooks)) {
            tid = woken_by_timer(hooks, loop, task, future);
            if (tid == NULL && !PyErr_Occurred()) {
                tid = woken_by_step(hooks, loop, task, future);
            }
        }
        if (tid == NULL && PyErr_Occurred() && or_fail(hooks) == 0) {
            tid = Py_NewRef(zero_int); /* as task_scheduled's answer once recording failed */
        }
        if (tid == NULL && !PyErr_Occurred()) {
            PyObject *call[4] = {hooks, loop, task, future};
            tid = PyObject_VectorcallMethod(s_task_scheduled, call,
                                            4 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
        }
        Py_DECREF(hooks);
        if (tid == NULL) {
            Py_DECREF(task);
            return NULL;
        }
        handle = new_handle(step_class, loop, callback, args, nargs, context);
        if (handle == NULL) {
            Py_DECREF(tid);
            Py_DECREF(task);
            return NULL;
        }
        set_slot(handle, S_task, task); /* (stolen) */
        set_slot(handle, S_tid, tid);
        return queued(loop, handle);
    }
    if (task != NULL) {
        int a_task = PyObject_TypeCheck(task, task_type);
        Py_DECREF(task);
        if (a_task) {
            return NULL; /* a task's callback of another kind: the Python code sorts it out */
        }
    }
    /* A plain callback; a done-callback of a task (gather's) wakes others as it finished. */
    PyObject *first = nargs ? args[0] : Py_None;
    PyObject *cause, *ref;
    if (PyObject_TypeCheck(first, task_type)) {
        if (PyMethod_Check(callback)) {
            return NULL; /* maybe a task group's: the Python code tells */
        }
        cause = cause_task;
        ref = first;
    }
    else {
        cause = cause_future;
        ref = callback;
    }
    handle = new_handle(callback_class, loop, callback, args, nargs, context);
    if (handle == NULL) {
        return NULL;
    }
    set_slot(handle, C_cause, Py_NewRef(cause));
    set_slot(handle, C_ref, Py_NewRef(ref));
    return queued(loop, handle);
}

static PyObject *
call_soon(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *context = NULL;
    int plain_kw = kwnames == NULL ||
                   (PyTuple_GET_SIZE(kwnames) == 1 &&
                    PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(kwnames, 0), "context") == 0);
    if (kwnames != NULL && plain_kw) {
        context = args[nargs];
        if (context == Py_None) {
            context = NULL;
        }
    }
    if (plain_kw && nargs >= 2) {
        PyObject *r = schedule(args[0], args[1], args + 2, nargs - 2, context);
        if (r != NULL || PyErr_Occurred()) {
            return r;
        }
    }
    return PyObject_Vectorcall(call_soon_py, args, nargs, kwnames);
}

/* Whether a vectorcall's keywords are only ``context`` (then *context is its value, NULL for
 * None or none given). */
static int
context_only(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, PyObject **context)
{
    *context = NULL;
    if (kwnames == NULL) {
        return 1;
    }
    if (PyTuple_GET_SIZE(kwnames) != 1 ||
        PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(kwnames, 0), "context") != 0) {
        return 0;
    }
    *context = args[nargs] == Py_None ? NULL : args[nargs];
    return 1;
}

/* Whether ``loop`` records, open, outside debug mode: what the C methods take on (the Python
 * ones the rest). 1, 0 (no error set). */
static int
plainly_recording(PyObject *loop)
{
    int yes = is_loop(loop) && slot_true(loop, L_recording, "recording") == 1 &&
              slot_true(loop, L_closed, "_closed") == 0 && slot_true(loop, L_debug, "_debug") == 0 &&
              stock_slots_set(loop);
    PyErr_Clear();
    return yes;
}

/* --- TracingLoop.call_at ------------------------------------------------------------------ */

static PyObject *
timer_at(PyObject *loop, PyObject *when, PyObject *callback, PyObject *const *args,
         Py_ssize_t nargs, PyObject *context)
{
    PyObject *running = *(PyObject **)((char *)loop + L_running_task);
    PyObject *deadline = *(PyObject **)((char *)loop + L_step_deadline);
    if (running == NULL || deadline == NULL) {
        return NULL; /* (the Python code says what is missing) */
    }
    if (running != Py_None) {
        Py_INCREF(deadline); /* (comparing ``when`` may run its code) */
        int earlier = PyObject_RichCompareBool(when, no_deadline, Py_LT);
        if (earlier == 1) {
            int none = PyObject_Not(deadline);
            earlier = none != 0 ? none : PyObject_RichCompareBool(when, deadline, Py_LT);
        }
        if (earlier == 1 && callback != sleep_timer) { /* not a library's upkeep (loop.py) */
            PyObject *r = PyObject_CallOneArg(upkeep, callback);
            earlier = r == NULL ? -1 : r == Py_False;
            Py_XDECREF(r);
        }
        Py_DECREF(deadline);
        if (earlier < 0) {
            return NULL;
        }
        if (earlier) {
            set_slot(loop, L_step_deadline, Py_NewRef(when));
        }
    }
    PyObject *scheduled = SLOT(loop, L_scheduled);
    if (scheduled == NULL) {
        return NULL;
    }
    if (callback == sleep_timer) {
        set_slot(loop, L_sleep_due, Py_NewRef(when));
    }
    PyObject *timer = new_handle(timer_class, loop, callback, args, nargs, context);
    if (timer == NULL) {
        return NULL;
    }
    set_slot(timer, T_when, Py_NewRef(when));
    set_slot(timer, T_scheduled, Py_NewRef(Py_True));
    set_slot(timer, T_ref, Py_NewRef(callback));
    Py_INCREF(scheduled);
    PyObject *r = PyObject_CallFunctionObjArgs(heappush, scheduled, timer, NULL);
    Py_DECREF(scheduled);
    if (r == NULL) {
        Py_DECREF(timer);
        return NULL;
    }
    Py_DECREF(r);
    return timer;
}

static PyObject *
call_at(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *context;
    if (nargs >= 3 && args[1] != Py_None && context_only(args, nargs, kwnames, &context) &&
        plainly_recording(args[0])) {
        PyObject *r = timer_at(args[0], args[1], args[2], args + 3, nargs - 3, context);
        if (r != NULL || PyErr_Occurred()) {
            return r;
        }
    }
    return PyObject_Vectorcall(call_at_py, args, nargs, kwnames);
}

/* --- TracingLoop.create_task -------------------------------------------------------------- */

static PyObject *
create_task(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *loop = nargs == 2 ? args[0] : NULL;
    if (loop == NULL || !plainly_recording(loop)) {
        return PyObject_Vectorcall(create_task_py, args, nargs, kwnames);
    }
    PyObject *hooks = SLOT(loop, L_hooks);
    PyObject *outer = hooks ? SLOT(loop, L_creating) : NULL;
    PyObject *outer_deadline = outer ? SLOT(loop, L_step_deadline) : NULL;
    long long t0;
    if (outer_deadline == NULL || now_ns(&t0) < 0) {
        return NULL;
    }
    PyObject *coro = args[1];
    PyFrameObject *frame = PyEval_GetFrame(); /* the caller's, as sys._getframe(1) there */
    PyObject *started = PyLong_FromLongLong(t0);
    PyObject *creating = started ? PyTuple_Pack(3, coro, started, frame ? (PyObject *)frame
                                                                        : Py_None)
                                 : NULL;
    if (creating == NULL) {
        Py_XDECREF(started);
        return NULL;
    }
    Py_INCREF(hooks);
    Py_INCREF(outer);
    Py_INCREF(outer_deadline);
    Py_INCREF(coro);
    set_slot(loop, L_creating, creating);
    set_slot(loop, L_step_deadline, Py_NewRef(zero_float));
    PyObject *task = PyObject_Vectorcall(stock_create_task, args, nargs, kwnames);
    set_slot(loop, L_creating, outer); /* (stolen) */
    int failed = task == NULL;
    if (!failed) {
        /* Its first step ran eagerly (3.12+) if it was never scheduled: the hook tells. */
        int known = 0;
        if (compiled_after_step(hooks)) {
            PyObject *ids = SLOT(hooks, R_task_ids);
            PyObject *key = ids ? PyLong_FromVoidPtr(task) : NULL;
            known = key == NULL ? -1 : PyDict_CheckExact(ids) ? PyDict_Contains(ids, key) : 0;
            Py_XDECREF(key);
        }
        if (known == 0) {
            PyObject *call[5] = {hooks, loop, task, coro, started};
            known = call_method(s_task_created, call, 5);
        }
        failed = known < 0;
    }
    if (!failed) {
        set_slot(loop, L_step_deadline, outer_deadline); /* (stolen) */
    }
    else {
        Py_DECREF(outer_deadline);
        Py_CLEAR(task);
    }
    Py_DECREF(started);
    Py_DECREF(coro);
    Py_DECREF(hooks);
    return task;
}

/* --- the method type --------------------------------------------------------------------- */

typedef PyObject *(*fastcall)(PyObject *const *, Py_ssize_t, PyObject *);

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    fastcall impl;
    const char *name;
} Method;

static PyObject *
method_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    return ((Method *)self)->impl(args, PyVectorcall_NARGS(nargsf), kwnames);
}

static PyObject *
method_get(PyObject *self, PyObject *obj, PyObject *type)
{
    if (obj == NULL || obj == Py_None) {
        return Py_NewRef(self);
    }
    return PyMethod_New(self, obj);
}

static PyObject *
method_repr(PyObject *self)
{
    return PyUnicode_FromFormat("<compiled method %s of loopviz>", ((Method *)self)->name);
}

static PyObject *
method_name(PyObject *self, void *closure)
{
    return PyUnicode_FromString(((Method *)self)->name);
}

static PyGetSetDef method_getset[] = {
    {"__name__", method_name, NULL, "the name of the Python method it takes the place of"},
    {"__qualname__", method_name, NULL, NULL},
    {NULL},
};

static PyTypeObject MethodType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "loopviz.record._steps.Method",
    .tp_basicsize = sizeof(Method),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_METHOD_DESCRIPTOR | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(Method, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_descr_get = method_get,
    .tp_repr = method_repr,
    .tp_getset = method_getset,
};

static PyObject *
new_method(fastcall impl, const char *name)
{
    Method *m = PyObject_New(Method, &MethodType);
    if (m != NULL) {
        m->vectorcall = method_vectorcall;
        m->impl = impl;
        m->name = name;
    }
    return (PyObject *)m;
}

/* --- the module ------------------------------------------------------------------------- */

static PyObject *
py_now(PyObject *module, PyObject *unused)
{
    long long t;
    if (now_ns(&t) < 0) {
        return NULL;
    }
    return PyLong_FromLongLong(t);
}

static PyObject *
configure(PyObject *module, PyObject *args, PyObject *kw)
{
    static char *names[] = {"handle", "step", "callback", "loop", "report_error", "ran",
                            "ready", "finished", "handles_globals", "call_soon", "cause_io",
                            "cause_task", "cause_future", "cause_timer", "outcome_result",
                            NULL};
    PyObject *handle, *step, *callback, *loop, *report, *ran, *ready, *finished, *globals, *soon,
        *io, *task_cause, *future_cause, *timer_cause, *result_outcome;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO!O!O!OOOOO!OOOOO!O:configure", names, &handle,
                                     &PyType_Type, &step, &PyType_Type, &callback, &PyType_Type,
                                     &loop, &report, &ran, &ready, &finished, &PyDict_Type,
                                     &globals, &soon, &io, &task_cause, &future_cause,
                                     &PyLong_Type, &timer_cause, &result_outcome)) {
        return NULL;
    }
    cause_timer_value = PyLong_AsLong(timer_cause);
    if (cause_timer_value == -1 && PyErr_Occurred()) {
        return NULL;
    }
    struct {
        PyObject *cls;
        const char *name;
        Py_ssize_t *offset;
    } slots[] = {
        {handle, "_loop", &H_loop},
        {handle, "_callback", &H_callback},
        {handle, "_args", &H_args},
        {handle, "_context", &H_context},
        {handle, "_cancelled", &H_cancelled},
        {handle, "_repr", &H_repr},
        {handle, "_source_traceback", &H_source_traceback},
        {step, "_task", &S_task},
        {callback, "_cause", &C_cause},
        {callback, "_ref", &C_ref},
        {step, "_tid", &S_tid},
        {loop, "hooks", &L_hooks},
        {loop, "recording", &L_recording},
        {loop, "running_task", &L_running_task},
        {loop, "running_tid", &L_running_tid},
        {loop, "running_step", &L_running_step},
        {loop, "busy_since", &L_busy_since},
        {loop, "step_deadline", &L_step_deadline},
        {loop, "wake_cause", &L_wake_cause},
        {loop, "wake_ref", &L_wake_ref},
        {loop, "_ready", &L_ready},
        {loop, "_closed", &L_closed},
        {loop, "_debug", &L_debug},
        {loop, "executor_jobs", &L_executor_jobs},
    };
    for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
        if (slot_offset(slots[i].cls, slots[i].name, slots[i].offset) < 0) {
            return NULL;
        }
    }
    PyObject *asyncio = PyImport_ImportModule("asyncio");
    PyObject *task = asyncio ? PyObject_GetAttrString(asyncio, "Task") : NULL;
    Py_XDECREF(asyncio);
    if (task == NULL) {
        return NULL;
    }
    if (!PyType_Check(task)) {
        Py_DECREF(task);
        return PyErr_Format(PyExc_TypeError, "asyncio.Task is not a class");
    }
    PyObject *waiter = PyDict_GetItemWithError(((PyTypeObject *)task)->tp_dict, s_fut_waiter);
    if (waiter == NULL || !Py_IS_TYPE(waiter, &PyGetSetDescr_Type) ||
        ((PyGetSetDescrObject *)waiter)->d_getset->get == NULL) {
        Py_DECREF(task);
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_TypeError, "asyncio.Task._fut_waiter is not a C getter");
        }
        return NULL;
    }
    fut_waiter_get = ((PyGetSetDescrObject *)waiter)->d_getset->get;
    fut_waiter_closure = ((PyGetSetDescrObject *)waiter)->d_getset->closure;
    Py_XSETREF(task_type, (PyTypeObject *)task);
    Py_XSETREF(loop_type, (PyTypeObject *)Py_NewRef(loop));
    Py_XSETREF(report_error, Py_NewRef(report));
    Py_XSETREF(ran_type, Py_NewRef(ran));
    Py_XSETREF(handles_dict, Py_NewRef(globals));
    Py_XSETREF(call_soon_py, Py_NewRef(soon));
    Py_XSETREF(cause_io, Py_NewRef(io));
    Py_XSETREF(cause_task, Py_NewRef(task_cause));
    Py_XSETREF(cause_future, Py_NewRef(future_cause));
    Py_XSETREF(cause_timer, Py_NewRef(timer_cause));
    Py_XSETREF(outcome_result, Py_NewRef(result_outcome));
    Py_XSETREF(ready_type, Py_NewRef(ready));
    Py_XSETREF(finished_type, Py_NewRef(finished));
    Py_XSETREF(step_class, (PyTypeObject *)Py_NewRef(step));
    Py_XSETREF(callback_class, (PyTypeObject *)Py_NewRef(callback));
    Py_RETURN_NONE;
}

static PyObject *
configure_timers(PyObject *module, PyObject *args, PyObject *kw)
{
    static char *names[] = {"timer", "call_at", "create_task", "stock_create_task", "heappush",
                            "sleep_timer", "no_deadline", "upkeep", NULL};
    PyObject *timer, *at, *create, *stock, *push, *sleep, *never, *keep;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O!OOOOOOO:configure_timers", names, &PyType_Type,
                                     &timer, &at, &create, &stock, &push, &sleep, &never, &keep)) {
        return NULL;
    }
    Py_XSETREF(upkeep, Py_NewRef(keep));
    if (slot_offset(timer, "_when", &T_when) < 0 ||
        slot_offset(timer, "_scheduled", &T_scheduled) < 0 ||
        slot_offset(timer, "_ref", &T_ref) < 0 ||
        slot_offset((PyObject *)loop_type, "creating", &L_creating) < 0 ||
        slot_offset((PyObject *)loop_type, "sleep_due", &L_sleep_due) < 0 ||
        slot_offset((PyObject *)loop_type, "_scheduled", &L_scheduled) < 0) {
        return NULL;
    }
    Py_XSETREF(timer_class, (PyTypeObject *)Py_NewRef(timer));
    Py_XSETREF(call_at_py, Py_NewRef(at));
    Py_XSETREF(create_task_py, Py_NewRef(create));
    Py_XSETREF(stock_create_task, Py_NewRef(stock));
    Py_XSETREF(heappush, Py_NewRef(push));
    Py_XSETREF(sleep_timer, Py_NewRef(sleep));
    Py_XSETREF(no_deadline, Py_NewRef(never));
    Py_RETURN_NONE;
}

static PyObject *
configure_recorder(PyObject *module, PyObject *args, PyObject *kw)
{
    static char *names[] = {"recorder", "waited", "wait_sleep", "wait_for", "no_deadline",
                            "coroutine_wrapper", "resource_waits", "future", "books", "use",
                            "put", "got", NULL};
    PyObject *cls, *waited, *sleep, *wfor, *wrapper, *resources, *future, *books, *use, *put,
        *got;
    double never;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O!OOOdO!O!O!O!OO!O!:configure_recorder", names,
                                     &PyType_Type, &cls, &waited, &sleep, &wfor, &never,
                                     &PyType_Type, &wrapper, &PyFrozenSet_Type, &resources,
                                     &PyType_Type, &future, &PyType_Type, &books, &use,
                                     &PyLong_Type, &put, &PyLong_Type, &got)) {
        return NULL;
    }
    struct {
        const char *name;
        Py_ssize_t *offset;
    } book_slots[] = {
        {"queue", &B_queue}, {"done", &B_done}, {"puts", &B_puts},   {"level", &B_level},
        {"rid", &B_rid},     {"woke", &B_woke}, {"wakes", &B_wakes},
    };
    for (size_t i = 0; i < sizeof(book_slots) / sizeof(book_slots[0]); i++) {
        if (slot_offset(books, book_slots[i].name, book_slots[i].offset) < 0) {
            return NULL;
        }
    }
    Py_XSETREF(books_type, (PyTypeObject *)Py_NewRef(books));
    Py_XSETREF(use_type, Py_NewRef(use));
    Py_XSETREF(op_put, Py_NewRef(put));
    Py_XSETREF(op_got, Py_NewRef(got));
    Py_XSETREF(resource_waits, Py_NewRef(resources));
    Py_XSETREF(future_type, (PyTypeObject *)Py_NewRef(future));
    Py_XSETREF(wrapper_type, (PyTypeObject *)Py_NewRef(wrapper));
    if (slot_offset(cls, "_codes", &R_codes) < 0) {
        return NULL;
    }
    Py_XSETREF(waited_type, Py_NewRef(waited));
    Py_XSETREF(wait_sleep, Py_NewRef(sleep));
    Py_XSETREF(wait_for, Py_NewRef(wfor));
    no_deadline_s = never;
    if (slot_offset(cls, "origin", &R_origin) < 0 || slot_offset(cls, "emit", &R_emit) < 0 ||
        slot_offset(cls, "_fresh", &R_fresh) < 0 ||
        slot_offset(cls, "_queue_users", &R_queue_users) < 0 ||
        slot_offset(cls, "wants_boundary", &R_wants_boundary) < 0 ||
        slot_offset(cls, "_task_ids", &R_task_ids) < 0 ||
        slot_offset(cls, "_finished", &R_finished) < 0 ||
        slot_offset(cls, "_strings", &R_strings) < 0 || slot_offset(cls, "_held", &R_held) < 0 ||
        slot_offset(cls, "_resource_waits", &R_resource_waits) < 0) {
        return NULL;
    }
    Py_XSETREF(recorder_type, (PyTypeObject *)Py_NewRef(cls));
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"now", py_now, METH_NOARGS, "time.monotonic_ns(), read as CPython reads it."},
    {"configure", (PyCFunction)(void (*)(void))configure, METH_VARARGS | METH_KEYWORDS,
     "Hand over the classes and functions the compiled methods use."},
    {"configure_timers", (PyCFunction)(void (*)(void))configure_timers,
     METH_VARARGS | METH_KEYWORDS, "Hand over what call_at and create_task use."},
    {"configure_recorder", (PyCFunction)(void (*)(void))configure_recorder,
     METH_VARARGS | METH_KEYWORDS,
     "Hand over the Recorder class, whose after_step this module's takes the place of."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "loopviz.record._steps",
    .m_doc = "The recorder's step path, compiled (see loopviz/record/speedups.py).",
    .m_size = -1,
    .m_methods = module_methods,
};

#define INTERN(var, text)                                                                    \
    if ((var = PyUnicode_InternFromString(text)) == NULL)                                    \
        return NULL;

PyMODINIT_FUNC
PyInit__steps(void)
{
    INTERN(s_boundary, "boundary");
    INTERN(s_after_step, "after_step");
    INTERN(s_callback_ran, "callback_ran");
    INTERN(s_fut_waiter, "_fut_waiter");
    INTERN(s_done, "done");
    INTERN(s_cause, "_cause");
    INTERN(s_ref, "_ref");
    INTERN(s_self, "__self__");
    INTERN(s_append, "append");
    INTERN(s_wants_boundary, "wants_boundary");
    INTERN(s_callback_min_ns, "CALLBACK_MIN_NS");
    INTERN(s_task_scheduled, "task_scheduled");
    INTERN(s_step_ended, "_step_ended");
    INTERN(s_get_coro, "get_coro");
    INTERN(s_cr_code, "cr_code");
    INTERN(s_cr_await, "cr_await");
    INTERN(s_cr_frame, "cr_frame");
    INTERN(s_f_lasti, "f_lasti");
    INTERN(s_library, "library");
    INTERN(s_kind, "kind");
    INTERN(s_sites, "sites");
    INTERN(s_resource, "_resource");
    INTERN(s_woken_from, "_woken_from");
    INTERN(s_resources, "resources");
    INTERN(s_count, "count");
    INTERN(s_on, "on");
    INTERN(s_enabled, "enabled");
    INTERN(s_unfinished, "_unfinished_tasks");
    INTERN(s_qsize, "qsize");
    INTERN(s_task_created, "task_created");
    INTERN(s_fail, "fail");
    INTERN(s_cancelled, "cancelled");
    INTERN(s_exception, "_exception");
    INTERN(s_result, "result");
    if ((none_text = PyUnicode_InternFromString("None")) == NULL) {
        return NULL;
    }
    if ((zero_float = PyFloat_FromDouble(0.0)) == NULL || (zero_int = PyLong_FromLong(0)) == NULL) {
        return NULL;
    }
    PyObject *time = PyImport_ImportModule("time");
    if (time == NULL) {
        return NULL;
    }
    py_monotonic_ns = PyObject_GetAttrString(time, "monotonic_ns");
    Py_DECREF(time);
    if (py_monotonic_ns == NULL || PyType_Ready(&MethodType) < 0) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL) {
        return NULL;
    }
    struct {
        const char *attribute;
        const char *name; /* the Python method's */
        fastcall impl;
    } methods[] = {
        {"step_run", "_run", step_run},
        {"timed_run", "_run", timed_run},
        {"after_step", "after_step", after_step},
        {"call_soon", "call_soon", call_soon},
        {"call_at", "call_at", call_at},
        {"create_task", "create_task", create_task},
    };
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        PyObject *m = new_method(methods[i].impl, methods[i].name);
        if (m != NULL && methods[i].impl == after_step) {
            after_step_method = Py_NewRef(m);
        }
        if (m == NULL || PyModule_AddObject(module, methods[i].attribute, m) < 0) {
            Py_XDECREF(m);
            Py_DECREF(module);
            return NULL;
        }
    }
    return module;
}
