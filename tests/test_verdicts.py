"""Tests for coursekit.verdicts: the outcome follows from the criteria alone."""

import numpy as np
import pytest

from coursekit.verdicts import OUTCOMES, verdict


def make(**checks):
    return verdict("a claim", paper="the paper's figure", ours="our figure", checks=checks)


def test_outcome_is_computed_from_the_checks():
    assert make(a=True, b=True).outcome == "reproduced" and bool(make(a=True))
    assert make(a=True, b=False).outcome == "partly reproduced" and not make(a=True, b=False)
    assert make(a=False, b=False).outcome == "not reproduced at this scale"
    assert make(a=np.bool_(True)).outcome == OUTCOMES[0]  # numpy comparisons count


def test_text_and_html_show_claim_paper_ours_criteria_and_verdict():
    v = verdict("x < y", paper="y is 2", ours="x is 1 <b>", checks={"x below y": True, "x below 0": False})
    text = repr(v)
    assert "Claim:   x < y" in text and "Paper:   y is 2" in text and "[x] x below y" in text and "[ ] x below 0" in text
    assert text.endswith("Verdict: PARTLY REPRODUCED")
    page = v._repr_html_()
    assert "x is 1 &lt;b&gt;" in page and "partly reproduced" in page and "✘ x below 0" in page


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(checks={}), "non-empty dict"),
        (dict(checks={"a": 1}), "criterion strings to bools"),
        (dict(paper=""), "paper must be a non-empty string"),
    ],
)
def test_bad_input_is_refused(kw, match):
    args = dict(paper="p", ours="o", checks={"a": True}) | kw
    with pytest.raises(ValueError, match=match):
        verdict("claim", **args)
