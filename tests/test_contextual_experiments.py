"""coursekit.contextual_experiments: static vectors per token, a BERT's word vectors per
layer (pieces averaged; against transformers' BertModel hidden states), and the nearest
sense per layer."""

from __future__ import annotations

import pytest
import torch

from coursekit.bert import BertConfig, BertModel
from coursekit.contextual_experiments import SenseCentroids, bert_word_layers, static_layers
from coursekit.senses import at_positions, duck_sentences
from coursekit.wordpiece import SPECIAL_TOKENS, WordPiece
from coursekit.wordvectors import WordVectors

pytestmark = pytest.mark.usefixtures("one_thread")

VOCAB = [*SPECIAL_TOKENS, "the", "duck", "swam", "ate", "roast", "we", "##s", "dog", "."]
WP = WordPiece(VOCAB)
CONFIG = BertConfig(vocab_size=len(VOCAB), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                    intermediate_size=24, max_position_embeddings=32)


def test_static_layers_give_a_word_the_same_vector_in_every_sentence():
    vectors = WordVectors(("the", "duck", "swam"), torch.arange(6.0).view(3, 2), "test")
    a, b = static_layers(vectors, [["the", "duck", "swam"], ["duck", "unknown"]])
    assert a.shape == (1, 3, 2) and b.shape == (1, 2, 2)
    torch.testing.assert_close(a[0, 1], b[0, 0])
    torch.testing.assert_close(b[0, 1], torch.zeros(2))  # a word the vectors lack
    with pytest.raises(ValueError, match="vectors must be a WordVectors"):
        static_layers({"duck": torch.ones(2)}, [["duck"]])
    with pytest.raises(ValueError, match="non-empty list of words"):
        static_layers(vectors, [[]])


def test_bert_word_layers_average_the_pieces_of_transformers_hidden_states():
    from transformers import BertModel as HFBertModel

    from coursekit.bert import to_hf_bert

    torch.manual_seed(0)
    model = BertModel(CONFIG).eval()
    sentences = [["we", "ate", "roast", "duck", "."], ["the", "ducks", "swam"]]  # "ducks" = duck ##s
    layers = bert_word_layers(model, WP, sentences, batch_size=1)
    assert [tuple(l.shape) for l in layers] == [(3, 5, 16), (3, 3, 16)]
    hf = to_hf_bert(model).eval()
    ids = torch.tensor([WP.encode_pair("the ducks swam").input_ids])  # [CLS] the duck ##s swam [SEP]
    with torch.no_grad():
        ref = torch.stack(hf(ids, output_hidden_states=True).hidden_states)[:, 0]  # (L+1, P, H)
    torch.testing.assert_close(layers[1][:, 0], ref[:, 1], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(layers[1][:, 1], ref[:, 2:4].mean(1), atol=1e-5, rtol=1e-5)
    # batching and padding change nothing
    torch.testing.assert_close(bert_word_layers(model, WP, sentences)[1], layers[1], atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="same words under BERT's pre-tokenisation"):
        bert_word_layers(model, WP, [["we", "ate."]])
    with pytest.raises(ValueError, match="model must be a coursekit BertModel"):
        bert_word_layers(hf, WP, sentences)


def test_sense_centroids_name_the_nearest_sense_in_each_layer():
    feats = torch.tensor([[[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]],
                          [[1.0, 1.0], [1.0, 1.0], [1.0, 1.0], [1.0, 1.01]]])  # (2, 4, 2): layer 1 is useless
    labels = ["bird", "bird", "food", "food"]
    cents = SenseCentroids.fit(feats, labels)
    assert cents.classes == ("bird", "food") and cents.centroids.shape == (2, 2, 2)
    torch.testing.assert_close(cents.centroids.norm(dim=-1), torch.ones(2, 2))
    got = cents.nearest(torch.tensor([[0.2, 3.0], [5.0, 5.0]]))
    assert got[0][0] == "food" and got[0][1] == pytest.approx(float(torch.nn.functional.cosine_similarity(
        torch.tensor([0.2, 3.0]), cents.centroids[0, 1], dim=0)))
    with pytest.raises(ValueError, match="vectors must have shape \\(2, 2\\)"):
        cents.nearest(torch.ones(3))
    with pytest.raises(ValueError, match="at least two senses"):
        SenseCentroids.fit(feats, ["bird"] * 4)
    with pytest.raises(ValueError, match="N = len\\(labels\\) = 3"):
        SenseCentroids.fit(feats, labels[:3])


def test_duck_sentences_split_into_the_same_words_for_bert():
    vocab = sorted({w for s in duck_sentences() for w in s.tokens})
    wp = WordPiece([*SPECIAL_TOKENS, *vocab])
    model = BertModel(BertConfig(vocab_size=wp.vocab_size, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                                 intermediate_size=8, max_position_embeddings=40)).eval()
    data = duck_sentences()
    feats = at_positions(bert_word_layers(model, wp, data), [s.position for s in data])
    assert feats.shape == (2, 36, 8)
