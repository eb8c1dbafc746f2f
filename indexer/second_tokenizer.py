"""The second model's tokenizer run by the sentencepiece library, with the wheel's ids.

The wheel ships a pure-Python port of sentencepiece, so that it needs no compiled dependency. A
build tokenizes every chunk and sentence, and the port was about a seventh of the second model's
build work; the library is six times faster and takes 26 MB where the port takes 38. The two
give the same ids except where characters the vocabulary lacks follow each other: the library
merges such a run into one unknown piece, the port keeps one unknown id per character, so the
run is split again here. The same ids as the port's on all 303 k chunk and sentence texts of the
reports, laws/, NCPQA's notices and the seeds. Without the library installed, the port is used.
"""

from __future__ import annotations

UNKNOWN, BEGIN, END = 0, 1, 2  # the bundled model's ids


class SecondTokenizer:
    """`encode` as the port's: token ids of one text or of a list of texts."""

    def __init__(self, model_file):
        import sentencepiece

        self.library = sentencepiece.SentencePieceProcessor(model_file=str(model_file))

    def encode(self, texts, out_type=int, add_bos: bool = True, add_eos: bool = True):
        one = isinstance(texts, str)
        out = [self._ids(text, add_bos, add_eos) for text in ([texts] if one else texts)]
        if out_type is not int:
            out = [[self.library.id_to_piece(i) for i in ids] for ids in out]
        return out[0] if one else out

    def _ids(self, text: str, add_bos: bool, add_eos: bool) -> list[int]:
        ids = self.library.encode(text, out_type=int)
        if not ids:
            ids = [UNKNOWN]  # the port's ids for a text with nothing left to tokenize
        elif UNKNOWN in ids:
            pieces = self.library.encode(text, out_type=str)  # an unknown piece is its own text
            ids = [x for i, piece in zip(ids, pieces) for x in ([i] if i != UNKNOWN else [UNKNOWN] * len(piece))]
        return [BEGIN] * add_bos + ids + [END] * add_eos


def load(model_file, port):
    """The library-backed tokenizer, or the port (`port()` makes it) without sentencepiece."""
    try:
        return SecondTokenizer(model_file)
    except ImportError:
        return port()
