"""Exercise checkers: run a learner's function on small cases and say, kindly, what is wrong.

A chapter's exercise is three notebook cells::

    # (a) stub, tagged raises-exception
    def my_masked_softmax(scores, mask):
        # YOUR CODE HERE
        raise NotImplementedError("Replace this line with your code")

    # (b) check
    check_masked_softmax(my_masked_softmax)

    # (c) solution, hidden (#@title Solution)

A checker never raises: it returns a :class:`CheckResult` whose text starts
with ``✅ Passed`` or ``❌ Not yet`` (see :data:`PASSED` and :data:`NOT_YET`)
and, in Jupyter, renders as a green or red box. It compares the learner's
function with the coursekit function that holds the reference, case by case.
When the output is wrong it first asks whether the output is what a known,
plausible mistake would produce (each :class:`Mistake` is that wrong code, run
on the same inputs) and, if so, gives that mistake's specific hint; otherwise
it says what was expected and what was received (type, shape, dtype, values).

Checkers are deterministic: their inputs come from their own
``torch.Generator(seed)``, and every call of learner or reference code runs
inside ``torch.random.fork_rng``, so the global RNG state is left as it was.

Adding a chapter's checkers: write ``chNN.py`` with functions
``check_x(fn, *, seed=0, time_limit=TIME_LIMIT)`` that build a few
:class:`Case` objects, list the :class:`Mistake` objects, and return
:func:`run_check` with the coursekit reference; list them in the module's
``__all__``, and add the module to the imports at the bottom of this file.
"""

from __future__ import annotations

import copy
import html
import inspect
import re
import signal
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import torch

# The framework's names; each chapter's checkers are appended at the bottom.
__all__ = [
    "PASSED",
    "NOT_YET",
    "CheckResult",
    "Case",
    "Mistake",
    "run_check",
]

PASSED = "✅ Passed"
NOT_YET = "❌ Not yet"

RTOL, ATOL = 1e-4, 1e-5  # float outputs: close enough to the reference for float32 arithmetic in another order
TIME_LIMIT = 5.0  # seconds per call; every case is tiny, so a correct answer takes milliseconds


# ----------------------------------------------------------------------------- result
def _code_html(text: str) -> str:
    """Escape ``text`` for HTML, then show `backticked` spans as code."""
    return re.sub(r"`([^`\n]+)`", r"<code>\1</code>", html.escape(text))


@dataclass(frozen=True, repr=False)
class CheckResult:
    """The outcome of one check. Truthy when passed.

    ``repr`` is plain text whose first line starts with :data:`PASSED` or
    :data:`NOT_YET`; ``_repr_html_`` is a coloured box for Jupyter. The
    message and hint may quote the learner's code, so the HTML escapes them.
    """

    passed: bool
    title: str
    message: str
    hint: str | None = None

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        lines = [f"{PASSED if self.passed else NOT_YET}: {self.title}"]
        if self.message:
            lines.append(self.message)
        if self.hint:
            lines.append(f"Hint: {self.hint}")
        return "\n".join(lines)

    __str__ = __repr__

    def _repr_html_(self) -> str:
        border, background = ("#2e7d32", "#e8f5e9") if self.passed else ("#c62828", "#ffebee")
        marker = PASSED if self.passed else NOT_YET
        parts = [
            f'<div class="coursekit-check" style="border-left: 6px solid {border}; background: {background}; '
            'color: #1b1b1b; padding: 0.6em 1em; margin: 0.4em 0; border-radius: 4px; line-height: 1.45">',
            f"<strong>{html.escape(marker)}: {html.escape(self.title)}</strong>",
        ]
        if self.message:
            parts.append(f'<div style="white-space: pre-wrap; margin-top: 0.3em">{_code_html(self.message)}</div>')
        if self.hint:
            parts.append(
                f'<div style="white-space: pre-wrap; margin-top: 0.3em"><em>Hint:</em> {_code_html(self.hint)}</div>'
            )
        parts.append("</div>")
        return "".join(parts)


# ----------------------------------------------------------------------------- cases and mistakes
@dataclass(frozen=True)
class Case:
    """One call of the learner's function: ``fn(*args)``.

    ``description`` says in a few words what the case is (it appears in the
    feedback); ``names`` names the arguments (for "you changed `scores` in place").
    """

    description: str
    args: tuple
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mistake:
    """A plausible wrong answer and the hint that fixes it.

    Give ``output``: a function with the learner's signature that makes the
    mistake (the learner's output is compared with it on the same inputs), or
    ``test``: a predicate ``test(got, expected, case) -> bool``. ``what``
    describes the symptom; ``hint`` says how to fix it.
    """

    what: str
    hint: str
    output: Callable[..., Any] | None = None
    test: Callable[[Any, Any, Case], bool] | None = None

    def __post_init__(self):
        if (self.output is None) == (self.test is None):
            raise ValueError("a Mistake needs exactly one of output= or test=")


class _Feedback(Exception):
    """Raised inside a check to stop it with a failing result."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message, self.hint = message, hint


class _TimeUp(BaseException):
    """Raised by the alarm in a learner's function that runs too long.

    A BaseException, so the learner's own ``except Exception`` cannot swallow it.
    """


# ----------------------------------------------------------------------------- helpers
_TORCH_DIR = str(Path(torch.__file__).resolve().parent)
_COURSEKIT_DIR = str(Path(__file__).resolve().parent.parent)


def _fn_label(fn: Callable) -> str:
    name = getattr(fn, "__name__", None)
    return "your function" if not name or name == "<lambda>" else f"`{name}`"


def _clone(x: Any) -> Any:
    """A deep copy of tensors and containers; functions are passed as they are."""
    if isinstance(x, torch.Tensor):
        return x.detach().clone()
    if isinstance(x, (list, tuple)):
        return type(x)(_clone(v) for v in x)
    if callable(x):
        return x
    return copy.deepcopy(x)


def _unchanged(before: Any, after: Any) -> bool:
    if isinstance(before, torch.Tensor):
        return (
            isinstance(after, torch.Tensor)
            and after.shape == before.shape
            and after.dtype == before.dtype
            and torch.equal(after.detach().cpu(), before)
        )
    if isinstance(before, (list, tuple)):
        return (
            isinstance(after, (list, tuple))
            and len(after) == len(before)
            and all(_unchanged(b, a) for b, a in zip(before, after))
        )
    if callable(before):
        return True
    return before == after


def _plain(x: Any) -> Any:
    """Tensors detached and on the CPU, containers kept as they are (for comparing)."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu()
    if isinstance(x, (list, tuple)):
        return type(x)(_plain(v) for v in x)
    return x


def same(got: Any, want: Any, *, equal_nan: bool = False, rtol: float = RTOL, atol: float = ATOL) -> bool:
    """Whether ``got`` equals ``want``: the same structure, shapes and dtypes; floats within tolerance."""
    if isinstance(want, torch.Tensor):
        if not isinstance(got, torch.Tensor) or got.shape != want.shape or got.dtype != want.dtype:
            return False
        got, want = got.detach().cpu(), want.detach().cpu()
        if want.is_floating_point() or want.is_complex():
            return bool(torch.allclose(got, want, rtol=rtol, atol=atol, equal_nan=equal_nan))
        return bool(torch.equal(got, want))
    if isinstance(want, (list, tuple)):
        return (
            isinstance(got, (list, tuple))
            and len(got) == len(want)
            and all(same(g, w, equal_nan=equal_nan, rtol=rtol, atol=atol) for g, w in zip(got, want))
        )
    return type(got) is type(want) and got == want


def _kind(x: Any) -> str:
    if isinstance(x, torch.Tensor):
        return f"a tensor of shape {tuple(x.shape)}"
    if x is None:
        return "None"
    if isinstance(x, (list, tuple)):
        return f"a {type(x).__name__} of length {len(x)}"
    return f"a {type(x).__name__} ({x!r})" if isinstance(x, (int, float, bool)) else f"a {type(x).__name__}"


def _dtype_name(dtype: torch.dtype) -> str:
    aliases = {torch.int64: "torch.int64 (long)", torch.float32: "torch.float32 (float)", torch.bool: "torch.bool"}
    return aliases.get(dtype, str(dtype))


def _fmt(v: float | int | bool) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


@contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Interrupt the block after ``seconds`` (SIGALRM, main thread on Unix only); else do nothing.

    An alarm that someone else (say pytest-timeout) already set is put back
    afterwards with the time it had left, and left alone if it is due sooner.
    """
    usable = (
        seconds is not None
        and seconds > 0
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if usable:
        pending, _ = signal.getitimer(signal.ITIMER_REAL)
        usable = pending == 0.0 or pending > seconds
    if not usable:
        yield
        return

    def _alarm(signum, frame):
        raise _TimeUp

    start = time.monotonic()
    previous_handler = signal.signal(signal.SIGALRM, _alarm)
    previous_timer = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if previous_timer[0] > 0:
            left = max(previous_timer[0] - (time.monotonic() - start), 1e-3)
            signal.setitimer(signal.ITIMER_REAL, left, previous_timer[1])


def _where(exc: BaseException) -> traceback.FrameSummary | None:
    """The innermost frame of the learner's code (not torch's, not coursekit's) in ``exc``'s traceback."""
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if not f.filename.startswith((_TORCH_DIR, _COURSEKIT_DIR))]
    return mine[-1] if mine else None


def _raised_by_stub(exc: BaseException, fn: Callable) -> bool:
    """Whether ``exc`` is a NotImplementedError raised by ``fn``'s own body (the stub's raise line)."""
    if not isinstance(exc, NotImplementedError):
        return False
    code = getattr(fn, "__code__", None)
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return code is None or (tb is not None and tb.tb_frame.f_code is code)


def _call(fn: Callable, case: Case, *, label: str, call: str, time_limit: float | None) -> Any:
    """Run the learner's function on a copy of the case; turn every way it can fail into feedback."""
    args = _clone(case.args)
    start = time.perf_counter()
    try:
        with torch.random.fork_rng(devices=[]), _time_limit(time_limit):
            out = fn(*args)
    except _TimeUp:
        raise _Feedback(
            f"{label} was still running after {time_limit:g} s on {case.description}, so the check stopped it.",
            "These inputs are tiny, so a correct answer takes milliseconds. Look for a loop that never ends, "
            "or a Python loop over every element where one tensor operation would do.",
        ) from None
    except Exception as exc:  # the learner's code may raise anything: report it, never crash the notebook
        if _raised_by_stub(exc, fn):
            raise _Feedback(
                f"You haven't implemented {label} yet: replace the `raise NotImplementedError` line with your "
                "code, run that cell, then run this check again.",
                None,
            ) from None
        where = _where(exc)
        at = ""
        if where is not None:
            at = f"\nIt happened at line {where.lineno}, in `{where.name}`"
            at += f": `{where.line.strip()}`" if where.line else "."
        raise _Feedback(
            f"{label} raised {type(exc).__name__} on {case.description} (called as {call}):\n"
            f"{type(exc).__name__}: {_short(exc)}{at}",
            "Print the shape (and dtype) of each tensor on that line, e.g. `print(x.shape, x.dtype)`, "
            "and compare them with the shapes the exercise gives.",
        ) from None
    elapsed = time.perf_counter() - start
    if time_limit is not None and elapsed > time_limit:
        raise _Feedback(
            f"{label} took {elapsed:.1f} s on {case.description}; the limit is {time_limit:g} s.",
            "These inputs are tiny, so a correct answer takes milliseconds. Replace Python loops over "
            "elements with tensor operations.",
        )
    for name, before, after in zip(case.names or [f"argument {i + 1}" for i in range(len(args))], case.args, args):
        if not _unchanged(before, after):
            raise _Feedback(
                f"{label} changed its input `{name}` in place on {case.description}.",
                "A function like this should leave its inputs as they were: use out-of-place operations "
                "(`x.masked_fill(...)`, not `x.masked_fill_(...)`; `x = x + 1`, not `x += 1`; "
                "build a new list rather than `.append` to the one you were given).",
            )
    return out


def _first_difference(got: torch.Tensor, want: torch.Tensor) -> str:
    """Where two same-shaped tensors first differ, and by how much."""
    got, want = got.detach().cpu(), want.detach().cpu()
    if want.is_floating_point():
        bad = ~torch.isclose(got, want, rtol=RTOL, atol=ATOL)
    else:
        bad = got != want
    index = tuple(int(i) for i in bad.nonzero()[0]) if bad.any() else ()
    g, w = got[index].item(), want[index].item()
    where = f"at index {index}" if index else "its value"
    text = f"{where}: expected {_fmt(w)}, received {_fmt(g)}"
    if want.is_floating_point() and want.dim() > 0:
        finite = torch.isfinite(got) & torch.isfinite(want)
        if finite.any():
            text += f" (largest difference {(got - want)[finite].abs().max().item():.3g})"
    if bad.sum() > 1:
        text += f"; {int(bad.sum())} of {want.numel()} entries differ"
    return text


def _explain(got: Any, want: Any, name: str, value_hint: str | None) -> tuple[str, str | None] | None:
    """The first way ``got`` differs from ``want`` as (what, hint), or None when they agree."""
    if isinstance(want, torch.Tensor):
        if got is None:
            return f"{name} is None.", "Did you forget the `return` statement?"
        if not isinstance(got, torch.Tensor):
            return (
                f"{name} should be a torch.Tensor of shape {tuple(want.shape)}, but yours is {_kind(got)}.",
                "Build the result with torch operations (or convert it with `torch.tensor(...)`).",
            )
        if got.shape != want.shape:
            return (
                f"{name} should have shape {tuple(want.shape)}, but yours has shape {tuple(got.shape)}.",
                "Print the shapes along the way (`print(x.shape)`) to see where a dimension is added, "
                "lost or swapped.",
            )
        if got.dtype != want.dtype:
            hint = (
                "Token ids and indices are integers: make them `torch.long` (`.long()`, or `//` rather than `/`)."
                if want.dtype == torch.long
                else f"Convert with `.to({want.dtype})`, or build the result from the float inputs."
            )
            return f"{name} should have dtype {_dtype_name(want.dtype)}, but yours has {_dtype_name(got.dtype)}.", hint
        g = got.detach().cpu()
        if g.is_floating_point() and torch.isnan(g).any():
            return (
                f"{name} contains NaN (not a number) at {int(torch.isnan(g).sum())} of {g.numel()} entries.",
                "NaN usually comes from 0/0, for example a softmax over a row in which every score is -inf, "
                "or log(0).",
            )
        if not same(got, want):
            return f"{name} has the wrong values, {_first_difference(got, want)}.", value_hint
        return None
    if isinstance(want, (list, tuple)):
        count = f"{len(want)} values"
        if got is None:
            return f"{name} returned None, but it should return {count}.", "Did you forget the `return` statement?"
        if not isinstance(got, (list, tuple)):
            return f"{name} should return a tuple of {count}, but it returned {_kind(got)}.", (
                "Return them together: `return a, b`."
            )
        if len(got) != len(want):
            return f"{name} should return {count}, but it returned {len(got)}.", None
        return None
    if not same(got, want):
        return f"{name} should be {_kind(want)}, but yours is {_kind(got)}.", value_hint
    return None


def _mistake_matches(mistake: Mistake, got: Any, expected: Any, case: Case) -> bool:
    """Whether ``got`` shows ``mistake`` (a mistake that raises on this case just doesn't match)."""
    try:
        if mistake.test is not None:
            return bool(mistake.test(got, expected, case))
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            wrong = mistake.output(*_clone(case.args))
        return same(got, wrong, equal_nan=True) and not same(wrong, expected)
    except Exception:
        return False


# ----------------------------------------------------------------------------- the check loop
def run_check(
    title: str,
    fn: Any,
    *,
    signature: str,
    cases: Sequence[Case],
    reference: Callable[..., Any],
    reference_name: str,
    outputs: Sequence[str] = ("the output",),
    mistakes: Sequence[Mistake] = (),
    value_hint: str | None = None,
    time_limit: float | None = TIME_LIMIT,
) -> CheckResult:
    """Compare ``fn`` with ``reference`` on every case; return the first problem, kindly, or a pass.

    ``signature`` is the argument list the stub declares, e.g. ``"(scores, mask)"``.
    ``outputs`` names the function's outputs: one name for a single tensor,
    several for a tuple. ``mistakes`` are tried in order after the learner's
    output differs from the reference; ``value_hint`` is the hint when the values
    are wrong in a way no known mistake explains. Never raises.
    """
    try:
        return _run_check(
            title, fn, signature, cases, reference, reference_name, outputs, mistakes, value_hint, time_limit
        )
    except _Feedback as fb:
        return CheckResult(False, title, fb.message, fb.hint)
    except Exception as exc:  # a bug in the checker must not look like the learner's fault, nor crash the notebook
        return CheckResult(
            False,
            title,
            f"The checker itself failed ({type(exc).__name__}: {_short(exc)}). This is a bug in coursekit, "
            "not necessarily in your code; please report it.",
            None,
        )


def _run_check(title, fn, signature, cases, reference, reference_name, outputs, mistakes, value_hint, time_limit):
    if not callable(fn):
        raise _Feedback(
            f"The check needs your function itself, but it received {_kind(fn)}.",
            "Pass the function without calling it: `check_x(my_x)`, not `check_x(my_x(...))`.",
        )
    label = _fn_label(fn)
    call_name = getattr(fn, "__name__", "fn")
    call_name = "fn" if call_name == "<lambda>" else call_name
    try:
        params = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins and some callables have no signature: just call them
        params = None
    if params is not None and cases:
        try:
            params.bind(*cases[0].args)
        except TypeError as exc:
            raise _Feedback(
                f"{label} can't be called with the arguments {signature}: {exc}.",
                f"Declare it as in the exercise: `def {call_name}{signature}:`.",
            ) from None
    for i, case in enumerate(cases):
        where = f"case {i + 1} of {len(cases)} ({case.description})"
        call = f"{call_name}{signature}"
        case_at = Case(where, case.args, case.names)
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            expected = reference(*_clone(case.args))
        got = _plain(_call(fn, case_at, label=label, call=call, time_limit=time_limit))
        if same(got, expected):
            continue
        for mistake in mistakes:
            if _mistake_matches(mistake, got, expected, case):
                raise _Feedback(f"On {where}: {mistake.what}", mistake.hint)
        tuple_out = len(outputs) > 1
        problem = _explain(got, expected, label if tuple_out else f"The output of {label}", value_hint)
        if problem is None and tuple_out:
            for name, g, w in zip(outputs, got, expected):
                problem = _explain(g, w, f"`{name}`", value_hint)
                if problem is not None:
                    break
        if problem is None:  # same() and _explain() disagree only on exotic outputs
            problem = (f"the output of {label} differs from {reference_name}.", value_hint)
        what, hint = problem
        raise _Feedback(f"On {where}: {what}", hint)
    return CheckResult(
        True,
        title,
        f"{label[0].upper() + label[1:]} agrees with {reference_name} on all {len(cases)} test cases.",
        None,
    )


# The checkers live in one module per chapter (``chNN.py``, each with its own
# ``__all__``) and use the helpers above, so they are imported after them.
from . import ch01, ch02, ch03, ch04, ch05  # noqa: E402
from .ch01 import *  # noqa: E402,F401,F403
from .ch02 import *  # noqa: E402,F401,F403
from .ch03 import *  # noqa: E402,F401,F403
from .ch04 import *  # noqa: E402,F401,F403
from .ch05 import *  # noqa: E402,F401,F403

for _chapter in (ch01, ch02, ch03, ch04, ch05):
    __all__ += _chapter.__all__
del _chapter
