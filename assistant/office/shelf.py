"""The libraries one server holds, and what each person reads of them.

A server started with a libraries file (`policyqa serve --libraries FILE`) holds each library as
a `Service`; without one it holds its one index, which every user reads (as before libraries).
`Shelf.view(person)` is what the page, the API and MCP use for everything that reaches a
document: the engine is the library the person may read, or those libraries searched as one
(search/federation.py); a library the person may not read is not in it, so no route can reach
its documents. Changes to the library (uploads, removals, rebuilds) go to the first library of
the file, by administrators.
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
from .libraries import LibrariesFile, Library, Person, may_read
from .service import Service

EVERYONE = "*"
# Combinations of libraries kept searchable as one (readers of different sets take turns; each
# built anew would merge every library's word counts again on a question's path).
KEPT_COMBINATIONS = 8


class NothingToRead(PolicyQAError):
    """A person with no library to read; the message is for users."""


class Shelf:
    def __init__(self, services: dict[str, Service], registry: LibrariesFile | None = None):
        self.services = services
        self.registry = registry
        self.default = next(iter(services.values()))
        self._lock = threading.Lock()
        self._together: dict[tuple, tuple[Federation, Answerer]] = {}

    @classmethod
    def single(cls, service: Service) -> Shelf:
        return cls({service.library_name(): service})

    @classmethod
    def from_file(cls, registry: LibrariesFile, names: list[str] | None = None, model: str | None = None, llm=None,
                  today: str | None = None, journal_dir: Path | None = None) -> Shelf:
        """A Service per library of the file (or of those named), sharing one embedding model."""
        services: dict[str, Service] = {}
        embedder = None
        for lib in [registry.get(n) for n in dict.fromkeys(names)] if names else registry.libraries():
            corpus, location = registry.location(lib, "corpus"), registry.location(lib)
            if embedder is None and is_local(location):
                try:
                    embedder = load_embedder(model or store.read_manifest(Path(location))["model"]["name"])
                except (store.IndexProblem, KeyError):
                    embedder = None  # that library reports its own problem when it is used
            services[lib.name] = Service(location, corpus_dir=Path(corpus) if corpus else None, model=model,
                                         embedder=embedder, llm=llm, today=today, journal_dir=journal_dir)
        if not services:
            raise NothingToRead(f"库文件 {registry.path} 中还没有库（policyqa library add 名称 --index 索引文件夹）")
        return cls(services, registry)

    @property
    def several(self) -> bool:
        return self.registry is not None and len(self.services) > 1

    def libraries(self) -> list[Library]:
        """The libraries served, with their permissions as the file says now."""
        if self.registry is None:
            return [Library(name, str(s.location), readers=[EVERYONE]) for name, s in self.services.items()]
        return [lib for lib in self.registry.libraries() if lib.name in self.services]

    def readable(self, person: Person) -> list[str]:
        return [lib.name for lib in self.libraries() if may_read(lib, person)]

    def view(self, person: Person) -> LibraryView:
        return LibraryView(self, self.readable(person))

    def together(self, names: list[str]) -> tuple[Federation, Answerer]:
        """The libraries searched as one, kept while none of them was rebuilt."""
        engines = {name: self.services[name].engine for name in names}
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


class LibraryView:
    """What one person reads: the libraries they may read, as one engine."""

    def __init__(self, shelf: Shelf, names: list[str]):
        self.shelf = shelf
        self.names = names

    def _check(self) -> None:
        if not self.names:
            raise NothingToRead("你还没有可以阅读的库，请联系管理员授权")

    @property
    def engine(self) -> SearchEngine:
        self._check()
        if len(self.names) == 1:
            return self.shelf.services[self.names[0]].engine
        return self.shelf.together(self.names)[0]

    def answerer(self) -> Answerer:
        self._check()
        if len(self.names) == 1:
            return self.shelf.services[self.names[0]].answerer()
        return self.shelf.together(self.names)[1]

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
        return "|".join([*self.names, *(self.shelf.services[n].stamp() for n in self.names)])

    def library_name(self) -> str:
        return "+".join(self.names) if self.names else "none"
