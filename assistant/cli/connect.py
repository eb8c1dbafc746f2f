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
