"""管理 › 库与权限: administrators create, rename and take libraries off the list, and say who reads,
reads internal documents or edits each (the libraries file, assistant/office/libraries.py). The
server follows the file at once (assistant/office/shelf.py); nothing is deleted: a library taken
off the list keeps its folders and can be added back."""

from __future__ import annotations

import gradio as gr

from assistant.office.libraries import ROLE_LABELS, LibrariesFile
from assistant.office.shelf import Shelf
from indexer.errors import PolicyQAError

from .access import Access
from .callbacks import status

LIBRARY_HEADERS = ["库", "文档数", "索引", "文档文件夹", "阅读（公开文档）", "阅读（含内部文档）", "编辑"]
NO_ROLE = "none"
ROLE_CHOICES = [(label, role) for role, label in ROLE_LABELS.items()] + [("取消权限", NO_ROLE)]


class LibrariesAdmin:
    def __init__(self, shelf: Shelf, access: Access):
        self.shelf = shelf
        self.access = access

    @property
    def registry(self) -> LibrariesFile:
        if self.shelf.registry is None:
            raise PolicyQAError("这个服务只有一个库：以 --libraries 库文件 启动，才能在此管理多个库")
        return self.shelf.registry

    def table(self, request: gr.Request = None) -> tuple:
        """The libraries with their permissions, this tab's library picker, and the picker of the
        library to upload to (an administrator may change every library)."""
        if not self.access.is_admin(request) or self.shelf.registry is None:
            return [], gr.update(), gr.update()
        try:
            libraries = self.shelf.libraries()
        except PolicyQAError as e:
            return [[str(e), "", "", "", "", "", ""]], gr.update(), gr.update()
        rows = [[lib.name, self._count(lib.name), self.registry.location(lib), self.registry.location(lib, "corpus"),
                 "、".join(lib.readers), "、".join(lib.insiders), "、".join(lib.editors)] for lib in libraries]
        names = [lib.name for lib in libraries]
        return rows, gr.update(choices=names), gr.update(choices=names, visible=len(names) > 1)

    def _count(self, name: str) -> str:
        service = self.shelf.services.get(name)
        if service is None or not service.ready():
            return "尚未建立索引"
        try:
            return str(len(service.engine.documents()))
        except PolicyQAError:
            return "索引无法读取"

    def _done(self, request, message: str) -> tuple:
        return (status(message), *self.table(request))

    def _act(self, request, what: str, change) -> tuple:
        try:
            user = self.access.require_admin(request)
            message, detail = change(self.registry)
        except PolicyQAError as e:
            return self._done(request, f"{what}失败：{e}")
        self.access.record("library", user=user, what=what, **detail)
        return self._done(request, message)

    def create(self, name: str, index: str, corpus: str, request: gr.Request = None) -> tuple:
        def change(registry: LibrariesFile):
            lib = registry.add((name or "").strip(), (index or "").strip(), (corpus or "").strip())
            return (f"已新建库“{lib.name}”：索引 {registry.location(lib)}，文档文件夹 {registry.location(lib, 'corpus') or '-'}。"
                    "在上方“要上传或重建的库”中选择它即可上传文档；授予权限后读者即可看到。",
                    {"library": lib.name, "index": lib.index, "corpus": lib.corpus})
        return self._act(request, "新建库", change)

    def rename(self, old: str, new: str, request: gr.Request = None) -> tuple:
        def change(registry: LibrariesFile):
            registry.rename(old or "", (new or "").strip())
            return f"已将库“{old}”改名为“{new.strip()}”，引用中随即显示新名称。", {"library": old, "new_name": new.strip()}
        return self._act(request, "库改名", change)

    def set_role(self, name: str, who: str, role: str, request: gr.Request = None) -> tuple:
        def change(registry: LibrariesFile):
            person = (who or "").strip()
            if not person:
                raise PolicyQAError("请填写用户名、group:组名 或 *（所有用户）")
            if role == NO_ROLE:
                registry.revoke(name or "", person)
                return f"已取消 {person} 在库“{name}”中的权限。", {"library": name, "who": person, "role": ""}
            registry.grant(name or "", person, role)
            return (f"已授予 {person} 在库“{name}”中的权限：{ROLE_LABELS.get(role, role)}。",
                    {"library": name, "who": person, "role": role})
        return self._act(request, "设定库权限", change)

    def remove(self, name: str, confirm: str, request: gr.Request = None) -> tuple:
        def change(registry: LibrariesFile):
            if not name or (confirm or "").strip() != name:
                raise PolicyQAError("请在确认框中再输入一次库名")
            if len(self.shelf.services) <= 1:
                raise PolicyQAError("这是服务中唯一的库，不能移出列表")
            gone = registry.remove(name)
            return (f"已将库“{gone.name}”移出列表：不再提供检索，其索引 {registry.location(gone)} 与文档文件夹保持不变，"
                    "可用“新建库”填写这两个文件夹加回。", {"library": gone.name, "index": gone.index, "corpus": gone.corpus})
        return self._act(request, "移出库", change)
