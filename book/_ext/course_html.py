"""Small fixes to the HTML pages of the book (a local Sphinx extension).

Sphinx 7.4 writes an inline script twice when an extension adds it with
``app.add_js_file(None, body=...)`` after the builder started: once as it is
added, once more in ``prepare_writing`` (registered as ``None``, re-added as
``''``, so the duplicate check misses it). sphinx-thebe's
``const THEBE_JS_URL = ...`` is such a script, and its second copy throws
"Identifier 'THEBE_JS_URL' has already been declared" on every page.
This extension drops repeated identical inline scripts before a page is written.
"""

from __future__ import annotations


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
    # Late (priority 900), after myst-nb and the theme have added their scripts.
    app.connect("html-page-context", _drop_repeated_inline_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
