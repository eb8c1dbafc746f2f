"""The layout of a policyqa library in Milvus: one set of collections per library name.

    <name>_meta       one row: the manifest (model, dimensions, fusion, counts, the committed
                      generation, the documents being retired, index parameters)
    <name>_docs       documents: metadata, file hash, generation
    <name>_texts      documents' cleaned text, in parts (a VARCHAR holds 60 000 bytes)
    <name>_sections   sections: key, path, offsets, parent
    <name>_chunks     chunks: text, words, m3e vector, second-model vector, BM25 sparse vector,
                      scalar fields for filters (year, region, type, document, generation)
    <name>_sentences  the second model's vector of every sentence, with its chunk
    <name>_terms      document frequency of every word (BM25's idf)

Every row carries the generation (`gen`) of the build that wrote it. A build writes its rows
under a new generation, then commits the manifest; readers see rows up to the committed
generation, minus the older rows of documents the last build replaced or removed (those are
deleted after the commit). A build that fails half-way leaves the previous rows searchable.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass

from indexer.errors import PolicyQAError

FORMAT_VERSION = 1
TEXT_PART = 20_000  # characters of a document's text per row (3 bytes each, under 65 535)
DUMMY = 2  # Milvus wants a vector field in every collection
_LOCATION = re.compile(r"^milvus://(?P<host>[^:/]+)(?::(?P<port>\d+))?/(?P<name>[A-Za-z_][A-Za-z0-9_]{0,40})/?$")
def layout() -> dict[str, int]:
    """Shards and replicas for a new library on Milvus Distributed (Lite has one of each)."""
    def setting(name: str) -> int:
        value = os.environ.get(name, "1")
        if not value.isdigit() or not 1 <= int(value) <= 64:
            raise MilvusProblem(f"{name} 应为 1 到 64 之间的整数（收到“{value}”）")
        return int(value)

    return {"shards": setting("POLICYQA_MILVUS_SHARDS"), "replicas": setting("POLICYQA_MILVUS_REPLICAS")}


PARTITIONS = 64  # partition-key buckets of chunks and sentences (Milvus's default is 16)
KINDS = ("meta", "docs", "texts", "sections", "chunks", "sentences", "terms")


class MilvusProblem(PolicyQAError):
    """Milvus unreachable, a library missing or made by another model; the message is for users."""


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    name: str

    @property
    def uri(self) -> str:
        return f"http://{self.host}:{self.port}"

    def collection(self, kind: str) -> str:
        return f"{self.name}_{kind}"


def parse(location: str) -> Target:
    m = _LOCATION.match(str(location).strip())
    if not m:
        raise MilvusProblem(f"Milvus 地址应为 milvus://主机:端口/库名（库名用字母、数字、下划线），收到“{location}”")
    return Target(m["host"], int(m["port"] or 19530), m["name"])


# pymilvus pings an idle connection every 10 s; a server that enforces gRPC's usual ping policy
# (Milvus Lite's) answers a burst of them with GOAWAY "too_many_pings" and the connection is
# lost (seen in the test suite under load). Once a minute is enough to notice a dead server.
GRPC_OPTIONS = {"grpc.keepalive_time_ms": 60_000}


def connect(target: Target):
    try:
        from pymilvus import MilvusClient
    except ImportError as e:
        raise MilvusProblem("使用 Milvus 需要 pymilvus：pip install 'policyqa[milvus]'") from e
    try:
        client = MilvusClient(uri=target.uri, token=os.environ.get("POLICYQA_MILVUS_TOKEN", ""), timeout=30,
                              grpc_options=GRPC_OPTIONS)
    except Exception as e:
        raise MilvusProblem(f"无法连接 Milvus（{target.uri}）：{_reason(e)}。请确认服务已启动、地址和端口正确") from e
    return Client(client, target)


MIN_SERVER = (2, 4)  # sparse vectors, their inverted index and grouped search


def check_server(client, target: Target) -> str:
    """The server's version, refused when it predates what the backend uses."""
    version = str(client.get_server_version())
    if version.startswith("milvus_lite"):
        return version
    m = re.match(r"v?(\d+)\.(\d+)", version)
    if m and (int(m[1]), int(m[2])) < MIN_SERVER:
        raise MilvusProblem(f"{target.uri} 上的 Milvus 为 {version}，policyqa 需要 Milvus "
                            f"{'.'.join(map(str, MIN_SERVER))} 或更新版本（稀疏向量与分组搜索）")
    return version


class Client:
    """MilvusClient whose failures reach users as MilvusProblem, with the server's reason."""

    def __init__(self, client, target: Target):
        self._client, self._target = client, target

    def __getattr__(self, name: str):
        method = getattr(self._client, name)
        if not callable(method):
            return method

        def call(*args, **kwargs):
            try:
                return method(*args, **kwargs)
            except MilvusProblem:
                raise
            except Exception as e:
                if type(e).__module__.split(".")[0] not in ("pymilvus", "grpc"):
                    raise
                raise MilvusProblem(f"Milvus（{self._target.uri}）操作失败：{_reason(e)}") from e

        return call


def _reason(e: Exception) -> str:
    message = getattr(e, "message", None) or str(e) or type(e).__name__
    return " ".join(str(message).split())[:300]


# Vector index tiers by rows (chunks or sentences), as indexer/vectors.py chooses locally.
EXACT_UP_TO = 50_000
HNSW_UP_TO = 2_000_000  # about what one query node holds in RAM with the graph


def index_for(rows: int) -> dict:
    """The vector index for a collection of `rows` vectors: exact while that is cheap, HNSW while
    the vectors fit in a query node's memory, DiskANN beyond (graph and vectors on SSD, compressed
    codes in RAM). Stored in the manifest; a build that crosses a tier rebuilds the index."""
    if rows <= EXACT_UP_TO:
        return {"index_type": "FLAT", "params": {}, "search": {}}
    if rows <= HNSW_UP_TO:
        return {"index_type": "HNSW", "params": {"M": 32, "efConstruction": 200}, "search": {"ef": 256}}
    return {"index_type": "DISKANN", "params": {}, "search": {"search_list": 256}}


VECTOR_FIELDS = {"chunks": ("dense", "second"), "sentences": ("vec",)}


def reindex(client, target: Target, kind: str, index: dict) -> None:
    """Replace the vector indexes of a collection (a build that crossed a size tier)."""
    name = target.collection(kind)
    client.release_collection(name)
    for field in VECTOR_FIELDS[kind]:
        client.drop_index(name, field)
        params = client.prepare_index_params()
        params.add_index(field, index_type=index["index_type"], metric_type="IP", params=index["params"])
        client.create_index(name, params)
    client.load_collection(name)


def create_collections(client, target: Target, dense_dim: int, second_dim: int, indexes: dict[str, dict],
                       kinds: tuple[str, ...] = KINDS) -> None:
    """The collections of a library that do not exist yet; `indexes` by kind (chunks, sentences)."""
    from pymilvus import DataType

    def schema(fields: list[tuple], vectors: dict[str, int]):
        s = client.create_schema(auto_id=False)
        for name, kind, extra in fields:
            s.add_field(name, kind, **extra)
        for name, dim in vectors.items():
            s.add_field(name, DataType.FLOAT_VECTOR, dim=dim)
        return s

    text = lambda n: {"max_length": n}  # noqa: E731
    key = {"is_primary": True, "max_length": 256}
    # Year filters are the commonest: a search with `year in [...]` reads only those partitions.
    partition = {"is_partition_key": True}
    layouts = {
        "meta": ([("key", DataType.VARCHAR, key), ("value", DataType.VARCHAR, text(65_535))], {"vec": DUMMY}),
        "docs": ([("id", DataType.VARCHAR, key), ("doc_id", DataType.VARCHAR, text(64)), ("gen", DataType.INT64, {}),
                  ("data", DataType.VARCHAR, text(16_384))], {"vec": DUMMY}),
        "texts": ([("id", DataType.VARCHAR, key), ("doc_id", DataType.VARCHAR, text(64)), ("gen", DataType.INT64, {}),
                   ("part", DataType.INT64, {}), ("text", DataType.VARCHAR, text(65_535))], {"vec": DUMMY}),
        "sections": ([("id", DataType.VARCHAR, key), ("doc_id", DataType.VARCHAR, text(64)), ("gen", DataType.INT64, {}),
                      ("data", DataType.VARCHAR, text(16_384))], {"vec": DUMMY}),
        "chunks": ([("id", DataType.INT64, {"is_primary": True}), ("doc_id", DataType.VARCHAR, text(64)),
                    ("gen", DataType.INT64, {}), ("year", DataType.INT64, partition), ("region", DataType.VARCHAR, text(64)),
                    ("doc_type", DataType.VARCHAR, text(64)), ("section_key", DataType.VARCHAR, text(256)),
                    ("section_chunks", DataType.INT64, {}), ("start", DataType.INT64, {}), ("end", DataType.INT64, {}),
                    ("text", DataType.VARCHAR, text(65_535)), ("words", DataType.VARCHAR, text(65_535)),
                    ("sparse", DataType.SPARSE_FLOAT_VECTOR, {})], {"dense": dense_dim, "second": second_dim}),
        "sentences": ([("id", DataType.INT64, {"is_primary": True}), ("chunk", DataType.INT64, {}),
                       ("doc_id", DataType.VARCHAR, text(64)), ("gen", DataType.INT64, {}), ("year", DataType.INT64, partition),
                       ("region", DataType.VARCHAR, text(64)), ("doc_type", DataType.VARCHAR, text(64))],
                      {"vec": second_dim}),
        "terms": ([("word", DataType.VARCHAR, key), ("df", DataType.INT64, {})], {"vec": DUMMY}),
    }
    for kind in kinds:
        fields, vectors = layouts[kind]
        name = target.collection(kind)
        if client.has_collection(name):
            continue
        params = client.prepare_index_params()
        for field_name in vectors:
            index = indexes.get(kind) or index_for(0)
            params.add_index(field_name, index_type=index["index_type"], metric_type="IP", params=index["params"])
        if kind == "chunks":
            params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
        # Shards (write channels) and partition buckets matter for the big collections only.
        partitions = {"num_partitions": PARTITIONS, "num_shards": layout()["shards"]} if kind in VECTOR_FIELDS else {}
        # Strong: a reader that sees a commit sees every row written before it (Milvus's default,
        # Bounded, may answer from a state some seconds old; Milvus Lite is always up to date).
        client.create_collection(name, schema=schema(fields, vectors), index_params=params, consistency_level="Strong",
                                 **partitions)
        if layout()["replicas"] > 1:  # more query nodes answer the same searches
            client.release_collection(name)
            client.load_collection(name, replica_number=layout()["replicas"])


def read_meta(client, target: Target) -> dict | None:
    if not client.has_collection(target.collection("meta")):
        return None
    rows = client.get(target.collection("meta"), ids=["manifest"], output_fields=["value"])
    return json.loads(rows[0]["value"]) if rows else None


def write_meta(client, target: Target, meta: dict) -> None:
    client.upsert(target.collection("meta"), [{"key": "manifest", "value": json.dumps(meta, ensure_ascii=False),
                                               "vec": [0.0] * DUMMY}])


CITATION_ROW_CHARS = 60_000  # under the meta value's 65 535


def write_citations(client, target: Target, counts: dict[str, int]) -> int:
    """The citation counts (indexer.citations) as meta rows `citations/0…`, split to fit a
    value; the number of rows, which the manifest records."""
    parts: list[dict[str, int]] = [{}]
    size = 0
    for doc_id, n in sorted(counts.items()):
        entry = len(doc_id) + len(str(n)) + 6
        if parts[-1] and size + entry > CITATION_ROW_CHARS:
            parts.append({})
            size = 0
        parts[-1][doc_id] = n
        size += entry
    rows = [{"key": f"citations/{i}", "value": json.dumps(p), "vec": [0.0] * DUMMY} for i, p in enumerate(parts) if p]
    if rows:
        client.upsert(target.collection("meta"), rows)
    return len(rows)


def read_citations(client, target: Target, meta: dict) -> dict[str, int]:
    ids = [f"citations/{i}" for i in range(int(meta.get("citation_rows") or 0))]
    counts: dict[str, int] = {}
    for row in client.get(target.collection("meta"), ids=ids, output_fields=["value"]) if ids else []:
        counts.update(json.loads(row["value"]))
    return counts


WRITER_STALE_SECONDS = 600  # a writer that has not written for this long is taken to be gone


def claim_writer(client, target: Target, me: str, force: bool = False) -> None:
    """One writer per library: the generations assume it (and Milvus Lite allows no other).
    A lease row, renewed as the writer works; not a lock (Milvus has no compare-and-set),
    but it stops the common mistake of two builds started on one library."""
    rows = client.get(target.collection("meta"), ids=["writer"], output_fields=["value"])
    if rows and not force:
        held = json.loads(rows[0]["value"])
        age = time.time() - float(held.get("renewed", 0))
        if held.get("by") != me and age < WRITER_STALE_SECONDS:
            raise MilvusProblem(f"另一个写入进程（{held.get('by')}）正在写入库 {target.name}（{int(age)} 秒前仍在写）："
                                f"请等它完成；若它已中止，{WRITER_STALE_SECONDS // 60} 分钟后可再写入")
    renew_writer(client, target, me)


def renew_writer(client, target: Target, me: str) -> None:
    value = json.dumps({"by": me, "renewed": time.time()}, ensure_ascii=False)
    client.upsert(target.collection("meta"), [{"key": "writer", "value": value, "vec": [0.0] * DUMMY}])


def release_writer(client, target: Target) -> None:
    client.delete(target.collection("meta"), ids=["writer"])


def visible(meta: dict) -> str:
    """The rows a reader sees: up to the committed generation, not the retired older rows."""
    expr = f"gen <= {int(meta['gen'])}"
    retire = meta.get("retire") or []
    if retire:
        expr += f" and not (doc_id in {json.dumps(retire, ensure_ascii=False)} and gen < {int(meta['gen'])})"
    return expr


def quote(value: str) -> str:
    return json.dumps(str(value), ensure_ascii=False)


QUERY_PAGE = 10_000  # rows per query call (Milvus refuses a larger limit)


def query_all(client, collection: str, expr: str, fields: list[str]) -> list[dict]:
    """Every row of `collection` matching `expr`, a page at a time."""
    out: list[dict] = []
    while True:
        page = client.query(collection, filter=expr, output_fields=fields, limit=QUERY_PAGE, offset=len(out))
        out += page
        if len(page) < QUERY_PAGE:
            return out
