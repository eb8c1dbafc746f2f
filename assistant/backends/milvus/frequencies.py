"""BM25's document frequencies, read from a library's `terms` collection as words are asked
for: a library's vocabulary (millions of words at scale) is not loaded at start-up."""

from __future__ import annotations

from collections.abc import Mapping

MAX_WORD_BYTES = 250  # the key's max_length in schema.py; longer words are not stored


class Frequencies(Mapping):
    def __init__(self, client, collection: str):
        self.client, self.collection = client, collection
        self.known: dict[str, int] = {}

    def fetch(self, words) -> None:
        """Read the words not yet known in one request."""
        wanted = [w for w in dict.fromkeys(words) if w not in self.known]
        if not wanted:
            return
        ask = [w for w in wanted if len(w.encode("utf-8")) <= MAX_WORD_BYTES]
        found = {}
        for i in range(0, len(ask), 1_000):
            rows = self.client.get(self.collection, ids=ask[i:i + 1_000], output_fields=["df"])
            found.update({r["word"]: int(r["df"]) for r in rows})
        self.known.update({w: found.get(w, 0) for w in wanted})

    def __getitem__(self, word: str) -> int:
        value = self.get(word)
        if not value:
            raise KeyError(word)
        return value

    def get(self, word, default=None):
        self.fetch([word])
        return self.known.get(word) or default

    def __contains__(self, word) -> bool:
        return bool(self.get(word))

    def __iter__(self):
        return iter(w for w, n in self.known.items() if n)

    def __len__(self) -> int:
        return sum(1 for n in self.known.values() if n)
