"""Several libraries on one server: each department's documents in their own corpus folder and
index (or backend library), listed in a libraries file with who may read and who may edit each.

    {"format": "policyqa-libraries", "version": 1,
     "libraries": [{"name": "党建", "index": "党建/index", "corpus": "党建/corpus",
                    "readers": ["li", "group:督导"], "editors": ["wang"]}]}

Relative paths are read from the file's folder. `policyqa library add|list|rename|remove|grant|
revoke --libraries FILE` writes it; `policyqa search|ask|eval … --libraries FILE [--library NAME]`
searches one, several or all of them as one (search/federation.py). Removing a library takes it
off the list only: its folders stay where they are.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from indexer.errors import PolicyQAError, os_reason

from ..search.engine import SearchEngine, is_local, open_engine
from ..search.federation import Federation
from .files import save_json

FORMAT = "policyqa-libraries"
READER, INSIDER, EDITOR = "reader", "insider", "editor"
ROLES = (READER, INSIDER, EDITOR)
ROLE_LABELS = {READER: "阅读（公开文档）", INSIDER: "阅读（含内部文档）", EDITOR: "编辑"}
MAX_NAME = 40


class LibrariesError(PolicyQAError, ValueError):
    """A libraries file or request the program refuses; the message is for users."""


@dataclass
class Library:
    name: str
    index: str
    corpus: str = ""
    readers: list[str] = field(default_factory=list)  # user names, `group:NAME`, or `*` (every user)
    editors: list[str] = field(default_factory=list)
    insiders: list[str] = field(default_factory=list)  # readers of its internal documents too


def check_library_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME or re.search(r"[\s/\\:,，]", name):
        raise LibrariesError(f"库名无效：{name!r}（1–{MAX_NAME} 个字符，不含空格、斜杠、冒号和逗号）")
    return name


class LibrariesFile:
    def __init__(self, path: Path):
        self.path = Path(path)

    def libraries(self) -> list[Library]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as e:
            raise LibrariesError(f"库文件 {self.path} 无法读取或不是合法的 JSON") from e
        if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("libraries"), list):
            raise LibrariesError(f"{self.path} 不是 policyqa 库文件（用 policyqa library add 建立）")
        try:
            return [Library(**row) for row in data["libraries"]]
        except TypeError as e:
            raise LibrariesError(f"库文件 {self.path} 中有一条记录不完整") from e

    def get(self, name: str) -> Library:
        found = next((lib for lib in self.libraries() if lib.name == name), None)
        if found is None:
            known = "、".join(lib.name for lib in self.libraries()) or "无"
            raise LibrariesError(f"没有名为“{name}”的库（现有：{known}）")
        return found

    def location(self, library: Library, what: str = "index") -> str:
        """A library's index (or corpus) as a path from the file's folder, or a backend address."""
        value = getattr(library, what)
        if not value or not is_local(value):
            return value
        return str((self.path.parent / value).resolve()) if not Path(value).is_absolute() else value

    # -- changes ---------------------------------------------------------------------------

    def add(self, name: str, index: str = "", corpus: str = "") -> Library:
        """A library of an existing index (and its corpus folder), or, with neither given, a new
        empty one: `NAME/corpus` and `NAME/index` beside the file (the index is built at its
        first upload)."""
        libraries = self.libraries()
        name = check_library_name(name)
        if any(lib.name == name for lib in libraries):
            raise LibrariesError(f"已有名为“{name}”的库")
        if not index and not corpus:
            index, corpus = f"{name}/index", f"{name}/corpus"
        elif not index:
            raise LibrariesError("给出文档文件夹时也请给出索引文件夹（可以是尚不存在的新文件夹）")
        library = Library(name, index, corpus)
        folder = self.location(library, "corpus")
        if folder and is_local(folder):
            try:
                Path(folder).mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise LibrariesError(f"无法建立文档文件夹 {folder}：{os_reason(e)}") from e
        self._save([*libraries, library])
        return library

    def rename(self, old: str, new: str) -> None:
        libraries = self.libraries()
        self.get(old)
        new = check_library_name(new)
        if any(lib.name == new for lib in libraries):
            raise LibrariesError(f"已有名为“{new}”的库")
        for lib in libraries:
            if lib.name == old:
                lib.name = new
        self._save(libraries)

    def remove(self, name: str) -> Library:
        """Take a library off the list (its folders are left where they are)."""
        gone = self.get(name)
        self._save([lib for lib in self.libraries() if lib.name != name])
        return gone

    def grant(self, name: str, who: str, role: str) -> None:
        """`who` becomes a reader, an insider (a reader of internal documents too) or an editor of
        the library, in place of what they were."""
        if role not in ROLES:
            raise LibrariesError(f"权限应为 {'、'.join(ROLES)} 之一")
        self._set_role(name, who, role)

    def revoke(self, name: str, who: str) -> None:
        self._set_role(name, who, None)

    def _set_role(self, name: str, who: str, role: str | None) -> None:
        self.get(name)
        libraries = self.libraries()
        for lib in libraries:
            if lib.name == name:
                lib.readers = [w for w in lib.readers if w != who] + ([who] if role == READER else [])
                lib.insiders = [w for w in lib.insiders if w != who] + ([who] if role == INSIDER else [])
                lib.editors = [w for w in lib.editors if w != who] + ([who] if role == EDITOR else [])
        self._save(libraries)

    def _save(self, libraries: list[Library]) -> None:
        data = {"format": FORMAT, "version": 1, "libraries": [asdict(lib) for lib in libraries]}
        try:
            save_json(self.path, data)
        except OSError as e:
            raise LibrariesError(f"无法写入库文件 {self.path}：{os_reason(e)}") from e


@dataclass(frozen=True)
class Person:
    """Who asks, as the libraries' permissions see them."""

    name: str
    groups: tuple[str, ...] = ()
    is_admin: bool = False
    is_insider: bool = False  # reads the internal documents of every library they read

    def named_by(self, entries: list[str]) -> bool:
        """Whether a readers or editors list names this person: by name, by `group:NAME`, or `*`."""
        return any(e == "*" or e == self.name or (e.startswith("group:") and e[6:] in self.groups) for e in entries)


def may_read(library: Library, person: Person) -> bool:
    """Administrators read everything; others a library that names them (any role)."""
    return (person.is_admin or person.named_by(library.readers) or person.named_by(library.insiders)
            or person.named_by(library.editors))


def may_read_internal(library: Library, person: Person) -> bool:
    """Its internal documents too (office/visibility.py): administrators, users of the insider
    role where they read, and the library's own insiders and editors."""
    return (person.is_admin or (person.is_insider and may_read(library, person))
            or person.named_by(library.insiders) or person.named_by(library.editors))


def may_edit(library: Library, person: Person) -> bool:
    """Upload, remove, restore, rebuild in it: administrators and its editors."""
    return person.is_admin or person.named_by(library.editors)


def readable(registry: LibrariesFile, person: Person) -> list[str]:
    return [lib.name for lib in registry.libraries() if may_read(lib, person)]


def open_libraries(registry: LibrariesFile, names: list[str] | None = None, model: str | None = None,
                   thesaurus=None) -> SearchEngine:
    """One library's engine, or several searched as one (all of the file's when `names` is empty)."""
    chosen = [registry.get(n) for n in dict.fromkeys(names)] if names else registry.libraries()
    if not chosen:
        raise LibrariesError(f"库文件 {registry.path} 中还没有库（policyqa library add 名称 --index 索引文件夹）")
    members: dict[str, SearchEngine] = {}
    embedder = None
    for lib in chosen:
        engine = open_engine(registry.location(lib), model=model, embedder=embedder, thesaurus=thesaurus)
        embedder = embedder or getattr(engine, "embedder", None)  # one model in memory for all
        members[lib.name] = engine
    return members[chosen[0].name] if len(members) == 1 else Federation(members)
