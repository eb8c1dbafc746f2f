"""The 管理 tab: uploads, removal with confirmation, restore, rebuild, the audit log and the
questions to improve. Every action checks the caller's role on the server and is audited."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import gradio as gr

from assistant.office.jobs import job_lines
from assistant.office.library import KEEP_BOTH, REPLACE
from assistant.office.service import Service
from assistant.office.visibility import LABELS, PUBLIC, visibility_of
from indexer.errors import PolicyQAError

from .access import Access
from .callbacks import Page, _progress, status

log = logging.getLogger("policyqa.ui")


class Admin:
    """管理: uploads, removal with confirmation, restore, rebuild, visibility, the audit log,
    feedback. Every change checks on the server that the caller may edit the library it changes
    (its editors and administrators); the journals and accounts are the administrators'."""

    def __init__(self, service: Service, access: Access, page: Page):
        self.service = service  # the journals
        self.access = access
        self.page = page

    def _person(self, request):
        return self.access.person(self.access.user(request))

    def _editing(self, request, library: str | None = None) -> tuple[str, str, Service]:
        """The caller, the library a change goes to, and its service (or a refusal)."""
        name, target = self.page.shelf.editing(self._person(request), library or None)
        return self.access.user(request), name, target

    def _document(self, request, doc_id: str) -> tuple[str, str, Service]:
        name, target = self.page.shelf.editing_document(self._person(request), doc_id)
        return self.access.user(request), name, target

    def _where(self, name: str) -> dict:
        return {"library": name} if self.page.shelf.several else {}

    def _refused(self, e: Exception, what: str, request) -> tuple:
        if isinstance(e, PolicyQAError):
            return (status(f"{what}失败：{e}"), *self.page.lists(request))
        log.exception("%s failed", what)
        return (status(f"{what}失败：内部错误（{type(e).__name__}）"), *self.page.lists(request))

    def upload(self, files, same_name: str = KEEP_BOTH, visibility: str = PUBLIC, library: str | None = None,
               request: gr.Request = None, progress=gr.Progress()):  # noqa: B008 - how Gradio injects progress
        try:
            user, name, target = self._editing(request, library)
            if not files:
                return (status("请先选择要上传的文件。"), *self.page.lists(request), gr.update())
            pairs = [(Path(f), Path(f).name) for f in (files if isinstance(files, list) else [files])]
            on_conflict = REPLACE if same_name == REPLACE else KEEP_BOTH
            visibility = visibility_of(visibility or PUBLIC)
            uploads, report = target.upload(pairs, progress=_progress(progress), on_conflict=on_conflict,
                                            user=user, visibility=visibility)
        except Exception as e:
            return (*self._refused(e, "上传", request), gr.update())
        finally:
            discard_uploaded(files)
        for u in uploads:
            self.access.record("upload", user=user, document=u.saved_as or u.name, outcome=u.action,
                               reason=u.reason, visibility=visibility, **self._where(name))
        lines = [u.message() + (f"（{LABELS[visibility]}）" if u.saved and visibility != PUBLIC else "") for u in uploads]
        if report is not None:
            lines.append(f"{self._library_label(name)}索引现有 {report.documents} 个文档、{report.sections} 个章节"
                         f"（新增 {len(report.added)}，更新 {len(report.changed)}，新计算向量 {report.embedded} 个）。")
            lines += [f"注意 {w.source}：{w.reason}" for w in report.warnings]
        return (status(*lines), *self.page.lists(request), None)  # the file list is cleared

    def _library_label(self, name: str) -> str:
        return f"库“{name}”的" if self.page.shelf.several else ""

    def confirm_removal(self, doc_id: str, request: gr.Request = None):
        """The first step of a removal: ask, naming the document (confirm box, its text, status)."""
        if not doc_id:
            return gr.update(visible=False), "", status("请先选择要移除的文档。")
        try:
            _, name, target = self._document(request, doc_id)
        except PolicyQAError as e:
            return gr.update(visible=False), "", status(str(e))
        doc = target.engine.document(doc_id)
        return (gr.update(visible=True),
                status(f"确定要从{self._library_label(name)}索引移除《{doc.title}》（{doc.source}）吗？"
                       "文件将移到文档文件夹的 .removed/，之后可以恢复。"), "")

    @staticmethod
    def cancel_removal():
        return gr.update(visible=False), "", status("已取消，没有移除任何文档。")

    def remove(self, doc_id: str, request: gr.Request = None, progress=gr.Progress()):  # noqa: B008
        try:
            if not doc_id:
                return (status("请选择要移除的文档。"), *self.page.lists(request), gr.update(visible=False))
            user, name, target = self._document(request, doc_id)
            removed, report = target.remove(doc_id, progress=_progress(progress), user=user)
        except Exception as e:
            return (*self._refused(e, "移除", request), gr.update(visible=False))
        self.access.record("remove", user=user, document=removed.source, stored=removed.stored, **self._where(name))
        return (status(f"已从{self._library_label(name)}索引移除：{removed.source}（文件已移到文档文件夹的 "
                       f".removed/{removed.stored}，可在下方恢复）。索引现有 {report.documents} 个文档。"),
                *self.page.lists(request), gr.update(visible=False))

    def restore(self, choice: str, request: gr.Request = None, progress=gr.Progress()):  # noqa: B008
        try:
            if not choice:
                return (status("请选择要恢复的文档。"), *self.page.lists(request))
            library, _, stored = choice.partition("/")  # as Page._removed_choices made it
            if library not in self.page.shelf.services:  # a script's plain stored name: the first library
                library, stored = "", choice
            user, name, target = self._editing(request, library)
            source, report = target.restore(stored, progress=_progress(progress), user=user)
        except Exception as e:
            return self._refused(e, "恢复", request)
        self.access.record("restore", user=user, document=source, stored=stored, **self._where(name))
        return (status(f"已恢复：{source}，并重新加入{self._library_label(name)}索引。索引现有 {report.documents} 个文档。"),
                *self.page.lists(request))

    def rebuild(self, library: str | None = None, request: gr.Request = None, progress=gr.Progress()):  # noqa: B008
        """Index the corpus folder again (files added or changed by hand are picked up)."""
        try:
            user, name, target = self._editing(request, library)
            report = target.reindex(_progress(progress), user=user)
        except Exception as e:
            return self._refused(e, "重建索引", request)
        self.access.record("rebuild", user=user, added=len(report.added), changed=len(report.changed),
                           removed=len(report.removed), **self._where(name))
        state = "索引已是最新" if report.up_to_date else (
            f"已更新索引：新增 {len(report.added)}，更新 {len(report.changed)}，删除 {len(report.removed)}")
        return (status(f"{self._library_label(name)}{state}；现有 {report.documents} 个文档。"), *self.page.lists(request))

    def set_visibility(self, doc_id: str, visibility: str, request: gr.Request = None):
        """内部 / 公开 for one document: at once, without a rebuild."""
        try:
            if not doc_id:
                return (status("请先选择文档。"), *self.page.lists(request))
            user, name, target = self._document(request, doc_id)
            visibility = visibility_of(visibility or PUBLIC)
            (doc,), changed = target.set_visibility([doc_id], visibility)
        except Exception as e:
            return self._refused(e, "设定可见范围", request)
        if not changed:
            return (status(f"《{doc.title}》本来就是{LABELS[visibility]}文档。"), *self.page.lists(request))
        self.access.record("visibility", user=user, document=doc.title, doc_id=doc_id, visibility=visibility,
                           **self._where(name))
        told = "只有内部读者、编辑和管理员能看到它" if visibility != PUBLIC else "所有可阅读该库的用户都能看到它"
        return (status(f"已将《{doc.title}》设为{LABELS[visibility]}：{told}。"), *self.page.lists(request))

    def users_table(self, request: gr.Request = None) -> list[list]:
        if not self.access.is_admin(request) or self.access.users is None:
            return []
        try:
            accounts = self.access.users.accounts().values()
        except PolicyQAError as e:
            return [[str(e), ""]]
        return [[a.name, ROLE_NAMES.get(a.role, a.role)] for a in sorted(accounts, key=lambda a: a.name)]

    def save_user(self, name: str, role: str, password: str, request: gr.Request = None):
        try:
            saved = self.access.save_user(request, name or "", role or "", password or "")
        except PolicyQAError as e:
            return status(str(e)), self.users_table(request), gr.update()
        return status(f"已保存用户：{saved}"), self.users_table(request), gr.update(value="")

    def follow_builds(self, request: gr.Request = None):
        """The progress panel's timer runs on the pages of those who may change a library."""
        return gr.Timer(active=bool(self.page.editable(request)))

    def build_status(self, request: gr.Request = None) -> str:
        """The build in progress (or the last one) of each library the caller may change."""
        names, lines = self.page.editable(request), []
        for name in names:
            job = self.page.shelf.services[name].jobs.current()
            if job is not None or not self.page.shelf.several:
                lines += ([f"［{name}］"] if self.page.shelf.several else []) + job_lines(job)
        return status(*(lines or job_lines(None))) if names else ""

    def cancel_build(self, request: gr.Request = None) -> str:
        names = self.page.editable(request)
        if not names:
            return status("需要编辑权限：取消建索引由库的编辑和管理员操作")
        user = self.access.user(request)
        for name in names:
            if self.page.shelf.services[name].jobs.cancel(user or "-"):
                self.access.record("build_cancel", user=user, **self._where(name))
                return self.build_status(request)
        return status("目前没有正在进行的建索引任务。")

    def audit(self, request: gr.Request = None) -> list[list]:
        try:
            self.access.require_admin(request)
            rows = self.service.audit.latest()
        except PolicyQAError as e:
            return [["", "", str(e), "", ""]]
        return [[r.get("time", ""), r.get("user", ""), _ACTIONS.get(r.get("action", ""), r.get("action", "")),
                 r.get("document", ""), _details(r)] for r in rows]

    def improvements(self, request: gr.Request = None) -> list[list]:
        try:
            self.access.require_admin(request)
            rows = self.service.feedback.to_improve()
        except PolicyQAError as e:
            return [[str(e), "", "", ""]]
        return [[r["question"], r["times"], r["why"], "；".join(r["comments"])] for r in rows]


ROLE_NAMES = {"admin": "管理员", "insider": "内部读者", "reader": "读者"}
KEY_HEADERS = ["ID", "名称", "用户", "范围", "每分钟", "建立时间", "状态"]


class KeyAdmin:
    """API keys in the 管理 tab: made for a user of the users file, the key shown once, revoked."""

    def __init__(self, access: Access):
        self.access = access

    def _keys(self, request):
        from .api import keys_for

        self.access.require_admin(request)
        keys = keys_for(self.access)
        if keys is None:
            raise PolicyQAError("API 密钥需要用户文件：以 --users 启动网页（policyqa user add 建立用户）")
        return keys

    def table(self, request: gr.Request = None) -> list[list]:
        try:
            records = self._keys(request).records()
        except PolicyQAError as e:
            return [["", str(e), "", "", "", "", ""]]
        return [[k.id, k.name, k.user, "只能提问" if k.scope == "ask" else "全部", k.per_minute, k.created,
                 f"已吊销 {k.revoked}" if k.revoked else "有效"] for k in records]

    def create(self, name: str, user: str, ask_only: bool, per_minute, request: gr.Request = None):
        try:
            keys = self._keys(request)
            if self.access.users.get((user or "").strip()) is None:
                raise PolicyQAError(f"用户文件中没有用户“{user}”：密钥必须属于一个用户，并以其角色行事")
            record, secret = keys.create(name, user.strip(), "ask" if ask_only else "all", int(per_minute or 60))
        except (PolicyQAError, ValueError) as e:
            return status(f"未建立：{e}"), self.table(request)
        self.access.record("key_create", request, key=record.name, owner=record.user, scope=record.scope)
        return (status(f"已建立密钥“{record.name}”（{record.id}）。密钥只显示这一次，请复制保存：", secret),
                self.table(request))

    def revoke(self, name: str, request: gr.Request = None):
        try:
            record = self._keys(request).revoke((name or "").strip())
        except PolicyQAError as e:
            return status(f"未吊销：{e}"), self.table(request)
        self.access.record("key_revoke", request, key=record.name)
        return status(f"已吊销密钥“{record.name}”（{record.id}），使用它的调用将被拒绝。"), self.table(request)


_ACTIONS = {"login": "登录", "login_failed": "登录失败", "login_throttled": "登录被限制", "login_refused": "登录请求被拒绝",
            "upload": "上传",
            "remove": "移除", "restore": "恢复", "rebuild": "重建索引", "key_create": "建立 API 密钥",
            "key_revoke": "吊销 API 密钥", "api_call": "API 调用", "api_key_refused": "API 密钥被拒绝",
            "build_cancel": "取消建索引", "logout": "退出登录", "password_change": "修改密码",
            "user_save": "新增用户或重设密码", "session_expired": "会话超时", "visibility": "设定可见范围"}


def _details(row: dict) -> str:
    skip = {"time", "user", "action", "document"}
    return "，".join(f"{k}={v}" for k, v in row.items() if k not in skip and v not in ("", None))


def discard_uploaded(files) -> None:
    """Gradio's copies of uploaded files, once used: the corpus holds what was kept. Only files
    in the page's own folder (webui/server.py) are removed, never a path a caller named."""
    folder = os.environ.get("GRADIO_TEMP_DIR")
    if not folder or not files:
        return
    home = Path(folder).resolve()
    for f in files if isinstance(files, list) else [files]:
        path = Path(str(f)).resolve()
        if home in path.parents:
            path.unlink(missing_ok=True)
