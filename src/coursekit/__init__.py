"""coursekit: the tested code behind the course *Attention, from seq2seq to GANs*.

One flat module per chapter topic (``seq2seq``, ...) plus shared pieces
(``data``, ``train``, ``viz``, ``exercises``, ``utils``). Nothing happens at
import: no seeding, no device choice, no downloads. Import names explicitly::

    from coursekit.seq2seq import Seq2Seq, Seq2SeqConfig
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
