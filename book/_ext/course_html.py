"""The course's Sphinx extension: how the built pages differ from the notebooks.

Loaded by ``_config.yml`` (``sphinx: local_extensions``). It

- sets ``COURSEKIT_PROGRESS=0`` for the notebooks the build executes (unless the
  environment already sets it), so ``coursekit.train.fit`` draws no tqdm bars:
  embedded in a page they are hidden widgets that leave blank gaps and pull the
  4.4 MB widget manager into it. Learners in Colab and Jupyter keep their bars.
  Executed notebooks are cached by their code, so after changing this, clear
  ``_build/.jupyter_cache`` once;
- adds the vendored JavaScript (``scripts/vendor_assets.py``) only to the pages
  whose outputs need it (:func:`page_scripts`);
- rewrites exercise, solution, live-widget and bertviz outputs for the static
  page (:mod:`course_cells`);
- registers author-year bibliography labels (:mod:`course_bib`);
- drops repeated inline scripts (below).

Sphinx 7.4 writes an inline script twice when an extension adds it with
``app.add_js_file(None, body=...)`` after the builder started: once as it is
added, once more in ``prepare_writing`` (registered as ``None``, re-added as
``''``, so the duplicate check misses it). sphinx-thebe's
``const THEBE_JS_URL = ...`` is such a script, and its second copy throws
"Identifier 'THEBE_JS_URL' has already been declared" on every page.
This extension drops repeated identical inline scripts before a page is written.
"""

from __future__ import annotations

import os

from docutils import nodes

import course_bib
import course_cells

OFFLINE = "offline"  # _build/html/_static/offline/, from book/_vendor/offline/

# In this order, all at priority 500 (see shared/TOOLCHAIN.md): after the copy button's
# clipboard.min.js (an anonymous-AMD UMD, so it must come before require.js), before
# myst-nb's per-page widget scripts (added by its html-page-context handler at priority 500;
# ours runs at 400); the UMD libraries and the vega bundle load before require.js; the shim
# (last) sets VEGA_DEBUG and defines the AMD modules that Altair, bertviz and the widgets ask for.
SCRIPTS = (
    ("d3.min.js", {"bertviz"}),
    ("jquery.min.js", {"bertviz"}),
    ("vega-bundle.js", {"altair"}),
    ("require.js", {"bertviz", "widgets"}),
    ("vendor-shim.js", {"altair", "bertviz", "widgets"}),
)


def page_needs(doctree: nodes.Node, has_widget_state: bool) -> set[str]:
    """Which kinds of interactive output a page holds: "altair", "bertviz", "widgets"."""
    needs = {"widgets"} if has_widget_state else set()
    for raw in doctree.findall(nodes.raw):
        if "html" not in raw.get("format", "").split():
            continue
        text = raw.astext()
        if "altair-viz-" in text or "vegaEmbed" in text:
            needs.add("altair")
        if "bertviz-" in text or "requirejs(" in text:
            needs.add("bertviz")
        if course_cells.WIDGET_VIEW in text:
            needs.add("widgets")
    return needs


def page_scripts(needs: set[str]) -> list[str]:
    """The vendored files (relative to _static/) a page with ``needs`` loads, in load order."""
    return [f"{OFFLINE}/{name}" for name, wanted_by in SCRIPTS if wanted_by & needs]


def _add_vendored_scripts(app, pagename, templatename, context, doctree):
    if doctree is None or app.builder.format != "html":
        return
    try:
        from myst_nb.sphinx_ import NbMetadataCollector

        has_state = "ipywidgets_state" in NbMetadataCollector.get_js_files(app.env, pagename)
    except Exception:  # not a notebook page, or another myst-nb layout
        has_state = False
    for path in page_scripts(page_needs(doctree, has_state)):
        app.add_js_file(path, priority=500)  # during html-page-context: this page only


def _drop_repeated_inline_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen = set()
    kept = []
    for js in scripts:
        filename = getattr(js, "filename", js)
        attributes = getattr(js, "attributes", {}) or {}
        if not filename and attributes.get("body"):
            key = tuple(sorted((k, str(v)) for k, v in attributes.items()))
            if key in seen:
                continue
            seen.add(key)
        kept.append(js)
    scripts[:] = kept  # in place: the page template reads this very list


def setup(app):
    os.environ.setdefault("COURSEKIT_PROGRESS", "0")  # inherited by the kernels myst-nb starts
    course_bib.register()
    course_cells.setup(app)
    app.connect("html-page-context", _add_vendored_scripts, priority=400)
    # Late (priority 900), after myst-nb and the theme have added their scripts.
    app.connect("html-page-context", _drop_repeated_inline_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
