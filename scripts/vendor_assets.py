#!/usr/bin/env python3
"""Vendor the JavaScript that the book's interactive outputs need, so the
static book renders with no internet.

The chapter notebooks stay unchanged (so they work in Colab and Jupyter):
their outputs ask for libraries from CDNs (Altair: vega, vega-lite and
vega-embed; bertviz: require.js, d3 5.7 and jQuery; ipywidgets: require.js and
@jupyter-widgets/html-manager's embed-amd.js; Sphinx: MathJax). This script
puts local copies in ``book/_vendor/offline/`` (git-ignored), which
``_config.yml`` lists in ``html_static_path``, so they end up in
``_build/html/_static/offline/`` and load before the outputs' own scripts:

=====================  ======================================================
file                   source
=====================  ======================================================
d3.min.js              ``npm pack d3@5.7.0`` (the version bertviz asks for)
jquery.min.js          ``npm pack jquery@3`` (bertviz asks for 2.0; 3 works)
vega-bundle.js         ``vl_convert.javascript_bundle()`` for the *installed*
                       Altair's Vega-Lite version, wrapped in an IIFE so its
                       top-level names do not collide with Sphinx's doctools.js
require.js             ``npm pack requirejs``
vendor-shim.js         written here: sets ``window.VEGA_DEBUG`` to the versions
                       Altair's HTML template checks (its no-AMD branch then
                       loads nothing) and, where require.js is present, defines
                       AMD modules ``vega``, ``vega-lite``, ``vega-embed``,
                       ``d3`` and ``jquery`` from the globals the page loaded
                       (Altair's AMD branch and bertviz's ``requirejs([...])``
                       then load nothing); makes vega-embed draw SVG unless a
                       chart asks otherwise (an SVG scales down to a phone's
                       column with CSS and stays interactive); gives MathJax 3
                       the ``MathJax.Hub.Queue`` call that the widgets' labels
                       make (MathJax 2 API)
embed-amd.js (+fonts)  ``npm pack @jupyter-widgets/html-manager@1.0.6``
mathjax/               ``npm pack mathjax@3``: tex-mml-chtml.js, its CHTML
                       fonts, TeX extensions and UI components
=====================  ======================================================

The book's extension (``book/_ext/course_html.py``) adds each file only to
the pages whose outputs need it. Run by ``make vendor`` (and so before every
``make book``). It is idempotent:
``manifest.json`` records what was vendored (package specs, Altair and
vl-convert versions, this script's hash) and the script does nothing when
the manifest matches and every file is present. ``--force`` redoes it.
npm runs in a temporary directory and only ``npm pack`` is used (no
node_modules, no install scripts); npm's own cache makes a redo fast.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR_SUBDIR = Path("book") / "_vendor"  # listed in html_static_path
OFFLINE = "offline"  # -> _build/html/_static/offline/ (the theme owns _static/vendor/)

# npm package specs. d3 and html-manager are the versions bertviz 1.4 and
# myst-nb ask for; the others are pinned so that a rebuild is reproducible.
NPM = {
    "requirejs": "requirejs@2.3.7",
    "d3": "d3@5.7.0",
    "jquery": "jquery@3.7.1",
    "html-manager": "@jupyter-widgets/html-manager@1.0.6",
    "mathjax": "mathjax@3.2.2",
}

# What Altair's HTML template checks; filled from the installed Altair.
SHIM_TEMPLATE = """\
/* Written by scripts/vendor_assets.py: do not edit.
 * Makes the CDN-loading outputs of Altair {altair}, bertviz and ipywidgets
 * use the vendored libraries loaded just before this file. */
(function () {{
  "use strict";
  var w = window;
  // This file's folder: the vendored files sit beside it.
  var here = document.currentScript ? document.currentScript.src.replace(/[^/]*$/, "") : null;
  // Altair's template skips loading a library when VEGA_DEBUG[lib_version]
  // equals the version it wants (its no-AMD branch).
  var versions = {versions};
  w.VEGA_DEBUG = Object.assign(w.VEGA_DEBUG || {{}}, versions);
  // SVG unless the embed options say otherwise: CSS scales an SVG chart down to a
  // phone's column (its viewBox keeps it sharp and its marks keep their events).
  if (typeof w.vegaEmbed === "function" && !w.vegaEmbed.courseSvg) {{
    var embed = w.vegaEmbed;
    var svgFirst = function (el, spec, opts) {{
      return embed(el, spec, Object.assign({{renderer: "svg"}}, opts || {{}}));
    }};
    Object.keys(embed).forEach(function (k) {{ svgFirst[k] = embed[k]; }});
    svgFirst.courseSvg = true;
    w.vegaEmbed = svgFirst;
  }}
  // Altair's AMD branch does require(["vega-embed"]); bertviz does
  // requirejs(["jquery", "d3"]). Named modules defined here win over the CDN
  // paths that those outputs configure.
  if (typeof w.define === "function" && w.define.amd) {{
    var modules = {{
      "vega": w.vega,
      "vega-lite": w.vegaLite,
      "vega-embed": w.vegaEmbed,
      "d3": w.d3,
      "jquery": w.jQuery
    }};
    // A page loads only the libraries its outputs need: define the modules it has.
    Object.keys(modules).forEach(function (name) {{
      var value = modules[name];
      if (value === undefined) return;
      if (!w.require.defined || !w.require.defined(name)) {{
        w.define(name, [], function () {{ return value; }});
      }}
    }});
    // embed-amd.js finds its icon fonts relative to its AMD module's URL,
    // which require.js would put under the page's folder; point it here.
    if (here) {{
      w.require.config({{paths: {{"@jupyter-widgets/html-manager/dist": here.replace(/\/$/, "")}}}});
    }}
  }}
  // ipywidgets' controls typeset labels with the MathJax 2 API
  // (MathJax.Hub.Queue, jupyter-widgets/ipywidgets#3829); Sphinx loads
  // MathJax 3, which has no Hub. Give it the one call the widgets make.
  function mathjax2Shim() {{
    var MJ = w.MathJax;
    if (!MJ || !MJ.version || String(MJ.version).charAt(0) !== "3" || MJ.Hub) return;
    MJ.Hub = {{
      Queue: function () {{
        Array.prototype.forEach.call(arguments, function (job) {{
          if (!Array.isArray(job) || job[0] !== "Typeset") return;
          var el = job[2];
          var ready = (MJ.startup && MJ.startup.promise) || Promise.resolve();
          ready.then(function () {{
            if (MJ.typesetPromise) return MJ.typesetPromise(el && el.nodeType ? [el] : undefined);
          }}).catch(function (err) {{ console.warn("vendor-shim: MathJax typeset failed", err); }});
        }});
      }}
    }};
  }}
  // MathJax is loaded with `defer`: it has run by DOMContentLoaded, before the
  // widgets render (on window load).
  if (document.readyState === "loading") {{
    document.addEventListener("DOMContentLoaded", mathjax2Shim);
  }} else {{
    mathjax2Shim();
  }}
  w.addEventListener("load", mathjax2Shim);
}})();
"""


def log(msg: str) -> None:
    print(f"vendor_assets: {msg}", flush=True)


def altair_versions() -> dict[str, str]:
    """The library versions the installed Altair's HTML template expects,
    keyed as the template keys ``VEGA_DEBUG`` (``vega_version`` etc.).

    Read from the rendered template itself, so the shim tracks whatever
    Altair release is installed; Altair's module constants are the fallback
    and must agree.
    """
    import altair as alt

    consts = {
        "vega_version": str(alt.VEGA_VERSION),
        "vegalite_version": str(alt.VEGALITE_VERSION),
        "vegaembed_version": str(alt.VEGAEMBED_VERSION),
    }
    chart = alt.Chart(alt.Data(values=[{"x": 1}])).mark_point().encode(x="x:Q")
    with alt.renderers.enable("html"):
        bundle = chart._repr_mimebundle_()
    if isinstance(bundle, tuple):
        bundle = bundle[0]
    html = bundle.get("text/html", "")
    found = dict(re.findall(r'maybeLoadScript\("([a-z-]+)",\s*"([^"]+)"\)', html))
    if not found:
        log("warning: could not read versions from Altair's HTML template; using altair constants")
        return consts
    from_template = {f"{lib.replace('-', '', 1)}_version": v for lib, v in found.items()}
    if from_template != consts:
        log(f"note: Altair template asks for {from_template}, constants say {consts}; using the template")
    return from_template


def vl_bundle_version(vegalite_version: str) -> str:
    """The vl_convert bundle version ('6.4') closest to Altair's Vega-Lite ('6.4.1')."""
    import vl_convert as vlc

    available = list(vlc.get_vegalite_versions())
    major_minor = ".".join(vegalite_version.split(".")[:2])
    if major_minor in available:
        return major_minor
    same_major = [v for v in available if v.split(".")[0] == major_minor.split(".")[0]]
    if not same_major:
        raise SystemExit(
            f"vl-convert {vlc.__version__} has no Vega-Lite {major_minor} (has {available}); "
            "upgrade vl-convert-python"
        )
    best = max(same_major, key=lambda v: tuple(int(p) for p in v.split(".")))
    log(f"warning: vl-convert has no Vega-Lite {major_minor}; using {best}")
    return best


def manifest_wanted() -> dict:
    import altair as alt
    import vl_convert as vlc

    versions = altair_versions()
    return {
        "script_sha256": hashlib.sha256(Path(__file__).read_bytes()).hexdigest(),
        "npm": NPM,
        "altair": alt.__version__,
        "altair_template_versions": versions,
        "vl_convert": vlc.__version__,
        "vl_bundle_version": vl_bundle_version(versions["vegalite_version"]),
    }


def npm_pack(specs: list[str], workdir: Path) -> dict[str, Path]:
    """``npm pack`` each spec into ``workdir``; return spec -> extracted package dir."""
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is needed to vendor the book's JavaScript (apt-get install npm)")
    res = subprocess.run(
        [npm, "pack", "--json", "--silent", *specs],
        cwd=workdir, check=True, capture_output=True, text=True,
    )
    info = json.loads(res.stdout)
    out = {}
    for spec, entry in zip(specs, info):
        dest = workdir / re.sub(r"[^A-Za-z0-9.]+", "_", spec)
        dest.mkdir()
        with tarfile.open(workdir / entry["filename"]) as tar:
            tar.extractall(dest, filter="data")
        out[spec] = dest / "package"
    return out


def copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


def build(out: Path, wanted: dict) -> list[str]:
    """Write every vendored file into ``out``; return their paths relative to it."""
    import vl_convert as vlc

    files: list[str] = []

    def put(rel: str, src: Path | None = None, text: str | None = None) -> None:
        dst = out / rel
        if src is not None:
            copy(src, dst)
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_text(text, encoding="utf-8")
        files.append(rel)

    with tempfile.TemporaryDirectory(prefix="vendor-npm-") as tmp:
        pk = npm_pack(list(NPM.values()), Path(tmp))
        put("d3.min.js", pk[NPM["d3"]] / "dist" / "d3.min.js")
        put("jquery.min.js", pk[NPM["jquery"]] / "dist" / "jquery.min.js")
        put("require.js", pk[NPM["requirejs"]] / "require.js")

        # embed-amd.js and the icon fonts its CSS refers to (next to it: the
        # bundle's public path is the script's own folder).
        dist = pk[NPM["html-manager"]] / "dist"
        put("embed-amd.js", dist / "embed-amd.js")
        bundle_text = (dist / "embed-amd.js").read_text(encoding="utf-8")
        for f in sorted(dist.iterdir()):
            if f.suffix in {".woff", ".woff2", ".ttf", ".eot", ".svg"} and f.name in bundle_text:
                put(f.name, f)

        # MathJax 3: the combined component Sphinx loads, plus what it loads
        # lazily from its own folder (fonts, TeX extensions, menu, a11y).
        es5 = pk[NPM["mathjax"]] / "es5"
        put("mathjax/tex-mml-chtml.js", es5 / "tex-mml-chtml.js")
        for sub in ("output/chtml/fonts", "input/tex/extensions", "ui", "a11y"):
            for f in sorted((es5 / sub).rglob("*")):
                if f.is_file() and f.suffix != ".map":
                    put(f"mathjax/{f.relative_to(es5).as_posix()}", f)

    # vega + vega-lite + vega-embed, one bundle; the IIFE keeps its top-level
    # const/function names out of the page's global scope.
    js = vlc.javascript_bundle(vl_version=wanted["vl_bundle_version"])
    header = (
        f"/* vega {vlc.get_vega_version()}, vega-lite {wanted['vl_bundle_version']}, "
        f"vega-embed {vlc.get_vega_embed_version()}: vl_convert {vlc.__version__} "
        "javascript_bundle(), wrapped by scripts/vendor_assets.py */\n"
    )
    put("vega-bundle.js", text=header + "(function () {\n" + js + "\n})();\n")

    shim = SHIM_TEMPLATE.format(
        altair=wanted["altair"],
        versions=json.dumps(wanted["altair_template_versions"], sort_keys=True),
    )
    put("vendor-shim.js", text=shim)
    return files


def up_to_date(out: Path, wanted: dict) -> bool:
    manifest = out / "manifest.json"
    if not manifest.is_file():
        return False
    try:
        have = json.loads(manifest.read_text())
    except json.JSONDecodeError:
        return False
    if have.get("inputs") != wanted:
        return False
    return all((out / rel).is_file() for rel in have.get("files", []))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--force", action="store_true", help="vendor again even if up to date")
    ap.add_argument("--root", type=Path, default=ROOT, help="the book's root folder (default: this repository)")
    args = ap.parse_args(argv)
    vendor_static = args.root.resolve() / VENDOR_SUBDIR
    out = vendor_static / OFFLINE

    wanted = manifest_wanted()
    if not args.force and up_to_date(out, wanted):
        log(f"up to date ({out})")
        return 0

    # Build into a fresh sibling folder, then swap it in, so an interrupted run
    # never leaves a half-written vendor folder that looks complete.
    vendor_static.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=vendor_static))
    try:
        files = build(staging, wanted)
        (staging / "manifest.json").write_text(
            json.dumps({"inputs": wanted, "files": sorted(files)}, indent=2) + "\n"
        )
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    size = sum((out / f).stat().st_size for f in files)
    log(f"wrote {len(files)} files ({size / 1e6:.1f} MB) to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
