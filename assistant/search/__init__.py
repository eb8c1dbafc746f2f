"""Finding passages: the question's plan (cleaning, limits, thesaurus, references), the local index and its
BM25 postings, fusion into results, the SearchEngine protocol every backend implements, and evaluation.
May import: indexer."""
