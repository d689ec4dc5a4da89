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
function with the coursekit function that holds the reference, case by case,
and names the mistake it recognises, with that mistake's hint.

Checkers are deterministic: their inputs come from their own
``torch.Generator(seed)``, and every call of learner or reference code runs
inside ``torch.random.fork_rng``, so the global RNG state is left as it was.

The package, one module per idea:

- :mod:`.spec`: the declarative form, :class:`Exercise` (cases, reference,
  mistakes with their hints) and :func:`checker`, which makes ``check_x`` from it;
- :mod:`.compare`: whether an output is the reference's (:func:`same`) and, if
  not, the first way it differs;
- :mod:`.calls`: calling the learner's code on copies, with a time limit;
- :mod:`.errors`: what the learner's exception means, and the hint for it;
- :mod:`.feedback`: :class:`CheckResult` and the words for values;
- :mod:`.predict`: "predict, then run" questions (:class:`Prediction`), checked against a
  small experiment that measures the outcome;
- ``chNN.py``: each chapter's exercises, as :class:`Exercise` specs.

Adding a chapter's checkers: write ``chNN.py`` with one
``check_x = checker(Exercise(...))`` per exercise (mostly its cases, mistakes and
hints), list them in the module's ``__all__``, and add the module to the imports
at the bottom of this file.
"""

from .calls import TIME_LIMIT
from .compare import ATOL, RTOL, same
from .feedback import NOT_YET, PASSED, CheckResult
from .predict import Measured, Prediction, prediction_checker
from .spec import Case, Exercise, Mistake, checker, run_check

# The framework's names; each chapter's checkers are appended at the bottom.
__all__ = [
    "PASSED",
    "NOT_YET",
    "CheckResult",
    "Case",
    "Mistake",
    "Exercise",
    "checker",
    "run_check",
    "Measured",
    "Prediction",
    "prediction_checker",
]

from . import ch01, ch02, ch03, ch04, ch05, ch06, ch07, ch08, ch09, ch10, ch11, ch12, ch13  # noqa: E402
from .ch01 import *  # noqa: E402,F401,F403
from .ch02 import *  # noqa: E402,F401,F403
from .ch03 import *  # noqa: E402,F401,F403
from .ch04 import *  # noqa: E402,F401,F403
from .ch05 import *  # noqa: E402,F401,F403
from .ch06 import *  # noqa: E402,F401,F403
from .ch07 import *  # noqa: E402,F401,F403
from .ch08 import *  # noqa: E402,F401,F403
from .ch09 import *  # noqa: E402,F401,F403
from .ch10 import *  # noqa: E402,F401,F403
from .ch11 import *  # noqa: E402,F401,F403
from .ch12 import *  # noqa: E402,F401,F403
from .ch13 import *  # noqa: E402,F401,F403

for _chapter in (ch01, ch02, ch03, ch04, ch05, ch06, ch07, ch08, ch09, ch10, ch11, ch12, ch13):
    __all__ += _chapter.__all__
del _chapter
