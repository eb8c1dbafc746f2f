"""Milvus as a policyqa backend: `milvus://HOST:PORT/NAME` (Milvus Lite's server, Standalone or
Distributed; `POLICYQA_MILVUS_TOKEN` for a server with authentication).

Registered in pyproject.toml under the entry-point groups `policyqa.engines` (reading: search,
answers, the page) and `policyqa.publishers` (writing: `policyqa index CORPUS --to …`). Needs the
optional extra: pip install 'policyqa[milvus]'.
"""

from __future__ import annotations


def open_engine(location: str, model: str | None = None, **options):
    from .engine import MilvusEngine

    return MilvusEngine(location, model=model, **options)


def publish(corpus, location: str, **options):
    from .writer import publish as run

    return run(corpus, location, **options)
