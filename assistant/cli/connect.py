"""Commands that connect other systems: `policyqa key` (API keys) and `policyqa mcp` (an MCP
server over stdio for a local AI assistant)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .output import UserError, _print_json, _searcher


def cmd_key(args) -> int:
    """`policyqa key create|list|revoke --users FILE`: keys for the HTTP API, the OpenAI-compatible
    endpoint, MCP over HTTP and the widget; each key acts as one user of the users file."""
    from ..office.accounts import UsersFile
    from ..office.keys import KeysFile, keys_path_for

    if not args.users:
        raise UserError("请用 --users 指定用户文件（或设置 POLICYQA_USERS）：密钥保存在它旁边，每个密钥属于其中一个用户")
    keys = KeysFile(keys_path_for(Path(args.users)))
    if args.action == "list":
        records = [k.public() for k in keys.records()]
        if args.json:
            for r in records:
                _print_json(r)
        for r in [] if args.json else records:
            state = f"已吊销 {r['revoked']}" if r["revoked"] else "有效"
            print(f"{r['id']}\t{r['name']}\t{r['user']}\t{r['scope']}\t每分钟 {r['per_minute']} 次\t{state}")
        return 0
    if not args.name:
        raise UserError(f"请给出密钥名称或 ID，例如：policyqa key {args.action} OA门户 --users {args.users}")
    if args.action == "revoke":
        key = keys.revoke(args.name)
        print(f"已吊销密钥：{key.name}（{key.id}）", file=sys.stderr)
        return 0
    if not args.user:
        raise UserError("请用 --user 指定密钥所属的用户（密钥以该用户的角色行事）")
    if UsersFile(Path(args.users)).get(args.user) is None:
        raise UserError(f"用户文件中没有用户 {args.user}（policyqa user add {args.user} … 先建立）")
    record, secret = keys.create(args.name, args.user, args.scope, args.per_minute)
    if args.json:
        _print_json({**record.public(), "key": secret})
    else:
        print(secret)
        print(f"已建立密钥：{record.name}（{record.id}，用户 {record.user}，范围 {record.scope}）。"
              "密钥只显示这一次，请妥善保存。", file=sys.stderr)
    return 0


def cmd_mcp(args) -> int:
    """`policyqa mcp --index DIR`: an MCP server over stdio (for a local AI assistant's config)."""
    from ..answers.answer import Answerer
    from ..interfaces.mcp_server import build_mcp

    engine = _searcher(args)
    answerer = Answerer(engine, today=getattr(args, "today", None))
    name = Path(str(args.index)).resolve().name if "://" not in str(args.index) else str(args.index).rsplit("/", 1)[-1]
    server = build_mcp(lambda: engine, lambda: answerer, name=f"policyqa-{name}")
    print(json.dumps({"policyqa": "MCP 服务已启动（stdio）", "index": str(args.index)}, ensure_ascii=False),
          file=sys.stderr)
    server.run("stdio")
    return 0


def cmd_library(args) -> int:
    """`policyqa library add|list|rename|remove|grant|revoke --libraries FILE`."""
    from ..office.libraries import ROLE_LABELS, LibrariesFile

    if not args.libraries:
        raise UserError("请用 --libraries 指定库文件（或设置 POLICYQA_LIBRARIES），例如：--libraries /srv/policyqa/libraries.json")
    registry = LibrariesFile(Path(args.libraries))
    if args.action == "list":
        libraries = registry.libraries()
        if args.json:
            for lib in libraries:
                _print_json({"name": lib.name, "index": lib.index, "corpus": lib.corpus, "readers": lib.readers,
                             "insiders": lib.insiders, "editors": lib.editors})
            return 0
        for lib in libraries:
            print(f"{lib.name}\t{lib.index}\t{lib.corpus or '-'}\t阅读：{'、'.join(lib.readers) or '-'}\t"
                  f"内部：{'、'.join(lib.insiders) or '-'}\t编辑：{'、'.join(lib.editors) or '-'}")
        if not libraries:
            print(f"库文件 {registry.path} 中还没有库", file=sys.stderr)
        return 0
    if not args.name:
        raise UserError(f"请给出库名，例如：policyqa library {args.action} 党建 --libraries {args.libraries}")
    if args.action == "access":
        return _library_access(registry, args)
    if args.action == "add":
        lib = registry.add(args.name, args.index or "", args.corpus or "")
        print(f"已添加库：{lib.name}（索引 {registry.location(lib)}，文档文件夹 {registry.location(lib, 'corpus') or '-'}）",
              file=sys.stderr)
        return 0
    if args.action == "remove":
        gone = registry.remove(args.name)
        print(f"已从库文件中去掉库：{gone.name}（其索引 {gone.index} 与文档文件夹保持不变，可再用 add 加回）", file=sys.stderr)
        return 0
    if not args.target:
        what = "新名称" if args.action == "rename" else "用户名、group:组名 或 *"
        raise UserError(f"请给出{what}，例如：policyqa library {args.action} {args.name} … --libraries {args.libraries}")
    if args.action == "rename":
        registry.rename(args.name, args.target)
        print(f"已将库“{args.name}”改名为“{args.target}”", file=sys.stderr)
    elif args.action == "grant":
        registry.grant(args.name, args.target, args.role)
        print(f"已授予 {args.target} 在库“{args.name}”中的权限：{ROLE_LABELS[args.role]}", file=sys.stderr)
    else:
        registry.revoke(args.name, args.target)
        print(f"已取消 {args.target} 在库“{args.name}”中的权限", file=sys.stderr)
    return 0


def _library_access(registry, args) -> int:
    """`policyqa library access USER`: which libraries a user may read and edit."""
    from ..office.accounts import UsersFile
    from ..office.libraries import Person, may_edit, may_read, may_read_internal

    if not args.users:
        raise UserError("请用 --users 指定用户文件（或设置 POLICYQA_USERS）")
    account = UsersFile(Path(args.users)).get(args.name)
    if account is None:
        raise UserError(f"用户文件中没有用户 {args.name}")
    person = Person(account.name, account.groups, account.is_admin, account.is_insider)
    rows = [{"library": lib.name, "read": may_read(lib, person), "internal": may_read_internal(lib, person),
             "edit": may_edit(lib, person)} for lib in registry.libraries()]
    if args.json:
        _print_json({"user": account.name, "groups": list(account.groups), "admin": account.is_admin, "libraries": rows})
        return 0
    for r in rows:
        print(f"{r['library']}\t{'可编辑' if r['edit'] else '可阅读（含内部文档）' if r['internal'] else '可阅读（公开文档）' if r['read'] else '无权限'}")
    return 0
