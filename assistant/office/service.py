"""The assistant as a long-running service for the page: one search engine shared by
every request; a local index is swapped for the new one when a rebuild lands. Answers,
uploads and removals go through here."""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

from indexer import store
from indexer.build import BuildReport, Progress, build_index
from indexer.embed import Embedder, load_embedder
from indexer.errors import PolicyQAError
from indexer.report import BuildCancelled
from indexer.store import DocumentRow

from ..answers.answer import Answerer
from ..answers.llm import LLMConfig
from ..answers.record import Answer
from ..search import engine as engines
from ..search.engine import SearchEngine
from ..search.index import load_index
from ..search.retrieve import Filters, Searcher, SearchResult
from .jobs import BuildJobs
from .journal import Audit, Feedback, beside, library_home
from .library import (
    KEEP_BOTH,
    LibraryError,
    RemovedFile,
    Upload,
    add_files,
    list_removed,
    remove_source,
    restore_removed,
)
from .visibility import LABELS, PUBLIC, VisibilityFile, visibility_of

log = logging.getLogger("policyqa.service")


class Service:
    def __init__(self, index_dir: Path, corpus_dir: Path | None = None, model: str | None = None,
                 embedder: Embedder | None = None, llm: LLMConfig | None = None, today: str | None = None,
                 journal_dir: Path | None = None):
        self.location = str(index_dir)
        self.local = engines.is_local(index_dir)
        self.index_dir = Path(index_dir)
        self._corpus = Path(corpus_dir) if corpus_dir else None
        self.model = model
        self.llm = llm
        self.today = today  # what `今年` means (default: the index's newest year)
        home = library_home(self.location)
        where = Path(journal_dir) / Path(str(index_dir)).name if journal_dir else home
        self.audit = Audit(beside(where, "audit.jsonl"))
        self.feedback = Feedback(beside(where, "feedback.jsonl"))
        # the library's own, wherever its journal goes: the CLI finds it beside the index too
        self.visibility = VisibilityFile(beside(home, "visibility.json"))
        self._hidden: tuple[tuple, frozenset[str]] | None = None
        self._embedder = embedder
        self._lock = threading.Lock()
        self._searcher: SearchEngine | None = None
        self._answerer: Answerer | None = None
        self._stamp: tuple | None = None
        self.jobs = BuildJobs()  # the build in progress, for every administrator to see and cancel

    # -- the current index -------------------------------------------------------------

    def _manifest_stamp(self) -> tuple | None:
        try:
            st = (self.index_dir / store.MANIFEST).stat()
            return (st.st_ino, st.st_mtime_ns, st.st_size)
        except OSError:
            return None

    def ready(self) -> bool:
        """Whether there is an index to read (a library created empty has none until its first upload)."""
        return not self.local or self._manifest_stamp() is not None

    def searcher(self) -> SearchEngine:
        """The current engine; a local one reloads when the index on disk was replaced.

        Until a new index has loaded completely, requests keep the old one.
        """
        if not self.local:
            return self._remote()
        stamp = self._manifest_stamp()
        if self._searcher is not None and (stamp is None or stamp == self._stamp):
            return self._searcher
        with self._lock:
            stamp = self._manifest_stamp()
            if self._searcher is not None and (stamp is None or stamp == self._stamp):
                return self._searcher
            try:
                index = load_index(self.index_dir, model=self.model)
            except store.IndexProblem:
                if self._searcher is not None:
                    return self._searcher  # a swap in progress: keep answering from the old index
                raise
            self._searcher = Searcher(index, self.embedder(index.model_name))
            self._answerer = Answerer(self._searcher, today=self.today)
            self._stamp = stamp
            return self._searcher

    def _remote(self) -> SearchEngine:
        with self._lock:
            if self._searcher is None:
                self._searcher = engines.open_engine(self.location, model=self.model)
                self._answerer = Answerer(self._searcher, today=self.today)
            return self._searcher

    def library_name(self) -> str:
        """The library's name for other systems (an OpenAI client's model, the MCP server): its
        index folder's name, or the last part of a backend's address."""
        name = Path(os.path.realpath(self.index_dir)).name if self.local else self.location.rstrip("/").rsplit("/", 1)[-1]
        return re.sub(r"[^\w.-]+", "-", name).strip("-") or "library"

    def stamp(self) -> str:
        """Changes whenever a rebuild lands: the page compares it to refresh its lists."""
        if not self.local:
            engine = self.searcher()
            refresh = getattr(engine, "refresh", None)
            if refresh is not None:
                refresh()
            return f"remote-{(engine.manifest or {}).get('gen', '')}"
        stamp = self._manifest_stamp()
        return "-".join(map(str, stamp)) if stamp else "none"

    def warm_up(self) -> None:
        """Load the index, the models and the word segmenter now, so the first question is fast."""
        try:
            self.searcher().search("发展党员", k=1)
        except PolicyQAError:
            pass  # the page shows what is wrong with the index
        except Exception as e:  # runs in a background thread: the first request will report it
            log.warning("预加载索引失败：%s: %s", type(e).__name__, e)

    def answerer(self) -> Answerer:
        searcher = self.searcher()
        answerer = self._answerer
        return answerer if answerer is not None and answerer.searcher is searcher else Answerer(searcher, today=self.today)

    def embedder(self, model_name: str) -> Embedder:
        if self._embedder is None or self._embedder.name != model_name:
            self._embedder = load_embedder(model_name)
        return self._embedder

    @property
    def engine(self) -> SearchEngine:
        return self.searcher()

    @property
    def corpus(self) -> Path | None:
        """The corpus folder: as given, else the one the index was built from. Indexes of
        earlier versions recorded it relative to where the build ran; that is taken relative
        to the index's own folder (where `make run` builds), never to this process's."""
        if self._corpus is not None:
            return self._corpus
        if not self.local:
            return None  # a backend's library: the folder it is written from is given with --corpus
        try:
            corpus = store.read_manifest(self.index_dir).get("corpus")
        except store.IndexProblem:
            return None
        if not corpus:
            return None
        path = Path(corpus)
        return path if path.is_absolute() else Path(os.path.realpath(self.index_dir)).parent / path

    # -- internal documents ------------------------------------------------------------------

    def hidden(self) -> frozenset[str]:
        """The doc ids of the library's internal documents (hidden from its plain readers)."""
        engine, internal = self.engine, self.visibility.internal()
        key = (id(engine), internal)
        if self._hidden is None or self._hidden[0] != key:
            ids = frozenset(d.doc_id for d in engine.documents() if d.source in internal) if internal else frozenset()
            self._hidden = (key, ids)
        return self._hidden[1]

    def set_visibility(self, doc_ids: list[str], visibility: str) -> tuple[list[DocumentRow], bool]:
        """Mark documents internal or public (no rebuild: it takes effect at the next request);
        the documents, and whether anything changed."""
        visibility = visibility_of(visibility)
        docs = [self.engine.document(d) for d in doc_ids]
        if not docs or any(d is None for d in docs):
            raise LibraryError("索引中没有这个文档")
        return docs, self.visibility.set([d.source for d in docs], visibility)

    def visibility_label(self, source: str) -> str:
        return LABELS[self.visibility.of(source)]

    # -- questions ---------------------------------------------------------------------

    def search(self, query: str, k: int = 5, filters: Filters | None = None) -> list[SearchResult]:
        return self.searcher().search(query, k=k, filters=filters)

    def ask(self, question: str, k: int = 5, filters: Filters | None = None) -> Iterator[Answer]:
        answerer = self.answerer()
        if self.llm is not None:
            yield from answerer.generate(question, self.llm, k, filters)
        else:
            yield answerer.answer(question, k, filters)

    # -- the corpus ----------------------------------------------------------------------

    def _corpus_or_error(self) -> Path:
        corpus = self.corpus
        if not self.local:
            try:
                engines.publisher_for(self.location)
            except PolicyQAError as e:
                raise LibraryError(f"{e}；因此不能在此添加或移除文档") from e
            if corpus is None:
                raise LibraryError(f"这个库在 {engines.scheme_of(self.location)} 中：启动网页时用 --corpus 指定写入它的"
                                   "文档文件夹，即可在此添加或移除文档")
        if corpus is None:
            raise LibraryError("不知道文档文件夹在哪里：请用 --corpus 指定")
        return corpus

    def reindex(self, progress: Progress | None = None, removing: frozenset[str] = frozenset(),
                user: str = "", what: str = "重新建立索引") -> BuildReport:
        with self.jobs.running(what, user, progress) as step:
            return self._build(step, removing)

    def _build(self, step: Progress, removing: frozenset[str] = frozenset()) -> BuildReport:
        corpus = self._corpus_or_error()
        if not self.local:
            return self._publish(corpus, step, removing)
        model = self.engine.model_name if store.exists(self.index_dir) else (self.model or None)
        embedder = self.embedder(model) if model else None
        return build_index(corpus, self.index_dir, model=model, embedder=embedder, progress=step, removing=removing)

    def _publish(self, corpus: Path, progress: Progress | None, removing: frozenset[str]) -> BuildReport:
        """Write the corpus into the backend's library, then follow the new commit at once."""
        engine = self.searcher()
        report = engines.publisher_for(self.location)(corpus, self.location, model=engine.model_name,
                                                      progress=progress, removing=removing)
        refresh = getattr(engine, "refresh", None)
        if refresh is not None:
            refresh(force=True)
        return report

    def upload(self, files: list[tuple[Path, str]], progress: Progress | None = None,
               on_conflict: str = KEEP_BOTH, user: str = "",
               visibility: str = PUBLIC) -> tuple[list[Upload], BuildReport | None]:
        """Add files to the corpus (each checked first, none overwriting another) and index them.
        A file the build still skips is taken out of the corpus again and reported; a cancelled
        build takes them all out again (into .removed/) and puts back what they replaced. Files
        uploaded as internal are marked so before the index that holds them lands."""
        visibility = visibility_of(visibility)
        corpus = self._corpus_or_error()
        uploads: list[Upload] = []
        try:
            # one job from the first file's check (which may read a scan page by page) to the index
            with self.jobs.running(f"上传 {len(files)} 个文件", user, progress) as step:
                for pair in files:
                    uploads += add_files(corpus, [pair], on_conflict, step)
                saved = [u.saved_as for u in uploads if u.saved]
                if saved:
                    self.visibility.set(saved, visibility)
                report = self._build(step) if saved else None
        except BuildCancelled:
            for u in uploads:
                if u.saved:
                    remove_source(corpus, u.saved_as, reason="建索引已取消", user=user)
                if u.replaced is not None:
                    restore_removed(corpus, u.replaced.stored)
            raise
        if report is not None:
            reasons = {s.source: s.reason for s in report.skipped}
            for u in uploads:
                if u.saved and u.saved_as in reasons:
                    remove_source(corpus, u.saved_as, reason="上传后无法建立索引")
                    u.action, u.reason, u.saved_as = "refused", reasons[u.saved_as], ""
        self.searcher()
        return uploads, report

    def removed(self) -> list[RemovedFile]:
        """Files taken out of the corpus that can be restored."""
        return list_removed(self.corpus) if self.corpus is not None else []

    def remove(self, doc_id: str, progress: Progress | None = None, user: str = "") -> tuple[RemovedFile, BuildReport]:
        doc = self.engine.document(doc_id)
        if doc is None:
            raise LibraryError("索引中没有这个文档")
        corpus = self._corpus_or_error()
        removed = remove_source(corpus, doc.source, reason="从网页移除", user=user)
        try:
            report = self.reindex(progress, removing=frozenset({doc.source}), user=user, what=f"移除《{doc.title}》")
        except BuildCancelled:
            restore_removed(corpus, removed.stored)
            raise
        self.searcher()
        return removed, report

    def restore(self, stored: str, progress: Progress | None = None, user: str = "") -> tuple[str, BuildReport]:
        """Put a removed file back into the corpus and index it again."""
        corpus = self._corpus_or_error()
        source = restore_removed(corpus, stored)
        try:
            report = self.reindex(progress, user=user, what=f"恢复 {source}")
        except BuildCancelled:
            remove_source(corpus, source, reason="建索引已取消", user=user)
            raise
        self.searcher()
        return source, report
