"""The command line's arguments: every command and its options, with help, headings and errors
in Chinese (`错误：…` on one line, exit status 1, instead of argparse's English usage and status 2)."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable

from indexer.errors import PolicyQAError


class ArgumentsError(PolicyQAError):
    """Bad command-line arguments; the message is for users."""


_TYPES = {"int": "整数", "float": "数字"}
_RULES: list[tuple[re.Pattern, callable]] = [
    (re.compile(r"^unrecognized arguments: (.+)$"), lambda m: f"无法识别的参数：{m[1]}"),
    (re.compile(r"^argument (.+?): invalid choice: '?(.+?)'? \(choose from (.+)\)$"),
     lambda m: f"未知{'命令' if m[1] == '命令' else '取值'}：{m[2]}（可选：{m[3].replace(chr(39), '')}）"),
    (re.compile(r"^argument (.+?): invalid (\w+) value: '?(.*?)'?$"),
     lambda m: f"参数 {m[1]} 的值应为{_TYPES.get(m[2], m[2])}（收到“{m[3]}”）"),
    (re.compile(r"^the following arguments are required: (.+)$"), lambda m: f"缺少参数：{m[1]}"),
    (re.compile(r"^argument (.+?): expected one argument$"), lambda m: f"参数 {m[1]} 后面需要一个值"),
    (re.compile(r"^argument (.+?): expected (.+)$"), lambda m: f"参数 {m[1]} 的值个数不对"),
    (re.compile(r"^argument (.+?): not allowed with argument (.+)$"), lambda m: f"参数 {m[1]} 不能与 {m[2]} 同时使用"),
    (re.compile(r"^ambiguous option: (\S+) could match (.+)$"), lambda m: f"参数 {m[1]} 有歧义，可能是：{m[2]}"),
    (re.compile(r"^argument (.+?): ignored explicit argument '?(.*?)'?$"), lambda m: f"参数 {m[1]} 不接受取值（收到“{m[2]}”）"),
    # a type function's own message, already in Chinese (`--corpus`: 应写成 名称=索引…)
    (re.compile(r"^argument (.+?): ([^\x00-\x7f].*)$"), lambda m: f"参数 {m[1]} {m[2]}"),
]


def translate(message: str) -> str:
    for pattern, say in _RULES:
        m = pattern.match(message)
        if m:
            return say(m)
    return message


class ChineseHelpFormatter(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        return super().add_usage(usage, actions, groups, "用法：" if prefix is None else prefix)


class ChineseParser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", ChineseHelpFormatter)
        add_help = kwargs.pop("add_help", True)
        super().__init__(*args, add_help=False, **kwargs)
        self._positionals.title = "位置参数"
        self._optionals.title = "选项"
        if add_help:
            self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help="显示帮助并退出")

    def error(self, message: str):
        hint = f"（{self.prog} -h 查看用法）"
        raise ArgumentsError(translate(message) + hint)


# --- the commands and their options ---------------------------------------------------

DEFAULT_INDEX = "index"


def env(name: str, default: str | None = None) -> str | None:
    """A setting's fallback: its environment variable, when set and not empty."""
    return os.environ.get(name) or default


def corpus_index(text: str) -> tuple[str, str]:
    """`--corpus seeds=./index`: a corpus name and the index its questions are asked of."""
    name, sep, location = text.partition("=")
    if not sep or not name.strip() or not location.strip():
        raise argparse.ArgumentTypeError(f"应写成 名称=索引，例如 seeds=./index（收到：{text}）")
    return name.strip(), location.strip()


def common(sp) -> None:
    """The settings every command that opens an index takes."""
    sp.add_argument("--index", default=env("POLICYQA_INDEX", DEFAULT_INDEX),
                    help="索引文件夹或搜索后端地址（默认 $POLICYQA_INDEX 或 ./index）")
    sp.add_argument("--thesaurus", default=env("POLICYQA_THESAURUS"),
                    help="追加的词表文件（日常说法 => 文件用语，默认 $POLICYQA_THESAURUS）")
    sp.add_argument("--model", default=env("POLICYQA_MODEL"),
                    help="向量模型名称或路径（默认 $POLICYQA_MODEL 或 m3e-small）")
    sp.add_argument("--libraries", default=env("POLICYQA_LIBRARIES"),
                    help="库文件：在其中的库（而不是 --index）中检索（默认 $POLICYQA_LIBRARIES）")
    sp.add_argument("--library", action="append", default=[], metavar="NAME",
                    help="只用这个库（可重复；默认库文件中的全部库，一起检索）")


def build_parser(handlers: dict[str, Callable]) -> argparse.ArgumentParser:
    """Every command and its options; `handlers` maps a command to the function that runs it."""
    p = ChineseParser(prog="policyqa", description="中文政策文件的语义检索与问答")
    sub = p.add_subparsers(dest="command", metavar="命令", title="命令")

    sp = sub.add_parser("index", help="建立或更新索引")
    sp.add_argument("corpus", nargs="?", help="文档文件夹（默认 $POLICYQA_CORPUS 或 ./corpus）")
    common(sp)
    sp.add_argument("--rebuild", action="store_true", help="全部重建（不复用旧索引的任何向量）")
    sp.add_argument("--allow-shrink", action="store_true",
                    help="允许一次删去索引中一半以上的文档（默认拒绝，以防指错文档文件夹）")
    sp.add_argument("--follow-links", action="store_true", help="也读取指向文档文件夹之外的符号链接（默认跳过）")
    sp.add_argument("--no-ocr", action="store_true", help="不识别扫描件和图片（跳过并说明原因；文字识别较慢）")
    sp.add_argument("--to", default=env("POLICYQA_PUBLISH_TO"),
                    help="写入搜索后端而非本地文件夹，例如 milvus://127.0.0.1:19530/policies（或 $POLICYQA_PUBLISH_TO）")
    sp.add_argument("--json", action="store_true", help="以 JSON 输出摘要")
    sp.set_defaults(func=handlers["index"])

    sp = sub.add_parser("search", help="检索")
    sp.add_argument("query", nargs="?", help="查询内容")
    common(sp)
    sp.add_argument("-k", type=int, default=5, help="返回结果数（默认 5）")
    sp.add_argument("--year", action="append", help="按年份筛选，可重复")
    sp.add_argument("--region", action="append", help="按地区筛选，可重复")
    sp.add_argument("--doc", action="append", help="按文档筛选（文档 ID、文件名或标题片段），可重复")
    sp.add_argument("--current-only", action="store_true",
                    help="只用现行文件：不含已被索引中其他文件废止或取代的旧文件（默认仍可检出，但排在后面并标明）")
    sp.add_argument("--batch", help="批量查询：JSONL 文件（question 字段）或每行一个查询")
    sp.add_argument("--json", action="store_true", help="以 JSON 输出")
    sp.set_defaults(func=handlers["search"])

    sp = sub.add_parser("ask", help="提问，得到注明出处的回答")
    sp.add_argument("question", nargs="?", help="问题")
    common(sp)
    sp.add_argument("-k", type=int, default=5, help="参考段落数（默认 5）")
    sp.add_argument("--batch", help="批量提问：JSONL 文件（question 字段）或每行一个问题")
    sp.add_argument("--today", default=env("POLICYQA_TODAY"),
                    help="“今年”“去年”按此日期理解（YYYY-MM-DD 或 YYYY；默认索引中最新的年份，或 $POLICYQA_TODAY）")
    sp.add_argument("--year", action="append", help="按年份筛选，可重复")
    sp.add_argument("--region", action="append", help="按地区筛选，可重复")
    sp.add_argument("--doc", action="append", help="按文档筛选（文档 ID、文件名或标题片段），可重复")
    sp.add_argument("--current-only", action="store_true",
                    help="只用现行文件：不含已被索引中其他文件废止或取代的旧文件（默认仍可检出，但排在后面并标明）")
    sp.add_argument("--json", action="store_true", help="以 JSON 输出")
    sp.set_defaults(func=handlers["ask"])

    def filters(sp):
        sp.add_argument("--year", action="append", help="按年份筛选，可重复")
        sp.add_argument("--region", action="append", help="按地区筛选，可重复")
        sp.add_argument("--doc", action="append", help="按文档筛选（文档 ID、文件名或标题片段），可重复")
        sp.add_argument("--current-only", action="store_true",
                        help="只用现行文件：不含已被索引中其他文件废止或取代的旧文件（默认仍可检出，但排在后面并标明）")

    def outputs(sp):
        sp.add_argument("--json", action="store_true", help="以 JSON 输出")
        sp.add_argument("--export", help="导出到 .md 或 .docx 文件")

    sp = sub.add_parser("precedents", help="查找先例：各文件如何表述同一事项、有何指标")
    sp.add_argument("text", nargs="?", help="主题或段落（“-” 表示从标准输入读取）")
    sp.add_argument("--file", help="从文件读取段落")
    common(sp)
    filters(sp)
    outputs(sp)
    sp.set_defaults(func=handlers["precedents"], k=1)

    sp = sub.add_parser("compare", help="并排对比两个章节（逐字标出差异）")
    sp.add_argument("first", help="章节 ID，例如 36217970ac#4.18")
    sp.add_argument("second", help="章节 ID")
    common(sp)
    outputs(sp)
    sp.set_defaults(func=handlers["compare"])

    sp = sub.add_parser("draft-check", help="检查草稿：各条目的先例，以及最近同类文件中草稿未涉及的条目")
    sp.add_argument("file", help="草稿文件（.txt / .md）")
    common(sp)
    filters(sp)
    outputs(sp)
    sp.set_defaults(func=handlers["draft-check"], k=1)

    sp = sub.add_parser("documents", help="列出索引中的全部文件：元数据、效力状态、关系与系列")
    common(sp)
    sp.add_argument("--status", action="append", help="只列出此状态的文件（现行有效、已修订、已废止、尚未施行、不明），可重复")
    sp.add_argument("--json", action="store_true", help="以 JSON 输出（每个文件一条记录）")
    sp.set_defaults(func=handlers["documents"])

    sp = sub.add_parser("visibility", help="文档的可见范围：列出标为“内部”的文档，或将文档设为 内部 / 公开")
    sp.add_argument("setting", nargs="?", help="内部（internal）或 公开（public）；不给出时列出内部文档")
    sp.add_argument("docs", nargs="*", metavar="DOC", help="文档 ID、文件名或标题片段（可多个）")
    common(sp)
    sp.add_argument("--json", action="store_true", help="以 JSON 输出（列出时）")
    sp.set_defaults(func=handlers["visibility"], k=1)

    sp = sub.add_parser("changes", help="两份计划之间的变化：新增、删除、调整的条目和改动的指标")
    sp.add_argument("first", help="较早的文件（文档 ID、文件名或标题片段）")
    sp.add_argument("second", help="较新的文件")
    common(sp)
    sp.add_argument("--json", action="store_true", help="以 JSON 输出")
    sp.add_argument("--export", help="导出为 Word（.docx）或 Markdown（.md）文件")
    sp.set_defaults(func=handlers["changes"])

    sp = sub.add_parser("eval", help="在标注问题上评测检索质量")
    sp.add_argument("gold", help="标注文件（JSONL）")
    common(sp)
    sp.add_argument("--json", action="store_true", help="以 JSON 输出")
    sp.add_argument("-v", "--verbose", action="store_true", help="列出未满分的问题")
    sp.add_argument("--answers", action="store_true", help="评测回答：所引段落是否含金标准章节、回答是否含标准答案")
    sp.add_argument("--today", default=env("POLICYQA_TODAY"), help="评测回答时“今年”按此日期理解")
    sp.add_argument("--corpus", action="append", type=corpus_index, metavar="名称=索引",
                    help="多种问题的评测文件中，corpus 字段为该名称的问题用这个索引（可重复）")
    sp.set_defaults(func=handlers["eval"])

    sp = sub.add_parser("user", help="管理网页的用户：add（新增或改密码）、remove、list")
    sp.add_argument("action", choices=["add", "remove", "list"], help="add、remove 或 list")
    sp.add_argument("name", nargs="?", help="用户名")
    sp.add_argument("--users", default=env("POLICYQA_USERS"), help="用户文件（默认 $POLICYQA_USERS）")
    sp.add_argument("--role", choices=["admin", "insider", "reader"], default="reader",
                    help="角色：admin（管理员）、insider（也可阅读标为“内部”的文档）或 reader（默认）")
    sp.add_argument("--password", help="密码（不给出时在终端中输入，至少 8 个字符）")
    sp.add_argument("--group", action="append", default=[], metavar="GROUP",
                    help="所属的组（如部门“督导”；可重复；库的权限中写作 group:督导）。不给出时保留原有的组")
    sp.set_defaults(func=handlers["user"], k=1)

    sp = sub.add_parser("key", help="管理 API 密钥（JSON 接口、OpenAI 兼容接口、MCP、问答框）：create、list、revoke")
    sp.add_argument("action", choices=["create", "list", "revoke"], help="create、list 或 revoke")
    sp.add_argument("name", nargs="?", help="密钥名称（记入审计日志，如“OA门户”）；revoke 时也可用密钥 ID")
    sp.add_argument("--users", default=env("POLICYQA_USERS"), help="用户文件（默认 $POLICYQA_USERS）；密钥保存在它旁边")
    sp.add_argument("--user", help="密钥所属的用户：密钥以该用户的角色行事（create 时必填）")
    sp.add_argument("--scope", choices=["all", "ask"], default="all",
                    help="all：该用户能做的一切（默认）；ask：只能提问和检索（网页问答框用）")
    sp.add_argument("--per-minute", type=int, default=60, help="每分钟最多请求数（默认 60），超过时返回 429")
    sp.add_argument("--json", action="store_true", help="以 JSON 输出")
    sp.set_defaults(func=handlers["key"], k=1)

    sp = sub.add_parser("library", help="管理多个库（各部门的文件与索引）：add、list、rename、remove、grant、revoke、access")
    sp.add_argument("action", choices=["add", "list", "rename", "remove", "grant", "revoke", "access"],
                    help="add、list、rename、remove（只从库文件中去掉，文件夹保留）、grant、revoke、access（某用户能读、能改哪些库）")
    sp.add_argument("name", nargs="?", help="库名（如“党建”）；access：用户名")
    sp.add_argument("target", nargs="?", help="rename：新名称；grant / revoke：用户名、group:组名 或 *（所有用户）")
    sp.add_argument("--libraries", default=env("POLICYQA_LIBRARIES"), help="库文件（默认 $POLICYQA_LIBRARIES）")
    sp.add_argument("--index", help="add：该库的索引文件夹或后端地址（与 --corpus 都不给出时，在库文件旁新建 名称/index 与 名称/corpus）")
    sp.add_argument("--corpus", help="add：该库的文档文件夹")
    sp.add_argument("--as", dest="role", choices=["reader", "insider", "editor"], default="reader",
                    help="grant：reader（阅读公开文档、提问）、insider（也阅读内部文档）或 editor（也可上传、移除、重建、"
                         "设定可见范围）；默认 reader")
    sp.add_argument("--users", default=env("POLICYQA_USERS"), help="access：用户文件（默认 $POLICYQA_USERS）")
    sp.add_argument("--json", action="store_true", help="以 JSON 输出（list、access）")
    sp.set_defaults(func=handlers["library"], k=1)

    sp = sub.add_parser("mcp", help="以 stdio 提供 MCP 服务，供本机的 AI 助手调用（工具：search、ask、get_document 等）")
    common(sp)
    sp.add_argument("--today", default=env("POLICYQA_TODAY"), help="“今年”“去年”按此日期理解（默认索引中最新的年份）")
    sp.set_defaults(func=handlers["mcp"], k=1)
    return p
