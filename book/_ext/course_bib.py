"""Author-year labels in the bibliography, to match the author-year citations.

``_config.yml`` sets ``bibtex_reference_style: author_year``, so the chapters
cite "Ramsauer et al., 2020"; pybtex's ``plain`` style would still number the
bibliography ([1], [2], ...), and a reader could not find a citation's entry
by its text. This module registers the pybtex label style ``authoryear``
(labels "Bahdanau et al., 2015", "Yang et al., 2016"; a, b, ... when two
entries share a label) and the formatting style ``plain_authoryear`` (pybtex's
``plain``, sorted by author, year and title, with those labels), which
``bibtex_default_style`` names. The citations use the same labels: the
referencing style ``label_authoryear`` (sphinxcontrib-bibtex's ``label`` style,
citations separated by "; ") makes ``{cite}`cho2014,cho2014properties``` read
"[Cho et al., 2014a; Cho et al., 2014b]", exactly the two entries' labels.
``{cite:t}`` reads "Cho et al. [2014]" (author-year, without the a/b).
"""

from __future__ import annotations

from collections import Counter

from dataclasses import dataclass, field

import pybtex.plugin
import sphinxcontrib.bibtex.plugin
from pybtex.richtext import Text
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from sphinxcontrib.bibtex.style.referencing import BracketStyle
from sphinxcontrib.bibtex.style.referencing.basic_author_year import BasicAuthorYearTextualReferenceStyle
from sphinxcontrib.bibtex.style.referencing.basic_label import BasicLabelTextualReferenceStyle
from sphinxcontrib.bibtex.style.referencing.label import LabelReferenceStyle


def _plain(latex: str) -> str:
    """Name or year text without LaTeX markup ({\\"a} -> ä, braces dropped)."""
    return Text.from_latex(latex).render_as("text")


def author_year(entry) -> str:
    """"Last", "Last and Other" or "Last et al.", then ", year" (editors when there are no authors)."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    last = [_plain(" ".join(p.prelast_names + p.last_names)) for p in people]
    if not last:
        who = _plain(entry.fields.get("organization", entry.fields.get("title", entry.key)))
    elif len(last) == 1:
        who = last[0]
    elif len(last) == 2:
        who = f"{last[0]} and {last[1]}"
    else:
        who = f"{last[0]} et al."
    year = _plain(entry.fields.get("year", "n.d."))
    return f"{who}, {year}"


class AuthorYearLabelStyle(BaseLabelStyle):
    """Labels as the author-year citations read; a, b, ... tell apart entries that would share one."""

    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        labels = [author_year(e) for e in entries]
        shared = {label for label, n in Counter(labels).items() if n > 1}
        seen: Counter[str] = Counter()
        for label in labels:
            if label in shared:
                seen[label] += 1
                label += "abcdefghijklmnopqrstuvwxyz"[seen[label] - 1]
            yield label


class PlainAuthorYearStyle(PlainStyle):
    default_label_style = "authoryear"


@dataclass
class LabelAuthorYearReferenceStyle(LabelReferenceStyle):
    """``{cite}`` by label, "[A et al., 2015; B, 2016]" (the label already holds author and
    year); ``{cite:t}`` as author and year, "A et al. [2015]" (a label would repeat the author)."""

    bracket_parenthetical: BracketStyle = field(default_factory=lambda: BracketStyle(sep="; "))

    def __post_init__(self):
        super().__post_init__()
        textual = BasicAuthorYearTextualReferenceStyle(
            bracket=self.bracket_textual,
            person=self.person,
            text_reference_sep=self.text_reference_sep,
            pre_text_sep=self.pre_text_sep,
            post_text_sep=self.post_text_sep,
        )
        self.styles[:] = [textual if isinstance(st, BasicLabelTextualReferenceStyle) else st for st in self.styles]
        # GroupReferenceStyle maps role names to styles in its own __post_init__: map again.
        self.role_style.clear()
        for style in self.styles:
            self.role_style.update((role, style) for role in style.role_names())


def register() -> None:
    """Register the styles; call it from an extension's ``setup`` (before config-inited)."""
    pybtex.plugin.register_plugin("pybtex.style.labels", "authoryear", AuthorYearLabelStyle, force=True)
    pybtex.plugin.register_plugin("pybtex.style.formatting", "plain_authoryear", PlainAuthorYearStyle, force=True)
    sphinxcontrib.bibtex.plugin.register_plugin(
        "sphinxcontrib.bibtex.style.referencing", "label_authoryear", LabelAuthorYearReferenceStyle, force=True
    )
