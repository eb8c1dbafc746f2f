"""How an index's search signals are fused: settings stored in the index manifest
(`retrieval.fusion`) beside the other index settings, and the arithmetic on them.

Signals per candidate chunk (assistant/search/retrieve.py computes them):

- `dense`: m3e-small cosine of the question (optionally mixed with the question plus its
  thesaurus expansions);
- `bm25`: BM25 over jieba words, expansion words at a lower weight, over the best of the query;
- `second`: the Universal Sentence Encoder's cosine with the chunk and with its best sentence;
- `coverage`: the IDF-weighted share of the question's words found in the chunk's own text
  (not its title), which tells apart passages of one document that a title matches alike;
- `cited`: the prior of the chunk's document from how many other documents cite it by title,
  plus its article's from how many cite it by title and number (indexer/citations.py), added
  after the others in spreads of the fused score, so a basic law that its regulations and
  interpretations name ranks before them when they say the same.

Ranking (`zscore`, the default): each signal is standardised over the query's candidate pool
(minus its mean, over its spread), then weighted and summed. A signal's scale then does not
depend on the corpus or on the question: the same weights hold on plans, notices and statutes
(bench/tune_fusion.py measures them on every development set together). `score` (a weighted
sum of the raw signals) and `rrf` (reciprocal ranks) remain for comparison and older indexes.

A result's shown relevance (`得分`, and the answer's relevance decision) needs evidence that is
absolute across questions, which pool-standardised values are not: `relevance` is a fixed
weighted sum of the raw signals over its best possible value.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

# The absolute relevance: the raw cosines and the coverage, which mean the same for every
# question (the BM25 share is relative to the query's best and so is left out), weighted as
# bench/calibrate_answers.py found them to separate on-topic from off-topic questions best,
# over their best possible sum.
RELEVANCE_WEIGHTS = {"dense": 1.0, "second": 0.5, "coverage": 0.1}


@dataclass(frozen=True)
class Fusion:
    method: str = "zscore"
    dense_weight: float = 1.0
    # Share of the m3e score from the question plus its expansions: 0 scores the same as 0.3,
    # and the long expanded text costs ~50 ms of model time per query.
    expanded_dense: float = 0.0
    bm25_weight: float = 0.7
    expansion_weight: float = 0.6  # an expansion word counts this much of a question's own word
    # The Universal Sentence Encoder, and the coverage of the question's words. Chosen on every
    # development set together (bench/tune_fusion.py --sweep, one run, with a compound's pieces
    # at half weight and copies folded): 0.8 / 0.2 → 0.4 / 0.3 keeps the seeds (0.993, 0.925),
    # takes NCPQA answer@5 0.945 → 0.946 and doc hit@5 0.966 → 0.971, EQUALS cover@5 0.508 →
    # 0.510, LawBench 0.206 → 0.210 (touch@5 0.537 → 0.532 and 0.365 → 0.355); 0.4 / 0.25 and
    # 0.5 / 0.3 are no better anywhere, 0.4 / 0.2 loses 0.005 on NCPQA.
    second_weight: float = 0.4
    second_sentences: float = 0.75  # share of its score from the chunk's best sentence
    coverage_weight: float = 0.3
    # In spreads of the query's fused scores, for a document cited by FULL_AT others. On every
    # development set together (bench/tune_fusion.py --sweep cited_weight=…): 0 → 2 lifts EQUALS
    # cover@5 0.336 → 0.486 and LawBench 0.124 → 0.194, the seeds and NCPQA unchanged; 3–4 gain
    # 0.011 more, 6 falls back (0.448): 2 keeps a margin from where authority outweighs content.
    # The article counts (full at ARTICLE_FULL_AT, added to the document's) then take EQUALS to
    # 0.501 and LawBench to 0.198; at twice their share they fall to 0.477 and 0.186.
    cited_weight: float = 2.0
    rrf_k: int = 60

    @classmethod
    def from_manifest(cls, manifest: dict) -> Fusion:
        conf = (manifest.get("retrieval") or {}).get("fusion") or {}
        known = {k: v for k, v in conf.items() if k in cls.__dataclass_fields__}
        if "method" not in known:
            known["method"] = "score"
        if known["method"] == "score":  # indexes written before the coverage signal
            known.setdefault("coverage_weight", 0.0)
            known.setdefault("cited_weight", 0.0)
            known.setdefault("bm25_weight", 0.25)
        return cls(**known)

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def weights(self) -> dict[str, float]:
        return {"dense": self.dense_weight, "bm25": self.bm25_weight, "second": self.second_weight,
                "coverage": self.coverage_weight}

    def parts(self, s: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        dense = (1 - self.expanded_dense) * s["cos_q"] + self.expanded_dense * s["cos_qe"]
        bm25 = s["bm25_words"] + self.expansion_weight * s["bm25_expansions"]
        top = float(bm25.max()) if len(bm25) else 0.0
        lexical = bm25 / top if top > 0 else np.zeros_like(bm25)
        out = {"dense": dense, "bm25": lexical}
        if "use_chunk" in s:
            out["second"] = (1 - self.second_sentences) * s["use_chunk"] + self.second_sentences * s["use_sent"]
        if "coverage" in s:
            out["coverage"] = s["coverage"]
        return out

    def combine(self, s: dict[str, np.ndarray]) -> np.ndarray:
        """The ranking score of every candidate (comparable within one query only)."""
        parts = self.parts(s)
        weights = self.weights
        if self.method == "rrf":
            total = np.zeros(len(parts["dense"]))
            for name, values in parts.items():
                ranks = np.empty(len(values))
                ranks[np.argsort(-values)] = np.arange(1, len(values) + 1)
                if name in ("bm25", "coverage"):
                    ranks[values <= 0] = np.inf
                total += weights[name] / (self.rrf_k + ranks)
            return total
        if self.method == "zscore":
            total = sum(weights[name] * _standardised(values) for name, values in parts.items() if weights[name])
        else:
            total = sum(weights[name] * values for name, values in parts.items())
        return self.with_citations(total, s.get("cited"))

    def with_citations(self, total: np.ndarray, cited: np.ndarray | None) -> np.ndarray:
        if cited is None or not self.cited_weight or len(total) < 2 or not cited.any():
            return total
        return total + self.cited_weight * float(total.std()) * cited

    def relevance(self, parts: dict[str, np.ndarray]) -> np.ndarray:
        """Absolute evidence of relevance in 0…1, comparable across questions."""
        total = sum(w for name, w in RELEVANCE_WEIGHTS.items() if name in parts)
        raw = sum(w * parts[name] for name, w in RELEVANCE_WEIGHTS.items() if name in parts)
        return np.clip(raw / total, 0.0, 1.0)


def _standardised(values: np.ndarray) -> np.ndarray:
    spread = float(values.std()) if len(values) > 1 else 0.0
    return (values - values.mean()) / spread if spread > 1e-9 else np.zeros_like(values)
