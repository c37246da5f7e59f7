"""Checker cells: specific feedback and a hint after each exercise.

Introduced in ``00_welcome_and_setup.ipynb``. A checker cell looks like::

    with check.exercise("1.2 shallow copy", hint="A shallow copy makes a new outer list only.") as ex:
        ex.equal(outer_is_new, True, "is the copy a new outer list?")
        ex.true(inner_shared, "are the inner lists shared with the original?")

It prints ``[OK] ...`` when every expectation holds.  Otherwise it raises
:class:`ExerciseFailed` with what was wrong (expected vs got) and the hint; a stub that still
raises ``NotImplementedError`` gets a ``[TODO]`` message instead.
"""

from __future__ import annotations

import math
from contextlib import contextmanager

import numpy as np


class ExerciseFailed(AssertionError):
    """Raised by a checker cell; its message says what was wrong and gives a hint (notebook 00).

    In Jupyter it shows as its message alone, not a traceback through this module: IPython
    prints what ``_render_traceback_`` returns.
    """

    def _render_traceback_(self) -> list[str]:
        return [str(self), "(A checker cell stopped here. Fix the exercise above and run both cells again; "
                           "to run the rest of the notebook meanwhile: Run > Run Selected Cell and All Below "
                           "from the next cell.)"]


def _short(value: object, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Exercise:
    """Collects expectations for one exercise (used by check.exercise)."""

    def __init__(self, name: str, hint: str):
        self.name, self.hint, self.count = name, hint, 0

    def fail(self, message: str) -> None:
        """Stop the checker with ``message`` and the exercise's hint."""
        raise ExerciseFailed(f"[FAIL] {self.name}: {message}\nHint: {self.hint}")

    def true(self, condition: object, what: str) -> None:
        """Expect ``condition`` to be truthy; ``what`` says what was checked."""
        self.count += 1
        if not condition:
            self.fail(f"{what} -> not the case.")

    def equal(self, got: object, expected: object, what: str) -> None:
        """Expect ``got == expected`` (arrays compared element-wise)."""
        self.count += 1
        same = np.array_equal(got, expected) if isinstance(got, np.ndarray) else got == expected
        if not same:
            self.fail(f"{what}\n  expected: {_short(expected)}\n  got:      {_short(got)}")

    def close(self, got: float, expected: float, what: str, rel: float = 1e-6, abs_: float = 0.0) -> None:
        """Expect ``got`` within a relative/absolute tolerance of ``expected``."""
        self.count += 1
        try:
            ok = math.isclose(float(got), float(expected), rel_tol=rel, abs_tol=abs_)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            self.fail(f"{what}\n  expected: {expected!r} (tolerance rel={rel}, abs={abs_})\n  got:      {_short(got)}")

    def raises(self, exc_type: type[BaseException], func, what: str) -> None:
        """Expect ``func()`` to raise ``exc_type``."""
        self.count += 1
        try:
            func()
        except exc_type:
            return
        except NotImplementedError:
            raise
        except Exception as exc:
            self.fail(f"{what}\n  expected {exc_type.__name__}, got {type(exc).__name__}: {exc}")
        self.fail(f"{what}\n  expected {exc_type.__name__}, but nothing was raised")


@contextmanager
def exercise(name: str, hint: str):
    """Run the expectations of one exercise; print ``[OK]`` or raise :class:`ExerciseFailed` (notebook 00)."""
    ex = Exercise(name, hint)
    try:
        yield ex
    except ExerciseFailed:
        raise
    except NotImplementedError:
        raise ExerciseFailed(f"[TODO] {name}: the exercise still raises NotImplementedError. "
                             "Replace the `raise NotImplementedError(...)` line in the exercise cell "
                             f"with your code, run that cell, then this one.\nHint: {hint}") from None
    except NameError as exc:
        raise ExerciseFailed(f"[FAIL] {name}: {exc}. Run the exercise cell above (and the cells "
                             f"before it) first.\nHint: {hint}") from None
    except Exception as exc:
        raise ExerciseFailed(f"[FAIL] {name}: your code raised {type(exc).__name__}: {exc}\n"
                             f"Hint: {hint}") from None
    print(f"[OK] {name}: all {ex.count} checks passed")
