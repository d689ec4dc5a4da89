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
        (dict(post_hoc=["b"]), "keys of checks"),
        (dict(post_hoc="a"), "collection of criterion strings"),
    ],
)
def test_bad_input_is_refused(kw, match):
    args = dict(paper="p", ours="o", checks={"a": True}) | kw
    with pytest.raises(ValueError, match=match):
        verdict("claim", **args)


def test_post_hoc_criteria_are_marked_and_still_count():
    v = verdict("c", paper="p", ours="o", checks={"fitted rule": True, "prediction": False}, post_hoc=["fitted rule"])
    text = repr(v)
    assert "Criteria (set in advance, except those marked post hoc):" in text
    assert "[x] fitted rule (post hoc)" in text and "[ ] prediction\n" in text + "\n"
    assert v.outcome == "partly reproduced"  # a post-hoc criterion still counts
    assert "fitted rule (post hoc)" in v._repr_html_() and "except those marked post hoc" in v._repr_html_()
    plain = make(a=True)
    assert "Criteria (set in advance):" in repr(plain) and "post hoc" not in plain._repr_html_()
