"""The page's tabs, their components and the events between them.

Every action has an `api_name`, so scripts can call the page (README, docs). Every list
(filters, document pickers) is read from the index when the page loads and again after any
action of a tab once a rebuild has landed (an upload or a removal in another tab).
"""

from __future__ import annotations

import gradio as gr

from assistant.office.library import KEEP_BOTH, MAX_UPLOAD_BYTES, REPLACE
from assistant.office.service import Service
from assistant.office.shelf import Shelf
from assistant.office.visibility import INTERNAL, LABELS, PUBLIC
from assistant.present.render import CSS, esc
from indexer.errors import PolicyQAError
from indexer.read import SUPPORTED_SUFFIXES

from .access import Access
from .admin import KEY_HEADERS, Admin, KeyAdmin
from .callbacks import API_DOC_HEADERS, DOC_HEADERS, TARGET_HEADERS, Page, bounded_k
from .drafting import Drafting
from .shelf_admin import LIBRARY_HEADERS, ROLE_CHOICES, LibrariesAdmin

VISIBILITY_CHOICES = [(f"{LABELS[PUBLIC]}（可阅读该库的用户都能看到）", PUBLIC),
                      (f"{LABELS[INTERNAL]}（只有内部读者、编辑和管理员能看到）", INTERNAL)]

EXAMPLES = ["发展党员有哪些要求", "如何加强师德师风建设", "近视防控有什么目标", "武进2023年计划增加多少学位"]
# Questions (ask, search, precedents, draft check) share one pool of workers: short CPU work on
# one shared model, and more at once only makes each slower on 2 cores. Builds run one at a time.
ASK_CONCURRENCY = 4
POOL = {"concurrency_limit": ASK_CONCURRENCY, "concurrency_id": "questions"}
BUILD = {"concurrency_limit": 1, "concurrency_id": "build"}
BUILD_REFRESH_SECONDS = 2.0  # how often an administrator's 管理 tab reads the build's progress
STATE_SECONDS = 2 * 3600  # a conversation is forgotten this long after its last question
# Lists change as documents come and go, and a script's session never saw the page's last
# update: Gradio must not refuse a value the list did not offer when it was built (the
# callbacks check every value themselves).
OPEN = {"allow_custom_value": True}
PAGE_CSS = CSS + """
#pq-docs-table table {table-layout: fixed;}
#pq-docs-table [role=gridcell][data-col="1"] span {white-space: nowrap !important;}
#pq-targets table {table-layout: fixed;}
#pq-confirm {border: 2px solid #cf222e; border-radius: 8px; padding: 8px;}
"""


def count_slider(**kwargs) -> gr.Slider:
    """A result-count slider whose value from an API caller is clamped to 1–50 (the page's own
    range is smaller), never refused with Gradio's English bounds error. (Set on the instance:
    Gradio writes a .pyi stub beside any module that subclasses a component.)"""
    slider = gr.Slider(**kwargs)
    slider.preprocess = lambda payload: float(bounded_k(payload))
    return slider


def _filters(years, regions, titles, prefix: str):
    with gr.Row(equal_height=True):
        year = gr.Dropdown(choices=years, multiselect=True, label="年份", scale=2, elem_id=f"{prefix}-year", **OPEN)
        region = gr.Dropdown(choices=regions, multiselect=True, label="地区", scale=2, elem_id=f"{prefix}-region", **OPEN)
        doc = gr.Dropdown(choices=titles, multiselect=True, label="文档", scale=4, elem_id=f"{prefix}-doc", **OPEN)
        with gr.Column(scale=1, min_width=120):
            current = current_box(prefix)
            clear = gr.Button("清除筛选", size="sm", elem_id=f"{prefix}-clear")
    return year, region, doc, current, clear


def current_box(prefix: str) -> gr.Checkbox:
    return gr.Checkbox(value=False, label="只看现行有效", elem_id=f"{prefix}-current",
                       info="不看已废止或已被新版本取代的文件")


def build_app(service: Service, access: Access | None = None, shelf: Shelf | None = None) -> gr.Blocks:
    """The page over `service` (its one library), or over the libraries of `shelf`, each
    caller reading those they may (assistant/office/shelf.py)."""
    access = access or Access()
    page = Page(service, access, shelf)
    admin = Admin(service, access, page)
    keys = KeyAdmin(access)
    libraries = LibrariesAdmin(page.shelf, access)
    drafting = Drafting(page.reading)
    years, regions, titles = page.choices()
    try:
        _ = service.engine
        load_error = ""
    except PolicyQAError as e:
        load_error = str(e)

    with gr.Blocks(title="政策文件问答") as app:
        app.policyqa_service = service  # for the server's API routes (webui/api)
        app.policyqa_shelf = page.shelf
        gr.Markdown("## 政策文件问答\n提出问题，回答中的每一条都注明出自哪份文件的哪一节，并可一键打开原文。")
        who = gr.HTML(elem_id="pq-who")
        with gr.Accordion("修改密码", open=False, visible=False, elem_id="pq-account") as account_box:
            with gr.Row(equal_height=True):
                pw_current = gr.Textbox(type="password", label="当前密码", elem_id="pq-pw-current")
                pw_new = gr.Textbox(type="password", label="新密码（至少 8 个字符）", elem_id="pq-pw-new")
                pw_repeat = gr.Textbox(type="password", label="再次输入新密码", elem_id="pq-pw-repeat")
                pw_btn = gr.Button("修改密码", scale=0, elem_id="pq-pw-change")
            pw_status = gr.HTML(elem_id="pq-pw-status")
            pw_done = gr.Textbox(visible=False)
        if load_error:
            gr.HTML(f'<div class="pq-notice"><b>索引不可用：</b>{esc(load_error)}</div>')
        stamp = gr.State("")
        with gr.Tabs(selected="qa") as tabs:
            with gr.Tab("问答", id="qa"):
                with gr.Row(equal_height=True):
                    question = gr.Textbox(label="问题", placeholder="例如：发展党员有哪些要求；接着可以问“那2024年呢”",
                                          scale=5, elem_id="pq-question")
                    ask_btn = gr.Button("提问", variant="primary", scale=1, elem_id="pq-ask")
                qa_year, qa_region, qa_doc, qa_current, qa_clear = _filters(years, regions, titles, "pq-qa")
                gr.Examples(EXAMPLES, inputs=question, label="示例问题")
                history_html = gr.HTML(elem_id="pq-history")
                answer = gr.HTML(elem_id="pq-answer")
                with gr.Row(visible=False, equal_height=True, elem_id="pq-feedback") as feedback_row:
                    useful_btn = gr.Button("有用", size="sm", scale=1, elem_id="pq-useful")
                    useless_btn = gr.Button("没用", size="sm", scale=1, elem_id="pq-useless")
                    comment = gr.Textbox(placeholder="意见（可不填）", show_label=False, scale=4, max_lines=1)
                    feedback_status = gr.HTML()
                clear_conv = gr.Button("清空对话", size="sm", elem_id="pq-clear-conversation")
                passages = gr.HTML(elem_id="pq-passages")
                conversation = gr.State([], time_to_live=STATE_SECONDS)
                last_question = gr.Textbox(visible=False)
                follow_up_of = gr.Textbox(visible=False, value="", label="接续的上一个问题")
                api_answer, api_passages = gr.HTML(visible=False), gr.HTML(visible=False)
                api_ask = gr.Button(visible=False)
            with gr.Tab("检索", id="search"):
                with gr.Row(equal_height=True):
                    query = gr.Textbox(label="关键词或问题", scale=5, elem_id="pq-query")
                    k = count_slider(minimum=1, maximum=20, value=5, step=1, label="结果数", scale=2)
                    search_btn = gr.Button("检索", scale=1, elem_id="pq-search")
                s_year, s_region, s_doc, s_current, s_clear = _filters(years, regions, titles, "pq-s")
                results = gr.HTML(elem_id="pq-results")
            with gr.Tab("先例", id="precedents"):
                gr.Markdown("输入一个主题（如“党建品牌创建”）或粘贴一段草稿：看各文件的同类条目、指标，对比不同年份的写法。")
                with gr.Row(equal_height=True):
                    topic = gr.Textbox(label="主题或段落", lines=2, scale=5, elem_id="pq-topic")
                    p_btn = gr.Button("查找先例", variant="primary", scale=1)
                with gr.Row():
                    p_year = gr.Dropdown(choices=years, multiselect=True, label="年份", **OPEN)
                    p_region = gr.Dropdown(choices=regions, multiselect=True, label="地区", **OPEN)
                    p_current = current_box("pq-p")
                coverage = gr.HTML()
                p_html = gr.HTML(elem_id="pq-precedents")
                p_targets = gr.Dataframe(headers=TARGET_HEADERS, value=[], interactive=False, wrap=True,
                                         label="目标与指标", column_widths=["18%", "32%", "50%"], elem_id="pq-targets")
                with gr.Row():
                    cmp_a = gr.Dropdown(label="对比：章节甲", allow_custom_value=True, scale=2)
                    cmp_b = gr.Dropdown(label="章节乙", allow_custom_value=True, scale=2)
                    cmp_btn = gr.Button("对比", scale=1)
                cmp_html = gr.HTML(elem_id="pq-compare")
                with gr.Row():
                    fmt = gr.Radio(["docx", "md"], value="docx", label="导出格式")
                    exp_btn = gr.Button("导出先例与对比")
                    exp_file = gr.File(label="导出文件", interactive=False)
                exp_msg = gr.HTML()
                with gr.Accordion("草稿检查", open=False, elem_id="pq-draft-panel"):
                    draft_box = gr.Textbox(label="粘贴整份草稿", lines=8, elem_id="pq-draft-box")
                    draft_file = gr.File(label="或上传草稿（.txt、.md、.docx、.pdf …）", file_types=sorted(SUPPORTED_SUFFIXES),
                                         type="filepath")
                    with gr.Row():
                        draft_btn = gr.Button("检查草稿", elem_id="pq-draft-check")
                        draft_exp = gr.Button("导出检查结果")
                        draft_out = gr.File(label="导出文件", interactive=False)
                    draft_html_out = gr.HTML(elem_id="pq-draft")
                    draft_msg = gr.HTML()
            with gr.Tab("文档", id="docs"):
                docs_table = gr.Dataframe(value=page.table(), headers=DOC_HEADERS, interactive=False, wrap=True,
                                          label="已索引的文档（点击一行查看）", elem_id="pq-docs-table",
                                          column_widths=["46%", "18%", "18%", "18%"])
                with gr.Row():
                    doc_pick = gr.Dropdown(choices=titles, value=None, label="查看文档", scale=4, elem_id="pq-doc-pick",
                                           **OPEN)
                    section_key = gr.Textbox(label="章节（可留空）", scale=1, visible=False)
                doc_view = gr.HTML(elem_id="pq-doc")
                with gr.Accordion("两份文件的变化（如同一计划的两个年份）", open=False, elem_id="pq-changes-panel"):
                    with gr.Row(equal_height=True):
                        ch_before = gr.Dropdown(choices=titles, value=None, label="较早的文件", scale=3,
                                                elem_id="pq-changes-before", **OPEN)
                        ch_after = gr.Dropdown(choices=titles, value=None, label="较新的文件", scale=3,
                                               elem_id="pq-changes-after", **OPEN)
                        ch_btn = gr.Button("列出变化", scale=1, elem_id="pq-changes-go")
                    with gr.Row():
                        ch_fmt = gr.Radio(["docx", "md"], value="docx", label="导出格式")
                        ch_exp = gr.Button("导出变化")
                        ch_file = gr.File(label="导出文件", interactive=False)
                    ch_html = gr.HTML(elem_id="pq-changes")
                docs_api = gr.Dataframe(headers=API_DOC_HEADERS, value=[], visible=False)
            with gr.Tab("管理", id="admin", visible=not access.enabled) as admin_tab:
                gr.Markdown("上传、移除、恢复文档，设定可见范围和重建索引（库的编辑和管理员能操作）；"
                            "审计日志、读者反馈、用户与密钥由管理员管理。")
                target = gr.Dropdown(choices=[], value=None, label="要上传或重建的库", visible=False,
                                     elem_id="pq-target-library", **OPEN)  # filled on load with the libraries one may edit
                allowed = sorted(SUPPORTED_SUFFIXES)
                uploads = gr.File(label=f"上传文件（{'、'.join(allowed)}，单个不超过 {MAX_UPLOAD_BYTES // 1024 // 1024} MB）",
                                  file_count="multiple", file_types=allowed, type="filepath", elem_id="pq-uploads")
                with gr.Row():
                    same_name = gr.Radio([("保留两者（新文件改名保存）", KEEP_BOTH),
                                          ("替换（原文件移到 .removed/，可恢复）", REPLACE)],
                                         value=KEEP_BOTH, label="已有同名文件时")
                    upload_vis = gr.Radio(VISIBILITY_CHOICES, value=PUBLIC, label="可见范围", elem_id="pq-upload-visibility")
                upload_btn = gr.Button("上传并加入索引", elem_id="pq-upload")
                with gr.Row(equal_height=True):
                    remove_pick = gr.Dropdown(choices=titles, value=None, label="要移除的文档", scale=4,
                                              elem_id="pq-remove-pick", **OPEN)
                    remove_btn = gr.Button("从索引移除…", variant="stop", scale=1, elem_id="pq-remove")
                with gr.Group(visible=False, elem_id="pq-confirm") as confirm_box:
                    confirm_text = gr.HTML(elem_id="pq-confirm-text")
                    with gr.Row():
                        confirm_btn = gr.Button("确认移除", variant="stop", elem_id="pq-confirm-remove")
                        cancel_btn = gr.Button("取消", elem_id="pq-cancel-remove")
                with gr.Row(equal_height=True):
                    vis_pick = gr.Dropdown(choices=titles, value=None, label="设定可见范围的文档", scale=3,
                                           elem_id="pq-visibility-pick", **OPEN)
                    vis_choice = gr.Radio(VISIBILITY_CHOICES, value=INTERNAL, label="设为", scale=2,
                                          elem_id="pq-visibility-choice")
                    vis_btn = gr.Button("设定可见范围", scale=1, elem_id="pq-visibility")
                with gr.Row(equal_height=True):
                    restore_pick = gr.Dropdown(choices=[], value=None, label="已移除的文档",  # filled for administrators
                                               scale=4, elem_id="pq-restore-pick", **OPEN)
                    restore_btn = gr.Button("恢复", scale=1, elem_id="pq-restore")
                rebuild_btn = gr.Button("重新建立索引（读取文档文件夹中的所有变化）", size="sm")
                admin_status = gr.HTML(elem_id="pq-admin-status")
                with gr.Accordion("建索引进度（所有管理员可见）", open=True, elem_id="pq-build-panel"):
                    build_html = gr.HTML(elem_id="pq-build")
                    cancel_build_btn = gr.Button("取消建索引（原索引保持不变）", variant="stop", size="sm",
                                                 elem_id="pq-cancel-build")
                build_timer = gr.Timer(BUILD_REFRESH_SECONDS, active=False)
                with gr.Column(visible=not access.enabled, elem_id="pq-admin-only") as admin_only:
                    with gr.Accordion("审计日志", open=False):
                        audit_btn = gr.Button("刷新", size="sm")
                        audit_table = gr.Dataframe(headers=["时间", "用户", "操作", "文档", "详情"], value=[],
                                                   interactive=False, wrap=True, elem_id="pq-audit")
                    with gr.Accordion("用户与密码", open=False, elem_id="pq-users-panel"):
                        gr.Markdown("新增用户，或为已有用户设定角色、重设密码（其已登录的会话随即结束）。")
                        with gr.Row(equal_height=True):
                            user_name = gr.Textbox(label="用户名", scale=2, elem_id="pq-user-name")
                            user_role = gr.Radio([("读者", "reader"), ("内部读者", "insider"), ("管理员", "admin")],
                                                 value="reader", label="角色", scale=2)
                            user_password = gr.Textbox(type="password", label="密码（至少 8 个字符）", scale=2,
                                                       elem_id="pq-user-password")
                            user_save = gr.Button("保存", scale=1, elem_id="pq-user-save")
                        user_status = gr.HTML(elem_id="pq-user-status")
                        user_table = gr.Dataframe(headers=["用户", "角色"], value=[], interactive=False, elem_id="pq-users")
                    with gr.Accordion("API 密钥（JSON 接口、OpenAI 兼容接口、MCP、网页问答框）", open=False,
                                      elem_id="pq-keys-panel"):
                        gr.Markdown("每个密钥属于一个用户，以其角色行事；只保存哈希，密钥只在建立时显示一次。用法见 /api/v1/docs。")
                        with gr.Row(equal_height=True):
                            key_name = gr.Textbox(label="名称（如“OA门户”）", scale=2, elem_id="pq-key-name")
                            key_user = gr.Textbox(label="所属用户", scale=2, elem_id="pq-key-user")
                            key_ask = gr.Checkbox(label="只能提问和检索（问答框用）", scale=2)
                            key_rate = gr.Number(value=60, precision=0, minimum=1, label="每分钟请求数", scale=1)
                            key_create = gr.Button("建立密钥", scale=1, elem_id="pq-key-create")
                        with gr.Row(equal_height=True):
                            key_revoke_name = gr.Textbox(label="要吊销的密钥（名称或 ID）", scale=4)
                            key_revoke = gr.Button("吊销", variant="stop", scale=1)
                            key_refresh = gr.Button("刷新列表", scale=1)
                        key_status = gr.HTML(elem_id="pq-key-status")
                        key_table = gr.Dataframe(headers=KEY_HEADERS, value=[], interactive=False, wrap=True,
                                                 elem_id="pq-keys")
                    with gr.Accordion("库与权限", open=False, elem_id="pq-libraries-panel",
                                      visible=page.shelf.registry is not None):
                        gr.Markdown("每个库有自己的文档文件夹和索引。新建的库在上传第一批文档时建立索引；"
                                    "移出列表不删除任何文件夹。权限填写用户名、group:组名 或 *（所有用户）。")
                        lib_table = gr.Dataframe(headers=LIBRARY_HEADERS, value=[], interactive=False, wrap=True,
                                                 elem_id="pq-libraries")
                        with gr.Row(equal_height=True):
                            lib_new = gr.Textbox(label="新库名称", scale=2, elem_id="pq-library-new")
                            lib_new_index = gr.Textbox(label="索引文件夹（可留空）", scale=2)
                            lib_new_corpus = gr.Textbox(label="文档文件夹（可留空）", scale=2)
                            lib_create = gr.Button("新建库", scale=1, elem_id="pq-library-create")
                        with gr.Row(equal_height=True):
                            lib_pick = gr.Dropdown(choices=[], value=None, label="库", scale=2, elem_id="pq-library-pick",
                                                   **OPEN)
                            lib_rename_to = gr.Textbox(label="新名称", scale=2)
                            lib_rename = gr.Button("改名", scale=1)
                        with gr.Row(equal_height=True):
                            lib_who = gr.Textbox(label="用户 / group:组名 / *", scale=2, elem_id="pq-library-who")
                            lib_role = gr.Radio(ROLE_CHOICES, value="reader", label="权限", scale=3)
                            lib_grant = gr.Button("设定权限", scale=1, elem_id="pq-library-grant")
                        with gr.Row(equal_height=True):
                            lib_confirm = gr.Textbox(label="移出列表：再输入一次库名以确认", scale=4)
                            lib_remove = gr.Button("移出列表（文件夹保留）", variant="stop", scale=1)
                        lib_status = gr.HTML(elem_id="pq-library-status")
                    with gr.Accordion("待改进的问题（没有找到答案、被标为没用的）", open=False):
                        improve_btn = gr.Button("刷新", size="sm")
                        improve_table = gr.Dataframe(headers=["问题", "次数", "原因", "意见"], value=[],
                                                     interactive=False, wrap=True, elem_id="pq-improve")

        lists = [stamp, docs_table, qa_year, qa_region, qa_doc, s_year, s_region, s_doc, doc_pick, remove_pick,
                 restore_pick, ch_before, ch_after, vis_pick]

        def after(event):  # every action: the lists again once a rebuild has landed elsewhere
            return event.then(page.lists_if_changed, stamp, lists, api_name=False, queue=False)

        qa_inputs = [question, qa_year, qa_region, qa_doc, conversation, qa_current]
        qa_outputs = [answer, passages, history_html, conversation, last_question, feedback_row, feedback_status]
        after(ask_btn.click(page.converse, qa_inputs, qa_outputs, api_name=False, **POOL))
        after(question.submit(page.converse, qa_inputs, qa_outputs, api_name=False, **POOL))
        api_ask.click(page.ask, [question, qa_year, qa_region, qa_doc, follow_up_of, qa_current], [api_answer, api_passages],
                      api_name="ask", **POOL)
        clear_conv.click(page.clear_conversation, None, [answer, passages, history_html, conversation,
                                                         last_question, feedback_row, feedback_status], api_name=False)
        qa_clear.click(page.clear_filters, None, [qa_year, qa_region, qa_doc, qa_current], api_name=False)
        useful_btn.click(page.useful, [last_question, comment], feedback_status, api_name=False)
        useless_btn.click(page.useless, [last_question, comment], feedback_status, api_name=False)
        fb_vote = gr.Radio(["有用", "没用"], visible=False)
        fb_api = gr.Button(visible=False)
        fb_api.click(page.feedback, [last_question, fb_vote, comment], feedback_status, api_name="feedback")

        s_inputs = [query, k, s_year, s_region, s_doc, s_current]
        after(search_btn.click(page.search, s_inputs, results, api_name="search", **POOL))
        after(query.submit(page.search, s_inputs, results, api_name=False, **POOL))
        s_clear.click(page.clear_filters, None, [s_year, s_region, s_doc, s_current], api_name=False)

        app.load(page.documents, None, docs_api, api_name="list_documents")
        app.load(page.on_load, None, [*lists, admin_tab, who, account_box, target, admin_only], api_name=False)
        pw_btn.click(page.change_password, [pw_current, pw_new, pw_repeat],
                     [pw_status, pw_done, pw_current, pw_new, pw_repeat], api_name=False).then(
            None, pw_done, None, api_name=False,
            js="(done) => { if (done) setTimeout(() => { location.href = 'logout?all_session=false'; }, 1500); }")
        after(doc_pick.input(page.show, [doc_pick, section_key], doc_view, api_name="show_document")).then(
            page.series_pair, doc_pick, [ch_before, ch_after], api_name=False)
        docs_table.select(page.pick_row, None, [doc_pick, doc_view], api_name=False).then(
            page.series_pair, doc_pick, [ch_before, ch_after], api_name=False)
        ch_btn.click(drafting.changes, [ch_before, ch_after], ch_html, api_name="changes", **POOL)
        ch_exp.click(drafting.export_changes, [ch_before, ch_after, ch_fmt], [ch_file, ch_html],
                     api_name="export_changes")

        library = [admin_status, *lists]
        # the progress bar shows on the status line only, not over the removal controls
        progress = {"show_progress_on": [admin_status]}
        upload_btn.click(admin.upload, [uploads, same_name, upload_vis, target], [*library, uploads], api_name="upload",
                         **BUILD, **progress)
        remove_btn.click(admin.confirm_removal, remove_pick, [confirm_box, confirm_text, admin_status], api_name=False)
        cancel_btn.click(admin.cancel_removal, None, [confirm_box, confirm_text, admin_status], api_name=False)
        confirm_btn.click(admin.remove, remove_pick, [*library, confirm_box], api_name="remove", **BUILD, **progress)
        restore_btn.click(admin.restore, restore_pick, library, api_name="restore", **BUILD, **progress)
        rebuild_btn.click(admin.rebuild, target, library, api_name="rebuild", **BUILD, **progress)
        vis_btn.click(admin.set_visibility, [vis_pick, vis_choice], library, api_name="set_visibility")
        # every administrator's page follows the build in progress, whoever started it
        app.load(admin.follow_builds, None, build_timer, api_name=False, queue=False)
        build_timer.tick(admin.build_status, None, build_html, api_name="build_status", queue=False,
                         show_progress="hidden")
        cancel_build_btn.click(admin.cancel_build, None, build_html, api_name="cancel_build", queue=False)
        audit_btn.click(admin.audit, None, audit_table, api_name="audit")
        improve_btn.click(admin.improvements, None, improve_table, api_name="feedback_report")
        key_create.click(keys.create, [key_name, key_user, key_ask, key_rate], [key_status, key_table],
                         api_name="create_key")
        key_revoke.click(keys.revoke, key_revoke_name, [key_status, key_table], api_name="revoke_key")
        key_refresh.click(keys.table, None, key_table, api_name="list_keys")
        user_save.click(admin.save_user, [user_name, user_role, user_password], [user_status, user_table, user_password],
                        api_name=False)
        app.load(admin.users_table, None, user_table, api_name=False)
        shelf_outputs = [lib_status, lib_table, lib_pick, target]
        for button, change, inputs, name in (
                (lib_create, libraries.create, [lib_new, lib_new_index, lib_new_corpus], "create_library"),
                (lib_rename, libraries.rename, [lib_pick, lib_rename_to], "rename_library"),
                (lib_grant, libraries.set_role, [lib_pick, lib_who, lib_role], "library_role"),
                (lib_remove, libraries.remove, [lib_pick, lib_confirm], "remove_library")):
            # then the page's own lists: a library's documents may have come or gone
            button.click(change, inputs, shelf_outputs, api_name=name).then(page.lists, None, lists, api_name=False)
        app.load(libraries.table, None, [lib_table, lib_pick, target], api_name=False)

        p_inputs = [topic, p_year, p_region, p_current]
        p_outputs = [coverage, p_html, p_targets, cmp_a, cmp_b]
        after(p_btn.click(drafting.precedents, p_inputs, p_outputs, api_name="precedents", **POOL))
        after(topic.submit(drafting.precedents, p_inputs, p_outputs, api_name=False, **POOL))
        cmp_btn.click(drafting.compare, [cmp_a, cmp_b], cmp_html, api_name="compare")
        exp_btn.click(drafting.export, [topic, p_year, p_region, cmp_a, cmp_b, fmt, p_current], [exp_file, exp_msg],
                      api_name="export")
        draft_btn.click(drafting.draft_check, [draft_box, draft_file], draft_html_out, api_name="draft_check", **POOL)
        draft_exp.click(drafting.export_draft, [draft_box, draft_file, fmt], [draft_out, draft_msg],
                        api_name="export_draft")
        app.load(page.from_link, None, [tabs, doc_pick, doc_view], api_name=False).then(
            None, None, None, js="() => setTimeout(() => document.getElementById('pq-target')"
                                 "?.scrollIntoView({block: 'center'}), 400)")
    return app
