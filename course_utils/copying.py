"""Shallow and deep copies, re-implemented: the standard library's behaviour without its recursion.

Introduced in ``02_copy_protocols.ipynb`` (the "build your own deepcopy" exercise) and measured
in ``03_measuring_copies.ipynb``.  The public names mirror :mod:`copy`::

    from course_utils import copying
    copying.copy(x)                  # same result as copy.copy(x)
    copying.deepcopy(x, memo=None)   # same result as copy.deepcopy(x, memo)
    copying.Error                    # the very class copy.Error, so `except copy.Error` still works

What is the same as the standard library (CPython 3.11's ``Lib/copy.py``): the order in which
objects are visited, what goes into ``memo`` and when (including the keep-alive list stored at
``memo[id(memo)]``), atomic types, ``__copy__``/``__deepcopy__``, ``copyreg.dispatch_table``,
``__reduce_ex__(4)``/``__reduce__`` with every form of their result (a string, or a tuple of 2 to
5 items: callable, args, state, list items, dict items; ``__setstate__`` or ``__dict__`` and slot
state), the tuple rules (a tuple whose items all copy to themselves is returned as is) and the
errors raised.

What is different: the standard library recurses once per level of nesting, so a list nested
a few thousand deep raises ``RecursionError``.  Here every container (lists, tuples, dicts,
bound methods and anything rebuilt from ``__reduce_ex__``) is a small generator that *yields* the
children it needs copied; one loop drives those generators with an explicit stack, so the depth
of the data costs memory, not C stack.  Atoms and objects already in ``memo`` are handled inside
the container loops without a function call, which keeps this pure-Python version about as fast
as the standard library's (``benchmarks/bench_copying.py`` records the ratio).  A class's own
``__deepcopy__`` still runs as an ordinary call, so recursion inside user code stays user code.

About 400 lines on purpose: one idea, :mod:`copy` without recursion; the copiers of every
container kind share the driver loop and the memo rules.
"""

from __future__ import annotations

import copy as _stdlib_copy
import types
import weakref
from copyreg import dispatch_table

__all__ = ["Error", "copy", "deepcopy"]

#: The same exception class as ``copy.Error``: code that catches one catches the other.
Error = _stdlib_copy.Error
error = Error

_nil: list = []  # sentinel: "not in memo"

# Types that copy.copy returns unchanged (CPython 3.11's _copy_dispatch entries for immutables).
_SHALLOW_IMMUTABLE = frozenset({
    type(None), int, float, bool, complex, str, tuple, bytes, frozenset, type, range, slice,
    property, types.BuiltinFunctionType, type(Ellipsis), type(NotImplemented),
    types.FunctionType, weakref.ref, types.CodeType,
})
_SHALLOW_METHODS = {list: list.copy, dict: dict.copy, set: set.copy, bytearray: bytearray.copy}

# Types that copy.deepcopy returns unchanged (CPython 3.11's _deepcopy_atomic entries).
_ATOMIC = frozenset({
    type(None), type(Ellipsis), type(NotImplemented), int, float, bool, complex, bytes, str,
    types.CodeType, type, range, types.BuiltinFunctionType, types.FunctionType, weakref.ref,
    property,
})


def copy(x):
    """Shallow copy of ``x``: a new outer object holding the same children (tests only: tests/test_copying.py).

    Same rules as :func:`copy.copy`: immutables come back unchanged, lists/dicts/sets/bytearrays
    use their ``.copy()``, then ``cls.__copy__``, then ``copyreg`` or ``__reduce_ex__(4)``.
    Raises :class:`Error` for an object that offers none of these.
    """
    cls = type(x)
    if cls in _SHALLOW_IMMUTABLE:
        return x
    method = _SHALLOW_METHODS.get(cls)
    if method is not None:
        return method(x)
    if issubclass(cls, type):  # a class with a metaclass: treated like a class
        return x
    copier = getattr(cls, "__copy__", None)
    if copier is not None:
        return copier(x)
    rv = _reduce(x, cls, "un(shallow)copyable object of type %s")
    if isinstance(rv, str):
        return x
    gen = _reconstruct(x, None, *rv)
    try:
        next(gen)
    except StopIteration as stop:
        return stop.value
    raise AssertionError("a shallow reconstruction never needs a child copied")  # pragma: no cover


def _reduce(x, cls, message):
    """The ``__reduce_ex__`` result that copy and deepcopy rebuild ``x`` from."""
    reductor = dispatch_table.get(cls)
    if reductor is not None:
        return reductor(x)
    reductor = getattr(x, "__reduce_ex__", None)
    if reductor is not None:
        return reductor(4)
    reductor = getattr(x, "__reduce__", None)
    if reductor:
        return reductor()
    raise Error(message % cls)


def _keep_alive(x, memo):
    """Keep ``x`` alive as long as ``memo`` (its id is a key there), as the stdlib does."""
    try:
        memo[id(memo)].append(x)
    except KeyError:
        memo[id(memo)] = [x]


# --- container copiers: generators that yield each child they need deep-copied -----------------
# The driver sends back the child's copy.  Atoms and memo hits are resolved inline (no yield),
# with exactly the result deepcopy would have given for them.

def _deepcopy_list(x, memo):
    y = []
    memo[id(x)] = y
    append = y.append
    get = memo.get
    atomic = _ATOMIC
    nil = _nil
    it = iter(x)
    for a in it:
        c = get(id(a), nil)
        if c is not nil:
            append(c)
        elif type(a) in atomic:
            append(a)
        else:
            return _deepcopy_list_rest(memo, y, it, a)
    return y


def _deepcopy_list_rest(memo, y, it, a):
    append = y.append
    get = memo.get
    atomic = _ATOMIC
    nil = _nil
    append((yield a))
    for a in it:
        c = get(id(a), nil)
        if c is not nil:
            append(c)
        elif type(a) in atomic:
            append(a)
        else:
            append((yield a))
    return y


def _deepcopy_tuple(x, memo):
    y = []
    append = y.append
    get = memo.get
    atomic = _ATOMIC
    nil = _nil
    it = iter(x)
    for a in it:
        c = get(id(a), nil)
        if c is not nil:
            append(c)
        elif type(a) in atomic:
            append(a)
        else:
            return _deepcopy_tuple_rest(x, memo, y, it, a)
    return _tuple_result(x, memo, y)


def _deepcopy_tuple_rest(x, memo, y, it, a):
    append = y.append
    get = memo.get
    atomic = _ATOMIC
    nil = _nil
    append((yield a))
    for a in it:
        c = get(id(a), nil)
        if c is not nil:
            append(c)
        elif type(a) in atomic:
            append(a)
        else:
            append((yield a))
    return _tuple_result(x, memo, y)


def _tuple_result(x, memo, y):
    # The tuple itself is not memoised before its items, but a recursive structure may have put
    # a copy of it into memo meanwhile: that copy wins.
    if type(memo) is dict:  # same answer as the stdlib's memo[id(x)] / KeyError, without the raise
        found = memo.get(id(x), _nil)
        if found is not _nil:
            return found
    else:
        try:
            return memo[id(x)]
        except KeyError:
            pass
    for k, j in zip(x, y):
        if k is not j:
            return tuple(y)
    return x


def _deepcopy_dict(x, memo):
    y = {}
    memo[id(x)] = y
    get = memo.get
    atomic = _ATOMIC
    nil = _nil
    it = iter(x.items())
    for key, value in it:
        # `y[deepcopy(key)] = deepcopy(value)` evaluates the value first: keep that order.
        c = get(id(value), nil)
        if c is nil:
            if type(value) not in atomic:
                return _deepcopy_dict_rest(memo, y, it, key, value, nil)
            c = value
        k = get(id(key), nil)
        if k is nil:
            if type(key) not in atomic:
                return _deepcopy_dict_rest(memo, y, it, key, value, c)
            k = key
        y[k] = c
    return y


def _deepcopy_dict_rest(memo, y, it, key, value, c):
    get = memo.get
    atomic = _ATOMIC
    nil = _nil
    if c is nil:
        c = yield value
    k = get(id(key), nil)
    if k is nil:
        k = key if type(key) in atomic else (yield key)
    y[k] = c
    for key, value in it:
        c = get(id(value), nil)
        if c is nil:
            c = value if type(value) in atomic else (yield value)
        k = get(id(key), nil)
        if k is nil:
            k = key if type(key) in atomic else (yield key)
        y[k] = c
    return y


def _deepcopy_method(x, memo):
    return _deepcopy_method_gen(x)


def _deepcopy_method_gen(x):
    return type(x)(x.__func__, (yield x.__self__))


def _reconstruct(x, memo, func, args, state=None, listiter=None, dictiter=None):
    """Rebuild ``x`` from its ``__reduce_ex__`` parts; deep when ``memo`` is a dict."""
    deep = memo is not None
    if deep and args:
        copied = []
        for arg in args:
            copied.append((yield arg))
        args = copied
    y = func(*args)
    if deep:
        memo[id(x)] = y
    if state is not None:
        if deep:
            state = yield state
        if hasattr(y, "__setstate__"):
            y.__setstate__(state)
        else:
            if isinstance(state, tuple) and len(state) == 2:
                state, slotstate = state
            else:
                slotstate = None
            if state is not None:
                y.__dict__.update(state)
            if slotstate is not None:
                for key, value in slotstate.items():
                    setattr(y, key, value)
    if listiter is not None:
        if deep:
            for item in listiter:
                item = yield item
                y.append(item)
        else:
            for item in listiter:
                y.append(item)
    if dictiter is not None:
        if deep:
            for key, value in dictiter:
                key = yield key
                value = yield value
                y[key] = value
        else:
            for key, value in dictiter:
                y[key] = value
    return y


_Generator = types.GeneratorType
_CONTAINERS = {list: _deepcopy_list, tuple: _deepcopy_tuple, dict: _deepcopy_dict,
               types.MethodType: _deepcopy_method}


def deepcopy(x, memo=None):
    """Deep copy of ``x``, with :func:`copy.deepcopy`'s results and no recursion limit (notebook 02).

    ``memo`` maps ``id(original)`` to its copy, exactly as in the standard library, so a
    ``__deepcopy__(self, memo)`` written for :mod:`copy` works here too.  Nesting depth is bounded
    by memory only: a list nested 100,000 deep is copied without ``RecursionError``.
    """
    if memo is None:
        memo = {}
    d = id(x)
    y = memo.get(d, _nil)
    if y is not _nil:
        return y
    cls = type(x)
    if cls in _ATOMIC:
        return x
    maker = _CONTAINERS.get(cls)
    if maker is not None:
        y = maker(x, memo)
        if type(y) is _Generator:
            return _drive(y, x, memo)
        if y is not x:
            memo[d] = y
            _keep_alive(x, memo)
        return y
    if issubclass(cls, type):
        return x
    copier = getattr(x, "__deepcopy__", None)
    if copier is not None:
        y = copier(memo)
    else:
        rv = _reduce(x, cls, "un(deep)copyable object of type %s")
        if isinstance(rv, str):
            return x
        return _drive(_reconstruct(x, memo, *rv), x, memo)
    if y is not x:
        memo[d] = y
        _keep_alive(x, memo)
    return y


def _drive(gen, orig, memo):
    """Run container generators with an explicit stack; return the copy of ``orig``."""
    stack = []
    push, pop = stack.append, stack.pop
    get = memo.get
    containers = _CONTAINERS
    atomic = _ATOMIC
    nil = _nil
    generator = _Generator
    send = None
    while True:
        try:
            child = gen.send(send)
        except StopIteration as stop:
            y = stop.value
            if y is not orig:
                memo[id(orig)] = y
                _keep_alive(orig, memo)
            if not stack:
                return y
            gen, orig = pop()
            send = y
            continue
        # Deep-copy `child` exactly as deepcopy(child, memo) would.
        d = id(child)
        y = get(d, nil)
        if y is not nil:
            send = y
            continue
        cls = type(child)
        if cls in atomic:
            send = child
            continue
        maker = containers.get(cls)
        if maker is not None:
            y = maker(child, memo)
            if type(y) is generator:
                push((gen, orig))
                gen, orig, send = y, child, None
                continue
            if y is not child:
                memo[d] = y
                _keep_alive(child, memo)
            send = y
            continue
        if issubclass(cls, type):
            send = child
            continue
        copier = getattr(child, "__deepcopy__", None)
        if copier is not None:
            y = copier(memo)
        else:
            rv = _reduce(child, cls, "un(deep)copyable object of type %s")
            if isinstance(rv, str):
                send = child
                continue
            new = _reconstruct(child, memo, *rv)
            push((gen, orig))
            gen, orig, send = new, child, None
            continue
        if y is not child:
            memo[d] = y
            _keep_alive(child, memo)
        send = y
