"""`policyqa`: index, search and evaluate from the command line.

Each command checks its input, calls one library function, turns library
errors into a one-line message in Chinese, and prints plain text or JSON.
Settings come from flags, falling back to environment variables.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from indexer.errors import PolicyQAError, os_reason

from .arguments import ChineseParser
from .inputs import MAX_BATCH_BYTES, MAX_BATCH_LINES, topic_notice
from .query import Filters, QueryError, clean_query, query_notice
from .results import SearchResult

if TYPE_CHECKING:
    from indexer.build import BuildReport

    from .engine import SearchEngine

# Imports below are inside the commands: a one-shot `policyqa search` should not pay for
# the indexer, the exporters or the page.

DEFAULT_INDEX = "index"
DEFAULT_CORPUS = "corpus"
MAX_K = 200  # results per query: the candidates fetched grow with it
LISTED = 20  # files named per kind of change in the summary of a build


class UserError(PolicyQAError):
    """Bad input from the user: printed as is, exit status 1."""


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name) or default


# --- output helpers ---------------------------------------------------------------

def _print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def _color() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _progress_printer():
    """A tqdm bar per stage on stderr (only on a terminal)."""
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def update(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, unit="页" if stage == "文字识别" else "项", file=sys.stderr,
                                     disable=None, leave=False, dynamic_ncols=True)
        bar.total = total
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    return update


# --- commands ----------------------------------------------------------------------

def cmd_index(args) -> int:
    corpus = Path(args.corpus or _env("POLICYQA_CORPUS", DEFAULT_CORPUS))
    from indexer.build import build_index

    from .engine import is_local, publisher_for

    target = args.to or (None if is_local(args.index) else args.index)
    options = {"model": args.model, "rebuild": args.rebuild, "progress": None if args.json else _progress_printer(),
               "allow_shrink": args.allow_shrink, "follow_links": args.follow_links, "use_ocr": not args.no_ocr}
    if target is not None:
        if is_local(target):
            raise UserError(f"--to 应为搜索后端的地址，例如 milvus://127.0.0.1:19530/policies（收到“{target}”）")
        report = publisher_for(target)(corpus, target, **options)
    else:
        report = build_index(corpus, Path(args.index), **options)
    if args.json:
        _print_json(report.to_dict())
    else:
        print(_format_report(report))
    return 0


def _format_report(r: BuildReport) -> str:
    lines = []
    if r.up_to_date:
        lines.append(f"索引已是最新：{r.index_dir}（{r.documents} 个文档，{r.sections} 个章节，{r.chunks} 个文本块）")
    else:
        lines.append(f"已建立索引：{r.index_dir}")
        lines.append(f"  文档 {r.documents} 个，章节 {r.sections} 个，文本块 {r.chunks} 个")
        changes = [f"新增 {len(r.added)}", f"更新 {len(r.changed)}", f"删除 {len(r.removed)}", f"未变 {r.unchanged}"]
        lines.append("  文件：" + "，".join(changes))
        speed = f"，解析 {r.characters} 字，{r.characters / r.seconds:.0f} 字/秒" if r.characters and r.seconds else ""
        lines.append(f"  向量：新计算 {r.embedded} 个，复用 {r.reused} 个；用时 {r.seconds:.1f} 秒{speed}")
        for label, names in (("新增", r.added), ("更新", r.changed), ("删除", r.removed)):
            for name in names[:LISTED]:
                lines.append(f"  {label}：{name}")
            if len(names) > LISTED:
                lines.append(f"  {label}：……另有 {len(names) - LISTED} 个（--json 列出全部）")
    if r.skipped:
        lines.append(f"  跳过 {len(r.skipped)} 个文件：")
        for s in r.skipped:
            lines.append(f"    {s.source}：{s.reason}")
    if r.warnings:
        lines.append(f"  请检查 {len(r.warnings)} 个文件：")
        for w in r.warnings:
            lines.append(f"    {w.source}：{w.reason}")
    return "\n".join(lines)


def _filters(args) -> Filters:
    years = set()
    for y in args.year or []:
        if not str(y).isdigit():
            raise UserError(f"年份应为数字，例如 --year 2023（收到“{y}”）")
        years.add(int(y))
    return Filters(years=years, regions=set(args.region or []), docs=set(args.doc or []))


def _notice(query: str | None) -> None:
    notice = query_notice(query)
    if notice:
        print(f"注意：{notice}", file=sys.stderr)


def _searcher(args) -> SearchEngine:
    from .engine import open_engine
    from .expand import THESAURUS, Thesaurus

    extra = getattr(args, "thesaurus", None)
    thesaurus = Thesaurus.load(THESAURUS, Path(extra)) if extra else None
    return open_engine(args.index, model=args.model, thesaurus=thesaurus)


def cmd_search(args) -> int:
    if args.batch:
        return _search_batch(args)
    if args.query is None:
        raise UserError("请给出查询内容，例如：policyqa search 发展党员有哪些要求")
    query = clean_query(args.query)
    _notice(args.query)
    if not query:
        raise UserError("查询内容为空，请输入要搜索的问题或关键词")
    searcher = _searcher(args)
    results = searcher.search(query, k=args.k, filters=_filters(args))
    if args.json:
        _print_json(search_json(query, results))
    else:
        print(format_results(query, results))
    return 0


def search_json(query: str, results: list[SearchResult]) -> dict:
    return {"query": query, "results": [r.to_json() for r in results]}


def format_results(query: str, results: list[SearchResult]) -> str:
    from .highlight import mark, query_terms, snippet

    if not results:
        return f"没有找到与“{query}”相关的内容。"
    base = query_terms(query)
    on, off = ("\033[1;33m", "\033[0m") if _color() else ("【", "】")
    out = []
    for r in results:
        terms = sorted(set(base) | {m["term"] for m in r.matched_terms if len(m["term"]) >= 2}, key=len, reverse=True)
        path = " › ".join([r.title, *r.section_path])
        meta = " · ".join(str(x) for x in (f"得分 {r.score:.2f}", r.year, r.region, r.source) if x)
        text, _ = snippet(r.text, terms)
        out.append(f"{r.rank}. {path}\n   {meta}\n   {mark(text, terms, on, off)}")
        if r.matched_terms:
            out[-1] += "\n   匹配：" + "、".join(matched_label(m) for m in r.matched_terms)
    return "\n\n".join(out)


def matched_label(m: dict) -> str:
    return f"{m['term']}（由“{m['from']}”扩展）" if m.get("from") else m["term"]


def read_batch(path: Path) -> list[tuple[int, str | None, str | None]]:
    """(line number, question, error) for each non-blank line of a batch file.

    A file whose first line is a JSON object is read as JSONL: every line must be an object
    with a `question`. Otherwise every line is a query. The file's size and number of lines
    are checked before anything is searched; a long line is searched by its beginning."""
    try:
        size = path.stat().st_size
        if size > MAX_BATCH_BYTES:
            raise UserError(f"批量查询文件过大（{size / 1024 / 1024:.1f} MB，上限 {MAX_BATCH_BYTES // 1024 // 1024} MB）：请拆分")
        data = path.read_bytes()
    except OSError as e:
        raise UserError(f"无法读取批量查询文件 {path}：{os_reason(e)}") from e
    lines = data.split(b"\n")
    if sum(1 for raw in lines if raw.strip()) > MAX_BATCH_LINES:
        raise UserError(f"批量查询文件的查询超过 {MAX_BATCH_LINES} 行：请拆分")
    items = []
    jsonl = None
    for n, raw in enumerate(lines, start=1):
        try:
            line = raw.decode("utf-8").lstrip("\ufeff").strip()
        except UnicodeDecodeError:
            items.append((n, None, "不是合法的 UTF-8 文本"))
            continue
        if not line:
            continue
        if jsonl is None:
            jsonl = line.startswith("{")
        if line.startswith("{") or jsonl:
            try:
                obj = json.loads(line)
            except ValueError:
                items.append((n, None, "不是合法的 JSON"))
                continue
            question = obj.get("question") if isinstance(obj, dict) else None
            if not isinstance(question, str) or not question.strip():
                items.append((n, None, "缺少 question 字段"))
                continue
            items.append((n, question.strip(), None))
        else:
            items.append((n, line, None))
    return items


def _search_batch(args) -> int:
    items = read_batch(Path(args.batch))
    if not items:
        raise UserError(f"批量查询文件 {args.batch} 中没有查询")
    searcher = _searcher(args)
    filters = _filters(args)
    answered = 0
    for line, raw, error in items:
        question = clean_query(raw) if raw is not None else None  # a 55 MB line is never echoed whole
        notice = query_notice(raw) if raw is not None else ""
        if notice:
            print(f"第 {line} 行：{notice}", file=sys.stderr)
        if error is None:
            try:
                results = searcher.search(question, k=args.k, filters=filters)
            except QueryError as e:
                error = str(e)
        if error is not None:
            print(f"第 {line} 行：{error}", file=sys.stderr)
            if args.json:
                _print_json({"line": line, "query": question, "error": error, "results": []})
            continue
        answered += 1
        if args.json:
            _print_json({"line": line, **search_json(question, results), **({"notice": notice} if notice else {})})
        else:
            print(f"# {question}\n{format_results(question, results)}\n")
    return 0 if answered else 1


def cmd_eval(args) -> int:
    from .evaluate import evaluate, load_gold, metric_line

    items = load_gold(Path(args.gold))
    searcher = _searcher(args)
    if args.answers:
        return _eval_answers(searcher, items, args)
    summary, scores = evaluate(searcher, items)
    if args.json:
        _print_json({**summary, "questions": [s.__dict__ for s in scores] if args.verbose else None})
        return 0
    o = summary["overall"]
    print(f"{args.gold}：{o['questions']} 个问题")
    print(f"  {metric_line(o)}")
    for t, g in summary["by_type"].items():
        if len(summary["by_type"]) > 1 or t != "-":
            print(f"  {t:<18} n={g['questions']:<4} {metric_line(g)}")
    if args.verbose:
        for s in scores:
            if not s.perfect():
                print(f"  未满分 {s.id} [{s.type}] {s.question}：{metric_line(s.metrics)}；名次 {s.found_ranks}")
    return 0


def cmd_ask(args) -> int:
    from .answer import Answerer
    from .llm import LLMConfig
    from .plain import answer_text

    if args.batch:
        return _ask_batch(args)
    if args.question is None:
        raise UserError("请给出问题，例如：policyqa ask 发展党员有哪些要求")
    question = clean_query(args.question)
    _notice(args.question)
    if not question:
        raise UserError("问题为空，例如：policyqa ask 发展党员有哪些要求")
    answerer = Answerer(_searcher(args), today=args.today)
    config = LLMConfig.from_env()
    filters = _filters(args)
    if config is None:
        answer = answerer.answer(question, k=args.k, filters=filters)
    else:
        answer, shown = None, 0
        for answer in answerer.generate(question, config, k=args.k, filters=filters):
            if not args.json and answer.mode == "generative" and len(answer.text) > shown:
                sys.stdout.write(answer.text[shown:])  # stream as it is written
                sys.stdout.flush()
                shown = len(answer.text)
        if shown and not args.json:
            sys.stdout.write("\n")
            answer.text = ""  # already printed
    if args.json:
        _print_json(answer.to_json())
    elif answer.mode == "generative" and not answer.text:
        print(answer_text(answer).lstrip("\n"))
    else:
        print(answer_text(answer))
    return 0


def _ask_batch(args) -> int:
    """`ask --batch FILE`: the same input rules as `search --batch`; the extractive answer of
    every line (scripts want one kind of answer per run)."""
    from .answer import Answerer
    from .plain import answer_text

    items = read_batch(Path(args.batch))
    if not items:
        raise UserError(f"批量问题文件 {args.batch} 中没有问题")
    answerer = Answerer(_searcher(args), today=args.today)
    filters = _filters(args)
    answered = 0
    for line, raw, error in items:
        question = clean_query(raw) if raw is not None else None
        notice = query_notice(raw) if raw is not None else ""
        if notice:
            print(f"第 {line} 行：{notice}", file=sys.stderr)
        if error is None and not question:
            error = "问题为空"
        if error is not None:
            print(f"第 {line} 行：{error}", file=sys.stderr)
            if args.json:
                _print_json({"line": line, "question": question, "error": error})
            continue
        answer = answerer.answer(question, k=args.k, filters=filters)
        answered += 1
        if args.json:
            _print_json({"line": line, **answer.to_json(), **({"notice": notice} if notice else {})})
        else:
            print(f"# {question}\n{answer_text(answer)}\n")
    return 0 if answered else 1


def _eval_answers(searcher, items, args) -> int:
    from .answer import Answerer
    from .evaluate import evaluate_answers

    result = evaluate_answers(Answerer(searcher, today=args.today), items)
    if args.json:
        _print_json(result if args.verbose else {k: v for k, v in result.items() if k != "details"})
        return 0
    print(f"{args.gold}：{result['questions']} 个问题，拒答 {result['refused']} 个")
    if "share" in result:
        print(f"  回答所引段落含金标准章节的 {result['answers_citing_gold']} 个（{result['share']:.1%}）")
    if "answer_share" in result:
        print(f"  回答文字含标准答案的 {result['answers_containing_gold']} 个（{result['with_gold_answer']} 个有标准答案，"
              f"{result['answer_share']:.1%}）；前 5 段含标准答案的 {result['passages_containing_gold']} 个，"
              f"回答保留其中 {result['of_what_passages_hold']:.1%}")
    if args.verbose:
        for row in result["details"]:
            if row.get("hit") is False or row.get("contains_answer") is False:
                print(f"  未命中 {row['id']} {row['question']}（{row['status']}）")
    return 0


def _topic(args) -> str:
    text = args.text
    if args.file:
        from .draft import read_draft

        text = read_draft(args.file)
    elif text == "-":
        text = sys.stdin.read()
    text = (text or "").strip()
    if not text:
        raise UserError("请给出主题或段落，例如：policyqa precedents 党建品牌创建")
    notice = topic_notice(text)
    if notice:
        print(f"注意：{notice}", file=sys.stderr)
    return text


def _export(blocks, path: str | None) -> None:
    if path:
        from .export import write

        written = write(blocks, Path(path))
        print(f"已导出：{written}", file=sys.stderr)


def cmd_precedents(args) -> int:
    from .answer import Answerer
    from .export import precedent_blocks
    from .plain import precedents_text
    from .precedents import find_precedents

    text = _topic(args)
    result = find_precedents(Answerer(_searcher(args)), text, _filters(args))
    return _emit(args, result, lambda: precedents_text(result), precedent_blocks)


def _emit(args, result, text, blocks) -> int:
    """Print a drafting result as JSON or text, then export it if asked."""
    if args.json:
        _print_json(result.to_json())
    else:
        print(text())
    _export(blocks(result), args.export)
    return 0


def cmd_compare(args) -> int:
    from .compare import SectionNotFound, compare_sections
    from .export import comparison_blocks
    from .plain import comparison_text

    try:
        result = compare_sections(_searcher(args), args.first, args.second)
    except SectionNotFound as e:
        raise UserError(str(e)) from e
    return _emit(args, result, lambda: comparison_text(result, color=_color()), comparison_blocks)


def cmd_draft_check(args) -> int:
    from .answer import Answerer
    from .draft import DraftError, check_draft, read_draft
    from .export import draft_blocks
    from .plain import draft_text

    try:
        report = check_draft(Answerer(_searcher(args)), read_draft(args.file), _filters(args))
    except DraftError as e:
        raise UserError(str(e)) from e
    return _emit(args, report, lambda: draft_text(report), draft_blocks)


def cmd_user(args) -> int:
    """`policyqa user add|remove|list --users FILE`: the accounts of the page."""
    import getpass

    from .accounts import AccountError, UsersFile

    if not args.users:
        raise UserError("请用 --users 指定用户文件（或设置 POLICYQA_USERS）")
    users = UsersFile(Path(args.users))
    if args.action == "list":
        for account in users.accounts().values():
            print(f"{account.name}\t{'管理员' if account.is_admin else '读者'}")
        return 0
    if not args.name:
        raise UserError(f"请给出用户名，例如：policyqa user {args.action} zhang --users {args.users}")
    if args.action == "remove":
        users.remove(args.name)
        print(f"已删除用户：{args.name}", file=sys.stderr)
        return 0
    password = args.password
    if password is None:
        if not sys.stdin.isatty():
            raise AccountError("请用 --password 给出密码，或在终端中运行以输入密码")
        password = getpass.getpass("密码：")
        if getpass.getpass("再输入一次：") != password:
            raise AccountError("两次输入的密码不一致")
    account = users.add(args.name, args.role, password)
    print(f"已保存用户：{account.name}（{'管理员' if account.is_admin else '读者'}）→ {args.users}", file=sys.stderr)
    return 0


# --- parser ------------------------------------------------------------------------------

def common(sp) -> None:
    """The settings every command that opens an index takes."""
    sp.add_argument("--index", default=_env("POLICYQA_INDEX", DEFAULT_INDEX),
                    help="索引文件夹或搜索后端地址（默认 $POLICYQA_INDEX 或 ./index）")
    sp.add_argument("--thesaurus", default=_env("POLICYQA_THESAURUS"),
                    help="追加的词表文件（日常说法 => 文件用语，默认 $POLICYQA_THESAURUS）")
    sp.add_argument("--model", default=_env("POLICYQA_MODEL"),
                    help="向量模型名称或路径（默认 $POLICYQA_MODEL 或 m3e-small）")


def build_parser() -> argparse.ArgumentParser:
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
    sp.add_argument("--to", default=_env("POLICYQA_PUBLISH_TO"),
                    help="写入搜索后端而非本地文件夹，例如 milvus://127.0.0.1:19530/policies（或 $POLICYQA_PUBLISH_TO）")
    sp.add_argument("--json", action="store_true", help="以 JSON 输出摘要")
    sp.set_defaults(func=cmd_index)

    sp = sub.add_parser("search", help="检索")
    sp.add_argument("query", nargs="?", help="查询内容")
    common(sp)
    sp.add_argument("-k", type=int, default=5, help="返回结果数（默认 5）")
    sp.add_argument("--year", action="append", help="按年份筛选，可重复")
    sp.add_argument("--region", action="append", help="按地区筛选，可重复")
    sp.add_argument("--doc", action="append", help="按文档筛选（文档 ID、文件名或标题片段），可重复")
    sp.add_argument("--batch", help="批量查询：JSONL 文件（question 字段）或每行一个查询")
    sp.add_argument("--json", action="store_true", help="以 JSON 输出")
    sp.set_defaults(func=cmd_search)

    sp = sub.add_parser("ask", help="提问，得到注明出处的回答")
    sp.add_argument("question", nargs="?", help="问题")
    common(sp)
    sp.add_argument("-k", type=int, default=5, help="参考段落数（默认 5）")
    sp.add_argument("--batch", help="批量提问：JSONL 文件（question 字段）或每行一个问题")
    sp.add_argument("--today", default=_env("POLICYQA_TODAY"),
                    help="“今年”“去年”按此日期理解（YYYY-MM-DD 或 YYYY；默认索引中最新的年份，或 $POLICYQA_TODAY）")
    sp.add_argument("--year", action="append", help="按年份筛选，可重复")
    sp.add_argument("--region", action="append", help="按地区筛选，可重复")
    sp.add_argument("--doc", action="append", help="按文档筛选（文档 ID、文件名或标题片段），可重复")
    sp.add_argument("--json", action="store_true", help="以 JSON 输出")
    sp.set_defaults(func=cmd_ask)

    def filters(sp):
        sp.add_argument("--year", action="append", help="按年份筛选，可重复")
        sp.add_argument("--region", action="append", help="按地区筛选，可重复")
        sp.add_argument("--doc", action="append", help="按文档筛选（文档 ID、文件名或标题片段），可重复")

    sp = sub.add_parser("precedents", help="查找先例：各文件如何表述同一事项、有何指标")
    sp.add_argument("text", nargs="?", help="主题或段落（“-” 表示从标准输入读取）")
    sp.add_argument("--file", help="从文件读取段落")
    common(sp)
    filters(sp)
    sp.add_argument("--json", action="store_true", help="以 JSON 输出")
    sp.add_argument("--export", help="导出到 .md 或 .docx 文件")
    sp.set_defaults(func=cmd_precedents, k=1)

    sp = sub.add_parser("compare", help="并排对比两个章节（逐字标出差异）")
    sp.add_argument("first", help="章节 ID，例如 36217970ac#4.18")
    sp.add_argument("second", help="章节 ID")
    common(sp)
    sp.add_argument("--json", action="store_true", help="以 JSON 输出")
    sp.add_argument("--export", help="导出到 .md 或 .docx 文件")
    sp.set_defaults(func=cmd_compare)

    sp = sub.add_parser("draft-check", help="检查草稿：各条目的先例，以及最近同类文件中草稿未涉及的条目")
    sp.add_argument("file", help="草稿文件（.txt / .md）")
    common(sp)
    filters(sp)
    sp.add_argument("--json", action="store_true", help="以 JSON 输出")
    sp.add_argument("--export", help="导出到 .md 或 .docx 文件")
    sp.set_defaults(func=cmd_draft_check, k=1)

    sp = sub.add_parser("eval", help="在标注问题上评测检索质量")
    sp.add_argument("gold", help="标注文件（JSONL）")
    common(sp)
    sp.add_argument("--json", action="store_true", help="以 JSON 输出")
    sp.add_argument("-v", "--verbose", action="store_true", help="列出未满分的问题")
    sp.add_argument("--answers", action="store_true", help="评测回答：所引段落是否含金标准章节、回答是否含标准答案")
    sp.add_argument("--today", default=_env("POLICYQA_TODAY"), help="评测回答时“今年”按此日期理解")
    sp.set_defaults(func=cmd_eval)

    sp = sub.add_parser("user", help="管理网页的用户：add（新增或改密码）、remove、list")
    sp.add_argument("action", choices=["add", "remove", "list"], help="add、remove 或 list")
    sp.add_argument("name", nargs="?", help="用户名")
    sp.add_argument("--users", default=_env("POLICYQA_USERS"), help="用户文件（默认 $POLICYQA_USERS）")
    sp.add_argument("--role", choices=["admin", "reader"], default="reader", help="角色：admin 或 reader（默认 reader）")
    sp.add_argument("--password", help="密码（不给出时在终端中输入，至少 8 个字符）")
    sp.set_defaults(func=cmd_user, k=1)
    return p


def main(argv: list[str] | None = None, parser: argparse.ArgumentParser | None = None) -> int:
    try:
        parser = parser or build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        k = getattr(args, "k", 1)
        if k is not None and not 1 <= k <= MAX_K:
            raise UserError(f"结果数 -k 应在 1 到 {MAX_K} 之间（收到 {k}）")
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe is reported here, inside the handlers below
        return code
    except PolicyQAError as e:
        print(f"错误：{e}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # the reader went away (`policyqa search … | head -1`): stop quietly, as other tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print("已中断。", file=sys.stderr)
        return 130
    except Exception as e:  # no traceback reaches a user unless asked for
        if os.environ.get("POLICYQA_DEBUG"):
            raise
        print(f"内部错误：{type(e).__name__}: {e}（设置 POLICYQA_DEBUG=1 可查看详情）", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
