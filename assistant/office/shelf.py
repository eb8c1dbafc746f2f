"""The libraries one server holds, and what each person reads of them.

A server started with a libraries file (`policyqa serve --libraries FILE`) holds each library as
a `Service`; without one it holds its one index, which every user reads (as before libraries).
`Shelf.view(person)` is what the page, the API and MCP use for everything that reaches a
document: the engine is the library the person may read, or those libraries searched as one
(search/federation.py); a library the person may not read is not in it, so no route can reach
its documents. Within a library, the documents marked internal (visibility.py) are out of sight
(search/veil.py) for a person who may read the library but not its internal documents.
Changes (uploads, removals, restores, rebuilds, visibility) go to a library the person may edit
(`editing`): its editors and administrators; one index without a libraries file is changed by
administrators.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

from indexer import store
from indexer.embed import load_embedder
from indexer.errors import PolicyQAError

from ..answers.answer import Answerer
from ..answers.record import Answer
from ..search.engine import SearchEngine, is_local
from ..search.federation import Federation
from ..search.query import Filters
from ..search.results import SearchResult
from ..search.veil import Veiled
from .libraries import LibrariesFile, Library, Person, may_edit, may_read, may_read_internal
from .service import Service

EVERYONE = "*"
# Combinations of libraries kept searchable as one (readers of different sets take turns; each
# built anew would merge every library's word counts again on a question's path).
KEPT_COMBINATIONS = 8


class Refused(PolicyQAError):
    """Something a person may not do or see; the message is for users (403 in the API)."""


class NothingToRead(Refused):
    """A person with no library to read."""


class NotAllowedToEdit(Refused):
    """A change to a library the person may not edit."""


class Shelf:
    def __init__(self, services: dict[str, Service], registry: LibrariesFile | None = None,
                 follow: dict | None = None):
        self.services = services
        self.registry = registry
        self.default = next(iter(services.values()))  # its journals are the server's
        # Serving every library of the file: libraries added, renamed or removed in it while the
        # server runs are followed (the settings a new one's Service is made with).
        self._follow = follow
        self._lock = threading.Lock()
        self._together: dict[tuple, tuple[Federation, Answerer]] = {}
        self._veiled: dict[str, tuple[tuple, Veiled, Answerer]] = {}

    @classmethod
    def single(cls, service: Service) -> Shelf:
        return cls({service.library_name(): service})

    @classmethod
    def from_file(cls, registry: LibrariesFile, names: list[str] | None = None, model: str | None = None, llm=None,
                  today: str | None = None, journal_dir: Path | None = None) -> Shelf:
        """A Service per library of the file (or of those named), sharing one embedding model."""
        services: dict[str, Service] = {}
        settings = {"model": model, "embedder": None, "llm": llm, "today": today, "journal_dir": journal_dir}
        for lib in [registry.get(n) for n in dict.fromkeys(names)] if names else registry.libraries():
            location = registry.location(lib)
            if settings["embedder"] is None and is_local(location):
                try:
                    settings["embedder"] = load_embedder(model or store.read_manifest(Path(location))["model"]["name"])
                except (store.IndexProblem, KeyError):
                    pass  # that library reports its own problem when it is used
            services[lib.name] = _service(registry, lib, settings)
        if not services:
            raise NothingToRead(f"库文件 {registry.path} 中还没有库（policyqa library add 名称 --index 索引文件夹）")
        return cls(services, registry, follow=None if names else settings)

    @property
    def several(self) -> bool:
        return self.registry is not None and len(self.services) > 1

    def libraries(self) -> list[Library]:
        """The libraries served, with their permissions as the file says now."""
        if self.registry is None:
            return [Library(name, str(s.location), readers=[EVERYONE]) for name, s in self.services.items()]
        listed = self.registry.libraries()
        if self._follow is not None:
            self._follow_file(listed)
        return [lib for lib in listed if lib.name in self.services]

    def _follow_file(self, listed: list[Library]) -> None:
        """Serve the file as it is now: a new library gets its Service (the same model), a renamed
        one keeps its own (same index), a removed one is no longer served (its folders stay)."""
        names = [lib.name for lib in listed]
        if names == list(self.services):
            return
        with self._lock:
            by_location = {s.location: n for n, s in self.services.items()}
            services = {}
            for lib in listed:
                kept = self.services.get(lib.name)
                if kept is None:
                    old = by_location.get(self.registry.location(lib))
                    kept = self.services[old] if old is not None and old not in names else None
                services[lib.name] = kept or _service(self.registry, lib, self._follow)
            self.services = services  # whole: requests iterating the old one are undisturbed

    def readable(self, person: Person) -> list[str]:
        return [lib.name for lib in self.libraries() if may_read(lib, person)]

    def view(self, person: Person) -> LibraryView:
        """What a person reads: the libraries they may read that have an index yet."""
        libraries = self.libraries()
        services = self.services  # as now: a library renamed meanwhile does not disturb this view
        libraries = [lib for lib in libraries if may_read(lib, person) and services[lib.name].ready()]
        return LibraryView(self, {lib.name: services[lib.name] for lib in libraries},
                           {lib.name for lib in libraries if may_read_internal(lib, person)})

    # -- changes -----------------------------------------------------------------------------

    def editable(self, person: Person) -> list[str]:
        """The libraries this person may change, in the file's order."""
        if self.registry is None:
            return list(self.services) if person.is_admin else []
        return [lib.name for lib in self.libraries() if may_edit(lib, person)]

    def editing(self, person: Person, name: str | None = None) -> tuple[str, Service]:
        """The library a change goes to: the one named, or the first the person may edit."""
        names = self._editable_or_refuse(person)
        name = name or names[0]
        if name not in names:
            raise NotAllowedToEdit(f"你没有库“{name}”的编辑权限" if name in self.services else f"没有名为“{name}”的库")
        return name, self.services[name]

    def editing_document(self, person: Person, doc_id: str) -> tuple[str, Service]:
        """The library holding a document, if the person may edit it (else one refusal for both,
        which says nothing of libraries they may not read)."""
        for name in self._editable_or_refuse(person):
            service = self.services.get(name)
            if service is not None and service.ready() and service.engine.document(doc_id) is not None:
                return name, service
        raise NotAllowedToEdit("找不到这个文档，或你没有它所在库的编辑权限")

    def _editable_or_refuse(self, person: Person) -> list[str]:
        names = self.editable(person)
        if not names and self.registry is None:  # one library: its administrators change it
            raise NotAllowedToEdit("需要管理员权限：读者可以提问、检索和导出，上传、移除、恢复、重建和设定可见范围由管理员操作")
        if not names:
            raise NotAllowedToEdit("需要编辑权限：上传、移除、恢复、重建和设定可见范围由库的编辑和管理员操作")
        return names

    # -- what people see -------------------------------------------------------------------

    def seen(self, name: str, service: Service, internal: bool) -> tuple[SearchEngine, Answerer]:
        """A library's engine and answerer as a reader sees it: with its internal documents, or
        without them (one veiled engine per library, kept while the index and the marks last)."""
        hidden = frozenset() if internal else service.hidden()
        if not hidden:
            return service.engine, service.answerer()
        engine = service.engine
        key = (id(engine), hidden)
        with self._lock:
            found = self._veiled.get(name)
            if found is None or found[0] != key:
                veiled = Veiled(engine, hidden)
                found = (key, veiled, Answerer(veiled, today=service.today))
                self._veiled[name] = found
            return found[1], found[2]

    def together(self, services: dict[str, Service], internal: set[str]) -> tuple[Federation, Answerer]:
        """The libraries searched as one, kept while none of them was rebuilt or re-marked."""
        engines = {name: self.seen(name, service, name in internal)[0] for name, service in services.items()}
        key = tuple((name, id(engine)) for name, engine in engines.items())
        with self._lock:
            found = self._together.pop(key, None)
            if found is None:
                federation = Federation(engines)
                found = (federation, Answerer(federation, today=self.default.today))
            self._together[key] = found  # the most recent last
            while len(self._together) > KEPT_COMBINATIONS:  # a rebuilt library's old ones age out
                self._together.pop(next(iter(self._together)))
            return found


def _service(registry: LibrariesFile, lib: Library, settings: dict) -> Service:
    corpus, location = registry.location(lib, "corpus"), registry.location(lib)
    embedder = settings["embedder"]
    model = settings["model"]
    if model is None and embedder is not None and is_local(location) and not store.exists(Path(location)):
        model = embedder.name  # a library created empty is built with the model the others use
    return Service(location, corpus_dir=Path(corpus) if corpus else None, model=model,
                   embedder=embedder, llm=settings["llm"], today=settings["today"], journal_dir=settings["journal_dir"])


class LibraryView:
    """What one person reads: the libraries they may read, as one engine."""

    def __init__(self, shelf: Shelf, services: dict[str, Service], internal: set[str]):
        self.shelf = shelf
        self.services = services
        self.names = list(services)
        self.internal = internal  # the libraries whose internal documents they read

    def _check(self) -> None:
        if not self.names:
            raise NothingToRead("你还没有可以阅读的库，请联系管理员授权")

    @property
    def engine(self) -> SearchEngine:
        return self._seen()[0]

    def answerer(self) -> Answerer:
        return self._seen()[1]

    def _seen(self) -> tuple[SearchEngine, Answerer]:
        self._check()
        if len(self.names) == 1:
            name = self.names[0]
            return self.shelf.seen(name, self.services[name], name in self.internal)
        return self.shelf.together(self.services, self.internal)

    def internal_ids(self) -> frozenset[str]:
        """The internal documents this person sees (to label them; the others are out of sight)."""
        return frozenset().union(*(s.hidden() for n, s in self.services.items() if n in self.internal))

    def search(self, query: str, k: int = 5, filters: Filters | None = None) -> list[SearchResult]:
        return self.engine.search(query, k=k, filters=filters)

    def ask(self, question: str, k: int = 5, filters: Filters | None = None) -> Iterator[Answer]:
        answerer = self.answerer()
        llm = self.shelf.default.llm
        if llm is not None:
            yield from answerer.generate(question, llm, k, filters)
        else:
            yield answerer.answer(question, k, filters)

    def stamp(self) -> str:
        """Changes whenever one of the person's libraries is rebuilt or their libraries change."""
        return "|".join([*self.names, *(s.stamp() for s in self.services.values()),
                         *(str(hash(s.hidden())) for s in self.services.values())])

    def library_name(self) -> str:
        return "+".join(self.names) if self.names else "none"
