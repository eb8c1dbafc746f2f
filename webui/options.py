"""How the page is served, and its service started, without importing Gradio: `python ui.py`
starts loading the index and the models while Gradio (~3 s of imports) is still loading."""

from __future__ import annotations

import argparse
import os
import threading
from dataclasses import dataclass, fields
from pathlib import Path

from assistant.answers.llm import LLMConfig
from assistant.office.libraries import LibrariesFile
from assistant.office.service import Service
from assistant.office.shelf import Shelf
from indexer import store


@dataclass
class Options:
    """The flags of `python ui.py` and `policyqa serve`, each with an environment fallback."""

    index: str = "index"
    host: str = "127.0.0.1"
    port: int = 7860
    model: str | None = None
    corpus: str | None = None
    auth: str | None = None  # `user:password`: one administrator
    users: str | None = None  # a users file (assistant/office/accounts.py)
    share: bool = False
    today: str | None = None
    journal_dir: str | None = None
    trusted_proxy: str | None = None  # addresses of reverse proxies whose X-Forwarded-For is believed
    session_idle: float | None = None  # minutes without activity after which a login ends
    libraries: str | None = None  # a libraries file: serve its libraries, each user reading those they may
    library: list[str] | None = None  # only these of them

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Options:
        return cls(**{f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)})


def add_arguments(p: argparse.ArgumentParser, index: bool = True) -> None:
    env = os.environ.get
    if index:
        p.add_argument("--index", default=env("POLICYQA_INDEX", "index"),
                       help="索引文件夹，或已注册后端的地址（如 milvus://…；默认 $POLICYQA_INDEX 或 ./index）")
        p.add_argument("--model", default=env("POLICYQA_MODEL"), help="向量模型（默认 $POLICYQA_MODEL 或 m3e-small）")
    if index:  # `policyqa serve` has them with every command that opens an index
        p.add_argument("--libraries", default=env("POLICYQA_LIBRARIES"),
                       help="库文件：提供其中的库，每个用户只能读到有权限的库（policyqa library 管理；默认 $POLICYQA_LIBRARIES）")
        p.add_argument("--library", action="append", default=[], metavar="NAME", help="只提供这个库（可重复；默认全部）")
    p.add_argument("--corpus", default=env("POLICYQA_CORPUS"), help="文档文件夹（上传的文件存放于此；默认索引建自的文件夹）")
    p.add_argument("--host", default=env("POLICYQA_HOST", "127.0.0.1"), help="监听地址（默认 127.0.0.1，只在本机）")
    p.add_argument("--port", type=int, default=int(env("POLICYQA_PORT", "7860")), help="端口（默认 7860）")
    p.add_argument("--users", default=env("POLICYQA_USERS"),
                   help="用户文件：各用户的角色与密码（policyqa user add 建立；默认 $POLICYQA_USERS）")
    p.add_argument("--auth", default=env("POLICYQA_AUTH"), help="单个管理员 用户名:密码（默认 $POLICYQA_AUTH）")
    p.add_argument("--today", default=env("POLICYQA_TODAY"),
                   help="问题中的“今年”“去年”按此日期理解（YYYY-MM-DD；默认索引中最新的年份）")
    p.add_argument("--journal-dir", default=env("POLICYQA_JOURNAL_DIR"),
                   help="审计与反馈记录存放的文件夹（默认与本地索引并列；Milvus 库在缓存文件夹中；或 $POLICYQA_JOURNAL_DIR）")
    p.add_argument("--trusted-proxy", default=env("POLICYQA_TRUSTED_PROXY"),
                   help="受信任的反向代理地址（逗号分隔，可写网段，如 127.0.0.1 或 10.0.0.0/8）：只有来自这些地址的请求，"
                        "才按 X-Forwarded-For 认定客户端地址（默认不信任任何代理；或 $POLICYQA_TRUSTED_PROXY）")
    p.add_argument("--session-idle", type=float, default=None, metavar="MINUTES",
                   help="登录后多久无操作即需重新登录（分钟；默认 $POLICYQA_SESSION_IDLE_MINUTES 或 120）")
    p.add_argument("--share", action="store_true", help="生成公网分享链接（默认不生成）")


def start_shelf(options: Options) -> Shelf:
    """The libraries of `--libraries`, each loading in the background; without it, `--index`."""
    if not options.libraries:
        return Shelf.single(start_service(options))
    shelf = Shelf.from_file(LibrariesFile(Path(options.libraries)), names=options.library, model=options.model,
                            llm=LLMConfig.from_env(),
                            today=options.today, journal_dir=Path(options.journal_dir) if options.journal_dir else None)
    for service in shelf.services.values():
        if service.local:
            store.remove_stale_staging(service.index_dir)
        threading.Thread(target=service.warm_up, name="warm-up", daemon=True).start()
    return shelf


def start_service(options: Options) -> Service:
    """The page's service, with its index and models already loading in the background;
    a question that arrives before they are ready waits for them."""
    service = Service(options.index, corpus_dir=Path(options.corpus) if options.corpus else None,
                      model=options.model, llm=LLMConfig.from_env(), today=options.today,
                      journal_dir=Path(options.journal_dir) if options.journal_dir else None)
    if service.local:
        store.remove_stale_staging(service.index_dir)  # left by a server killed mid-build
    threading.Thread(target=service.warm_up, name="warm-up", daemon=True).start()
    return service
