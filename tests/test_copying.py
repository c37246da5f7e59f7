"""course_utils.copying must behave like the standard library's copy module, and go further.

Every scenario runs through both implementations and compares *shapes*: which objects are new,
which are the original ones, which are shared, in what order hooks were called and what ended up
in ``memo``.  Many scenarios follow the topics of CPython's own ``Lib/test/test_copy.py``
(rewritten here, not copied).  Plus: depth 100,000 without RecursionError.
"""

from __future__ import annotations

import copy as std
import copyreg
import dataclasses
import sys
import threading
import types
import weakref
from collections import OrderedDict, defaultdict, deque, namedtuple
from fractions import Fraction

import pytest

from course_utils import copying

IMPLS = [pytest.param(std, id="stdlib"), pytest.param(copying, id="course")]


# ---------------------------------------------------------------- a canonical picture of a copy

ATOMS = (type(None), bool, int, float, complex, str, bytes, range, type, types.FunctionType,
         types.BuiltinFunctionType, property, weakref.ref, types.CodeType)


def shape(copy_, original):
    """Describe ``copy_`` as a tree of type names in which every object is numbered once
    (sharing and cycles show up as references to earlier numbers) and every object that *is* an
    object of ``original`` says which one.  Walks iteratively, so deep data is fine."""
    orig_ids = {}
    todo = [original]
    while todo:  # number the objects reachable from the original
        o = todo.pop()
        if id(o) in orig_ids:
            continue
        orig_ids[id(o)] = len(orig_ids)
        todo.extend(_children(o))
    seen, out, todo = {}, [], [copy_]
    while todo:
        o = todo.pop()
        tag = f"orig#{orig_ids[id(o)]}" if id(o) in orig_ids else "new"
        if isinstance(o, ATOMS) and not isinstance(o, type):
            out.append((type(o).__name__, repr(o), tag if not isinstance(o, (int, float, str, bytes, bool, type(None))) else ""))
            continue
        if id(o) in seen:
            out.append(("ref", seen[id(o)], tag))
            continue
        seen[id(o)] = len(seen)
        out.append((type(o).__name__, seen[id(o)], tag))
        kids = _children(o)
        todo.extend(reversed(kids))
    return out


def _children(o):
    if isinstance(o, (list, tuple, set, frozenset, deque)):
        return list(o) if not isinstance(o, (set, frozenset)) else sorted(o, key=repr)
    if isinstance(o, dict):
        return [x for kv in o.items() for x in kv]
    if isinstance(o, types.MethodType):
        return [o.__self__]
    d = getattr(o, "__dict__", None)
    kids = [x for kv in sorted(d.items()) for x in kv] if isinstance(d, dict) else []
    for slot in getattr(type(o), "__slots__", ()):
        if hasattr(o, slot):
            kids.append(getattr(o, slot))
    return kids


def same_deep(x, **kw):
    a, b = std.deepcopy(x, **kw), copying.deepcopy(x, **kw)
    assert type(a) is type(b)
    assert shape(a, x) == shape(b, x)
    return a, b


def same_shallow(x):
    a, b = std.copy(x), copying.copy(x)
    assert type(a) is type(b)
    assert (a is x) == (b is x)
    assert shape(a, x) == shape(b, x)
    return a, b


# ------------------------------------------------------------------------------- the public API

def test_public_names():
    assert copying.Error is std.Error and copying.error is std.Error
    assert set(copying.__all__) == {"Error", "copy", "deepcopy"}   # their docstring tags: tests/test_docstrings.py


ATOMIC_VALUES = [None, ..., NotImplemented, 42, 2**100, -1.5, float("nan"), 3 + 4j, True, False,
                 b"bytes", "text", "", range(5), int, type, len, test_public_names,
                 property(lambda self: 1), weakref.ref(test_public_names), (lambda: 0).__code__]


@pytest.mark.parametrize("value", ATOMIC_VALUES, ids=lambda v: type(v).__name__)
def test_atomic_values_are_returned_as_is(value):
    assert copying.copy(value) is value and std.copy(value) is value
    memo = {}
    assert copying.deepcopy(value, memo) is value
    assert memo == {}, "an atom that is its own copy is never memoised"


@pytest.mark.parametrize("value", [(), (1, "a"), frozenset({1, 2}), slice(1, 5), (1, (2, (3,)))])
def test_shallow_copy_of_immutables_is_the_same_object(value):
    assert copying.copy(value) is value


def test_deepcopy_tuple_holding_list_is_a_new_tuple():
    t = (1, [2, 3])
    a, b = same_deep(t)
    assert b is not t and b[1] is not t[1] and b == t
    assert copying.copy(t) is t  # the shallow copy of the same tuple is the tuple itself


def test_deepcopy_tuple_of_immutables_is_the_same_object():
    for t in [(), (1, 2, "x"), (1, (2, (3, "a"))), ((), ((),))]:
        assert copying.deepcopy(t) is t


@pytest.mark.parametrize("value", [
    [1, [2, 3], {"a": [4]}], {"k": [1, 2], 2: {3: [4]}}, {1, 2, 3}, bytearray(b"abc"),
    [[0] * 3] * 3, {"a": (1, [2]), "b": (1, 2)}])
def test_containers_shallow_and_deep(value):
    a, b = same_shallow(value)
    assert b is not value and b == value
    a, b = same_deep(value)
    assert b is not value and b == value


def test_shallow_copy_shares_children_deep_does_not():
    x = [[1, 2], {"a": [3]}]
    s = copying.copy(x)
    assert s is not x and s[0] is x[0] and s[1] is x[1]
    d = copying.deepcopy(x)
    assert d[0] is not x[0] and d[1] is not x[1] and d[1]["a"] is not x[1]["a"]


def test_sharing_inside_the_original_is_kept():
    inner = [1]
    x = [inner, inner, (inner,), {"k": inner}]
    a, b = same_deep(x)
    assert b[0] is b[1] is b[2][0] is b[3]["k"] and b[0] is not inner


# ------------------------------------------------------------------------- cycles and the memo

def test_reflexive_list_dict_and_tuple():
    lst = []
    lst.append(lst)
    a, b = same_deep(lst)
    assert b[0] is b and b is not lst
    d = {}
    d["me"] = d
    a, b = same_deep(d)
    assert b["me"] is b
    holder = []
    tup = (holder,)
    holder.append(tup)
    a, b = same_deep(tup)
    assert b is not tup and b[0][0] is b


def test_memo_entries_and_keep_alive_match_the_stdlib():
    inner = [1, 2]
    x = [inner, (inner, "s"), {"k": inner}, inner]
    for impl in (std, copying):
        memo = {}
        y = impl.deepcopy(x, memo)
        keys = {k for k in memo if k != id(memo)}
        assert keys == {id(x), id(inner), id(x[1]), id(x[2])}
        assert memo[id(x)] is y and memo[id(inner)] is y[0]
        assert [id(o) for o in memo[id(memo)]] == [id(inner), id(x[1]), id(x[2]), id(x)], impl


def test_preloaded_memo_is_used():
    inner = [1]
    x = [inner, 5]
    sentinel = object()
    for impl in (std, copying):
        y = impl.deepcopy(x, {id(inner): sentinel})
        assert y[0] is sentinel
        assert impl.deepcopy(x, {id(x): "done"}) == "done"


def test_keep_alive_holds_temporaries():
    # objects produced only during copying (e.g. by __reduce__) must stay alive while memo does
    class Temp:
        def __init__(self, payload):
            self.payload = payload

        def __reduce__(self):
            return (Temp, ([self.payload],))
    x = [Temp(i) for i in range(50)]
    kept = []
    for impl in (std, copying):
        memo = {}
        y = impl.deepcopy(x, memo)
        assert [t.payload for t in y] == [[i] for i in range(50)]
        kept.append([type(o).__name__ for o in memo[id(memo)]])
    # the temporary payload lists made by __reduce__ are kept alive too: 50 of them, 50
    # instances and the outer list, in the same order
    assert kept[0] == kept[1] and len(kept[1]) == 101


def test_deepcopy_of_the_memo_itself_does_not_crash():
    x = [[1], [2]]
    for impl in (std, copying):
        memo = {}
        impl.deepcopy(x, memo)
        impl.deepcopy(memo)  # contains the keep-alive list at id(memo)


# ---------------------------------------------------------------- __copy__ and __deepcopy__

def test_copy_and_deepcopy_hooks_are_called():
    class C:
        def __init__(self, v):
            self.v = v

        def __copy__(self):
            return C(("copied", self.v))

        def __deepcopy__(self, memo):
            return C(("deep", self.v, type(memo).__name__))
    for impl in (std, copying):
        assert impl.copy(C(1)).v == ("copied", 1)
        assert impl.deepcopy([C(2)])[0].v == ("deep", 2, "dict")


def test_copy_hook_is_looked_up_on_the_class_and_deepcopy_on_the_instance():
    class C:
        pass
    for impl in (std, copying):
        c = C()
        c.__copy__ = lambda: "instance attribute"  # ignored by copy (looked up on the class)
        assert impl.copy(c) is not c and isinstance(impl.copy(c), C)
        c.__deepcopy__ = lambda memo: "from the instance"
        assert impl.deepcopy(c) == "from the instance"


def test_deepcopy_hook_returning_self_is_not_memoised():
    class Shared:
        def __deepcopy__(self, memo):
            return self
    s = Shared()
    for impl in (std, copying):
        memo = {}
        out = impl.deepcopy([s, s], memo)
        assert out[0] is s and id(s) not in memo


def test_correct_deepcopy_recipe_with_a_cycle_works_with_both():
    class Node:
        def __init__(self, value):
            self.value, self.children = value, []

        def __deepcopy__(self, memo):
            new = Node(self.value)
            memo[id(self)] = new  # register before copying children
            new.children = [copying.deepcopy(c, memo) for c in self.children]
            return new
    root = Node("root")
    root.children.append(root)
    root.children.append(Node("leaf"))
    for impl in (std, copying):
        c = impl.deepcopy(root)
        assert c.children[0] is c and c.children[1].value == "leaf" and c is not root


def test_late_memo_recipe_recurses_forever_with_both():
    class Node:
        def __init__(self):
            self.children = []

        def __deepcopy__(self, memo):
            new = Node()
            new.children = [IMPL.deepcopy(c, memo) for c in self.children]
            memo[id(self)] = new  # too late: the cycle comes back here first
            return new
    n = Node()
    n.children.append(n)
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(300)
    try:
        for IMPL in (std, copying):
            with pytest.raises(RecursionError):
                IMPL.deepcopy(n)
    finally:
        sys.setrecursionlimit(old)


# -------------------------------------------------- copyreg, __reduce_ex__ and its many forms

def test_copyreg_dispatch_table_is_used():
    class Point:
        def __init__(self, x, y):
            self.x, self.y = x, y
    calls = []

    def reduce_point(p):
        calls.append(p)
        return (Point, (p.x, [p.y]))
    copyreg.pickle(Point, reduce_point)
    try:
        p = Point(1, 2)
        for impl in (std, copying):
            assert impl.copy(p).y == [2]
            d = impl.deepcopy(p)
            assert d.x == 1 and d.y == [2]
        assert len(calls) == 4
    finally:
        del copyreg.dispatch_table[Point]


def test_reduce_ex_is_preferred_and_called_with_protocol_4():
    seen = []

    class C:
        def __reduce_ex__(self, proto):
            seen.append(proto)
            return ""  # a string means "this object is global: return it as is"

        def __reduce__(self):  # pragma: no cover - never reached
            raise AssertionError("__reduce__ must not be called when __reduce_ex__ exists")
    c = C()
    for impl in (std, copying):
        assert impl.copy(c) is c and impl.deepcopy(c) is c
    assert seen == [4, 4, 4, 4]


def test_reduce_string_means_same_object():
    class C:
        def __reduce__(self):
            return "C"
    c = C()
    for impl in (std, copying):
        assert impl.copy(c) is c and impl.deepcopy([c])[0] is c


LOG: list = []


class Thing:
    """Rebuilt from the __reduce__ form chosen in FORM; every hook writes to LOG."""

    form = "2"

    def __init__(self, *args):
        LOG.append(("init", args))

    def append(self, item):
        LOG.append(("append", item))

    def __setitem__(self, key, value):
        LOG.append(("setitem", key, value))

    def __reduce__(self):
        base = (Thing, ("arg", [0]))
        return {
            "2": base,
            "3": base + ({"state": [1]},),
            "4": base + (None, iter([[1], "b", [1]])),
            "5": base + (None, None, iter([("k", [2]), ("j", "v")])),
            "all": base + ({"s": 1}, iter([[5]]), iter([((1, [2]), [3])])),
            "state-none": base + (None, None, None),
            "setstate": (WithSetstate, (), ("tuple-state", [3])),
            "slots": base + (({"d": 1}, {"slot": [4]}),),
            "slots-only": base + ((None, {"slot": [4]}),),
        }[self.form]


class WithSetstate:
    def __setstate__(self, state):
        LOG.append(("setstate", state))


@pytest.mark.parametrize("deep", [False, True])
@pytest.mark.parametrize("form", ["2", "3", "4", "5", "all", "state-none", "setstate", "slots",
                                  "slots-only"])
def test_reduce_tuple_forms_match_the_stdlib(form, deep):
    logs, results = [], []
    for impl in (std, copying):
        LOG.clear()
        t = Thing()
        t.form = form
        LOG.clear()
        y = (impl.deepcopy if deep else impl.copy)(t)
        logs.append(list(LOG))
        results.append(shape(y, t))
    assert logs[0] == logs[1] and results[0] == results[1]
    assert logs[0] or form == "setstate" or form == "2"


def test_reduce_with_too_many_items_fails_like_the_stdlib():
    class Bad:
        def __reduce__(self):
            return (Bad, (), None, None, None, None)
    for f in ("copy", "deepcopy"):
        with pytest.raises(TypeError) as e1:
            getattr(std, f)(Bad())
        with pytest.raises(TypeError) as e2:
            getattr(copying, f)(Bad())
        assert str(e1.value) == str(e2.value)


def test_reduce_six_items_of_none_still_fails():
    class Bad:
        def __reduce__(self):
            return (Bad, (), None, None, None, None)
    with pytest.raises(TypeError):
        copying.deepcopy([Bad()])


def test_uncopyable_objects_raise_error():
    class NoReduce:
        def __reduce_ex__(self, proto):
            raise copying.Error("I refuse")
    for impl in (std, copying):
        with pytest.raises(std.Error):
            impl.copy(NoReduce())
        with pytest.raises(std.Error):
            impl.deepcopy([NoReduce()])


def test_object_with_neither_reduce_method():
    class Weird:
        def __getattribute__(self, name):
            if name in ("__reduce_ex__", "__reduce__", "__deepcopy__"):
                raise AttributeError(name)
            return object.__getattribute__(self, name)
    w = Weird()
    for impl in (std, copying):
        with pytest.raises(std.Error) as e:
            impl.deepcopy(w)
        assert "un(deep)copyable" in str(e.value)
        with pytest.raises(std.Error) as e:
            impl.copy(w)
        assert "un(shallow)copyable" in str(e.value)


@pytest.mark.parametrize("make", [threading.Lock, threading.RLock, lambda: (x for x in ()),
                                  lambda: open(__file__)], ids=["Lock", "RLock", "generator", "file"])
def test_things_that_cannot_be_copied_fail_the_same_way(make):
    obj = make()
    try:
        outcomes = []
        for impl in (std, copying):
            try:
                impl.deepcopy({"x": obj})
                outcomes.append("ok")
            except Exception as exc:
                outcomes.append((type(exc), str(exc)))
        assert outcomes[0] == outcomes[1] and outcomes[0] != "ok"
    finally:
        if hasattr(obj, "close"):
            obj.close()


# ----------------------------------------------------------------------------------- instances

class Vanilla:
    def __init__(self, a):
        self.a = a

    def __eq__(self, other):
        return type(self) is type(other) and self.__dict__ == other.__dict__


class WithNewArgs(int):
    def __new__(cls, value, tag):
        self = super().__new__(cls, value)
        self.tag = tag
        return self

    def __getnewargs__(self):
        return (int(self), self.tag)


class WithNewArgsEx:
    def __new__(cls, *, box):
        self = super().__new__(cls)
        self.box = box
        return self

    def __getnewargs_ex__(self):
        return (), {"box": self.box}


class WithState:
    def __init__(self, data):
        self.data = data
        self.cache = "expensive"

    def __getstate__(self):
        return {"data": self.data}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.cache = "rebuilt"


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self, a):
        self.a = a


class ListSub(list):
    pass


class DictSub(dict):
    pass


class TupleSub(tuple):
    pass


@dataclasses.dataclass
class Box:
    items: list
    name: str = "box"


Pair = namedtuple("Pair", "left right")


@pytest.mark.parametrize("make", [
    lambda: Vanilla([1, 2]), lambda: WithNewArgs(7, [1]), lambda: WithNewArgsEx(box=[1]),
    lambda: WithState([1]), lambda: Slotted([1]), lambda: ListSub([[1], 2]),
    lambda: DictSub(a=[1]), lambda: TupleSub(([1], 2)), lambda: Box([1, [2]]),
    lambda: Pair([1], (2,)), lambda: OrderedDict(a=[1]), lambda: defaultdict(list, a=[1]),
    lambda: deque([[1], 2], maxlen=5), lambda: Fraction(3, 4), lambda: {1, 2}, lambda: frozenset({3})],
    ids=["vanilla", "getnewargs", "getnewargs_ex", "getstate/setstate", "slots", "list-subclass",
         "dict-subclass", "tuple-subclass", "dataclass", "namedtuple", "OrderedDict",
         "defaultdict", "deque", "Fraction", "set", "frozenset"])
def test_instances_match_the_stdlib(make):
    x = make()
    a, b = same_shallow(x)
    a, b = same_deep(x)
    if isinstance(x, WithState):
        assert b.cache == "rebuilt" and b.data is not x.data
    if isinstance(x, ListSub):
        b.append(3)
        assert len(x) == 2


def test_reflexive_instance():
    v = Vanilla(None)
    v.a = v
    a, b = same_deep(v)
    assert b.a is b and b is not v
    s = Slotted(None)
    s.a = [s]
    a, b = same_deep(s)
    assert b.a[0] is b


def test_getstate_that_raises_propagates():
    class Boom:
        def __getstate__(self):
            raise ValueError("nope")
    for impl in (std, copying):
        with pytest.raises(ValueError):
            impl.copy(Boom())
        with pytest.raises(ValueError):
            impl.deepcopy(Boom())


def test_functions_classes_and_weakrefs():
    def f():
        pass

    class K:
        pass
    r = weakref.ref(K)
    for impl in (std, copying):
        assert impl.copy(f) is f and impl.deepcopy(f) is f
        assert impl.copy(K) is K and impl.deepcopy(K) is K
        assert impl.deepcopy(r) is r


def test_metaclass_instances_are_treated_as_classes():
    class Meta(type):
        pass

    class WithMeta(metaclass=Meta):
        pass
    assert copying.copy(WithMeta) is WithMeta and copying.deepcopy([WithMeta])[0] is WithMeta


def test_weak_dictionaries():
    class Key:
        pass
    k1, k2 = Key(), Key()
    wk = weakref.WeakKeyDictionary({k1: [1], k2: [2]})
    wv = weakref.WeakValueDictionary({"a": k1})
    for impl in (std, copying):
        s = impl.copy(wk)
        assert s is not wk and len(s) == 2
        d = impl.deepcopy(wk)
        assert d[k1] == [1] and d[k1] is not wk[k1]  # keys are kept, values copied
        dv = impl.deepcopy(wv)
        assert dv["a"] is not k1 or True  # values are deep-copied the same way by both
    a, b = std.deepcopy(wv), copying.deepcopy(wv)
    assert (a["a"] is k1) == (b["a"] is k1)


def test_bound_method():
    class Counter:
        def __init__(self):
            self.n = [0]

        def bump(self):
            self.n[0] += 1
    c = Counter()
    for impl in (std, copying):
        m = impl.deepcopy(c.bump)
        assert m.__self__ is not c and m.__func__ is Counter.bump
        m()
        assert c.n == [0]
    x = [c, c.bump]
    a, b = same_deep(x)
    assert b[1].__self__ is b[0]


# --------------------------------------------------------------------------- beyond the stdlib

def _nest(depth, make):
    x = make()
    for _ in range(depth):
        x = make(x)
    return x


@pytest.mark.parametrize("kind", ["list", "dict", "tuple", "instance"])
def test_no_recursion_error_100k_deep(kind):
    depth = 100_000
    makers = {
        "list": lambda *a: [a[0]] if a else [],
        "dict": lambda *a: {"next": a[0], "box": [1]} if a else {},
        "tuple": lambda *a: (a[0], [1]) if a else ([],),
        "instance": lambda *a: Vanilla(a[0] if a else None),
    }
    x = _nest(depth, makers[kind])
    y = copying.deepcopy(x)
    get = {"list": lambda o: o[0] if o else None, "dict": lambda o: o.get("next"),
           "tuple": lambda o: o[0] if len(o) == 2 else None,
           "instance": lambda o: o.a}[kind]
    n, a, b = 0, x, y
    while b is not None:
        assert b is not a and type(b) is type(a)
        a, b, n = get(a), get(b), n + 1
    assert n == depth + (1 if kind != "instance" else 1)


def test_the_stdlib_really_fails_at_that_depth():
    x = _nest(100_000, lambda *a: [a[0]] if a else [])
    with pytest.raises(RecursionError):
        std.deepcopy(x)


def test_long_cycle_deep_copy():
    first = node = Vanilla(None)
    for _ in range(50_000):
        node.a = Vanilla(None)
        node = node.a
    node.a = first  # a cycle 50,001 long
    y = copying.deepcopy(first)
    n, p = 1, y.a
    while p is not y:
        p, n = p.a, n + 1
    assert n == 50_001


def test_exceptions_in_the_middle_propagate_and_leave_no_state():
    class Boom:
        def __deepcopy__(self, memo):
            raise ValueError("stop")
    x = [[1, [2, Boom()]], 3]
    with pytest.raises(ValueError):
        copying.deepcopy(x)
    assert copying.deepcopy([[1, [2]], 3]) == [[1, [2]], 3]


def test_generated_data_matches_the_stdlib():
    import random
    rng = random.Random(3)
    shared = [["shared"]]

    def gen(depth):
        r = rng.random()
        if depth == 0 or r < 0.2:
            return rng.choice([1, 2.5, "s", None, True, b"b", shared[0], (1, 2)])
        if r < 0.45:
            return [gen(depth - 1) for _ in range(rng.randint(0, 4))]
        if r < 0.7:
            return {rng.choice("abcdef"): gen(depth - 1) for _ in range(rng.randint(0, 4))}
        if r < 0.85:
            return tuple(gen(depth - 1) for _ in range(rng.randint(0, 3)))
        return Vanilla(gen(depth - 1))
    for _ in range(200):
        x = gen(6)
        same_deep(x)
        same_shallow(x)
        assert _memo_picture(std, x) == _memo_picture(copying, x)


def _memo_picture(impl, x):
    """What deepcopy left in memo: keys and keep-alive entries, named by their place in x."""
    where, todo = {}, [x]
    while todo:
        o = todo.pop()
        if id(o) not in where:
            where[id(o)] = len(where)
            todo.extend(_children(o))
    memo = {}
    impl.deepcopy(x, memo)
    keep = memo.pop(id(memo), [])
    keys = sorted(where.get(k, -1) for k in memo)
    return keys, [where.get(id(o), type(o).__name__) for o in keep]


def test_benchmark_rows_have_the_harness_keys():
    from benchmarks import bench_copying
    rows = bench_copying.run()
    assert rows and all(set(r) == {"name", "value", "unit", "note"} for r in rows)
    ratios = [r for r in rows if r["name"].startswith("deepcopy ratio")]
    assert len(ratios) == 3 and all(isinstance(r["value"], float) for r in ratios)


def test_cpython_test_copy_suite_passes_with_the_course_functions(monkeypatch):
    """Run CPython's own Lib/test/test_copy.py with copy.copy/deepcopy swapped for ours."""
    import unittest
    test_copy = pytest.importorskip("test.test_copy", reason="this Python ships without its test suite")
    monkeypatch.setattr(std, "copy", copying.copy)
    monkeypatch.setattr(std, "deepcopy", copying.deepcopy)
    suite = unittest.defaultTestLoader.loadTestsFromModule(test_copy)
    result = unittest.TestResult()
    suite.run(result)
    problems = [f"{t}: {tb.splitlines()[-1]}" for t, tb in result.failures + result.errors]
    assert result.testsRun > 50 and not problems, problems
