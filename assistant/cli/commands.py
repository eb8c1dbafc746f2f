"""`policyqa`: index, search and evaluate from the command line.

Each command checks its input, calls one library function, turns library
errors into a one-line message in Chinese, and prints plain text or JSON.
Settings come from flags, falling back to environment variables.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from indexer.errors import PolicyQAError

from ..interfaces.records import answer_record, search_record
from ..office.jobs import progress_lines, progress_seconds
from ..present.terminal import color, format_report, format_results
from ..search.inputs import topic_notice
from ..search.query import Filters, QueryError, clean_query, query_notice
from . import arguments
from .batch import read_batch
from .connect import cmd_key, cmd_library, cmd_mcp

if TYPE_CHECKING:

    pass

# Imports below are inside the commands: a one-shot `policyqa search` should not pay for
# the indexer, the exporters or the page.

from .documents import cmd_changes, cmd_documents, cmd_visibility  # noqa: E402
from .output import UserError, _emit, _export, _print_json, _searcher  # noqa: E402,F401 - UserError is raised here

DEFAULT_CORPUS = "corpus"
MAX_K = 200  # results per query: the candidates fetched grow with it


# --- output helpers ---------------------------------------------------------------

def _progress_printer():
    """A tqdm bar per stage on stderr on a terminal; without one (make, nohup, a service
    manager's log) lines at a steady interval (office/jobs.py)."""
    if not sys.stderr.isatty():
        return progress_lines(progress_seconds())
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
    corpus = Path(args.corpus or arguments.env("POLICYQA_CORPUS", DEFAULT_CORPUS))
    from indexer.build import build_index

    from ..search.engine import is_local, publisher_for

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
        print(format_report(report))
    return 0


def _filters(args) -> Filters:
    years = set()
    for y in args.year or []:
        if not str(y).isdigit():
            raise UserError(f"年份应为数字，例如 --year 2023（收到“{y}”）")
        years.add(int(y))
    return Filters(years=years, regions=set(args.region or []), docs=set(args.doc or []),
                   current_only=bool(getattr(args, "current_only", False)))


def _notice(query: str | None) -> None:
    notice = query_notice(query)
    if notice:
        print(f"注意：{notice}", file=sys.stderr)


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
        _print_json(search_record(query, results))
    else:
        print(format_results(query, results))
    return 0


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
            _print_json({"line": line, **search_record(question, results), **({"notice": notice} if notice else {})})
        else:
            print(f"# {question}\n{format_results(question, results)}\n")
    return 0 if answered else 1


def cmd_eval(args) -> int:
    from ..search.evaluate import evaluate, is_kinds_file, load_gold, metric_line

    items = load_gold(Path(args.gold))
    if is_kinds_file(items):
        return _eval_kinds(items, args)
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
    from ..answers.answer import Answerer
    from ..answers.llm import LLMConfig
    from ..present.plain import answer_text

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
        _print_json(answer_record(answer))
    elif answer.mode == "generative" and not answer.text:
        print(answer_text(answer).lstrip("\n"))
    else:
        print(answer_text(answer))
    return 0


def _ask_batch(args) -> int:
    """`ask --batch FILE`: the same input rules as `search --batch`; the extractive answer of
    every line (scripts want one kind of answer per run)."""
    from ..answers.answer import Answerer
    from ..present.plain import answer_text

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
            _print_json({"line": line, **answer_record(answer), **({"notice": notice} if notice else {})})
        else:
            print(f"# {question}\n{answer_text(answer)}\n")
    return 0 if answered else 1


def _eval_kinds(items, args) -> int:
    """Questions of several kinds, each asked of the index its `corpus` names (`--corpus`), else --index."""
    from ..answers.answer import Answerer
    from ..answers.judge import evaluate_kinds
    from ..present.plain import kinds_eval_text

    indexes, opened = dict(args.corpus or []), {}

    def answerer_for(corpus: str | None):
        location = indexes.get(corpus or "", None if indexes else args.index)
        if location is not None and location not in opened:
            opened[location] = Answerer(_searcher(argparse.Namespace(**{**vars(args), "index": location})))
        return opened.get(location)

    result = evaluate_kinds(answerer_for, items, args.today)
    if args.json:
        _print_json(result if args.verbose else {k: v for k, v in result.items() if k != "details"})
    else:
        print(kinds_eval_text(args.gold, result, args.verbose))
    return 0


def _eval_answers(searcher, items, args) -> int:
    from ..answers.answer import Answerer
    from ..present.plain import answers_eval_text
    from ..search.evaluate import evaluate_answers

    result = evaluate_answers(Answerer(searcher, today=args.today), items)
    if args.json:
        _print_json(result if args.verbose else {k: v for k, v in result.items() if k != "details"})
    else:
        print(answers_eval_text(args.gold, result, args.verbose))
    return 0


def _topic(args) -> str:
    text = args.text
    if args.file:
        from ..drafting.draft import read_draft

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


def cmd_precedents(args) -> int:
    from ..answers.answer import Answerer
    from ..drafting.export import precedent_blocks
    from ..drafting.precedents import find_precedents
    from ..present.plain import precedents_text

    text = _topic(args)
    result = find_precedents(Answerer(_searcher(args)), text, _filters(args))
    return _emit(args, result, lambda: precedents_text(result), precedent_blocks)


def cmd_compare(args) -> int:
    from ..drafting.compare import SectionNotFound, compare_sections
    from ..drafting.export import comparison_blocks
    from ..present.plain import comparison_text

    try:
        result = compare_sections(_searcher(args), args.first, args.second)
    except SectionNotFound as e:
        raise UserError(str(e)) from e
    return _emit(args, result, lambda: comparison_text(result, color=color()), comparison_blocks)


def cmd_draft_check(args) -> int:
    from ..answers.answer import Answerer
    from ..drafting.draft import DraftError, check_draft, read_draft
    from ..drafting.export import draft_blocks
    from ..present.plain import draft_text

    try:
        report = check_draft(Answerer(_searcher(args)), read_draft(args.file), _filters(args))
    except DraftError as e:
        raise UserError(str(e)) from e
    return _emit(args, report, lambda: draft_text(report), draft_blocks)


def cmd_user(args) -> int:
    """`policyqa user add|remove|list --users FILE`: the accounts of the page."""
    import getpass

    from ..office.accounts import AccountError, UsersFile

    if not args.users:
        raise UserError("请用 --users 指定用户文件（或设置 POLICYQA_USERS）")
    users = UsersFile(Path(args.users))
    if args.action == "list":
        for account in users.accounts().values():
            print(f"{account.name}\t{'管理员' if account.is_admin else '读者'}\t{'、'.join(account.groups) or '-'}")
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
    account = users.add(args.name, args.role, password, groups=args.group or None)
    print(f"已保存用户：{account.name}（{'管理员' if account.is_admin else '读者'}）→ {args.users}", file=sys.stderr)
    return 0



# --- parser ------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    return arguments.build_parser({
        "index": cmd_index, "search": cmd_search, "ask": cmd_ask, "precedents": cmd_precedents,
        "compare": cmd_compare, "draft-check": cmd_draft_check, "eval": cmd_eval, "user": cmd_user,
        "documents": cmd_documents, "visibility": cmd_visibility, "changes": cmd_changes, "key": cmd_key,
        "library": cmd_library, "mcp": cmd_mcp,
    })


common = arguments.common  # the page's `serve` command takes the same settings


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
