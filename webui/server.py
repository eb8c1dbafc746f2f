"""Serving the page: the queue settings it runs with, each user's share of the queue, the
login, the folder of uploaded and exported files (emptied by age), and a clean stop."""

from __future__ import annotations

import gc
import logging
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import gradio as gr
from starlette.middleware import Middleware

from assistant.office.accounts import UsersFile
from assistant.office.library import MAX_UPLOAD_BYTES
from assistant.office.service import Service
from assistant.office.shelf import Shelf
from indexer import store
from indexer.cache import policyqa_cache

from .access import Access, LoginGate, parse_auth
from .api import programmable
from .layout import ASK_CONCURRENCY, PAGE_CSS, build_app
from .options import Options, start_shelf

log = logging.getLogger("policyqa.ui")
# At most this many requests wait; beyond that Gradio answers "queue full" at once instead of
# letting waits grow without bound (bench/soak.py measures both).
QUEUE_SIZE = 64
# Requests of one account waiting or running at once: one client flooding the page fills its
# own share, not the queue.
QUEUE_PER_USER = 16
# Sessions whose page state (the conversation) is kept at most (STATE_SECONDS: for how long).
STATE_SESSIONS = 1000
# Uploaded and exported files live in one folder per server process, removed this long after
# they were made (looked at every SWEEP_SECONDS).
FILE_AGE_SECONDS = 15 * 60
SWEEP_SECONDS = 60


def access_for(options: Options, service: Service) -> Access:
    users = UsersFile(Path(options.users)) if options.users else None
    if users is not None:
        users.accounts()  # a broken users file stops the start with its message
    if options.session_idle is not None and not options.session_idle > 0:
        raise SystemExit("错误：--session-idle 应为正数（分钟）")
    return Access(users=users, admin=parse_auth(options.auth), audit=service.audit, idle_minutes=options.session_idle)


def serve(options: Options, started: Service | Shelf | None = None) -> None:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    shelf = started if isinstance(started, Shelf) else Shelf.single(started) if started else start_shelf(options)
    service = shelf.default
    access = access_for(options, service)
    use_page_files()  # before the page is built: its components keep the folder
    app = build_app(service, access, shelf)
    gc.freeze()  # what start-up made stays: keep it out of every later collection
    gc.enable()
    stop_on_sigterm()
    launch(app, options.host, options.port, access=access, share=options.share,
           trusted_proxy=options.trusted_proxy or "")


def launch(app: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, access: Access | None = None,
           share: bool = False, trusted_proxy: str = "", **extra):
    """Queue and serve the page with the settings the product runs with (tests use this too).
    `trusted_proxy`: addresses (or networks) of reverse proxies whose X-Forwarded-For header
    names the client; from anyone else the header is ignored."""
    access = access or Access()
    # uvicorn believes X-Forwarded-For from these addresses only; by default from 127.0.0.1,
    # which would let anyone on this machine claim any address.
    os.environ["FORWARDED_ALLOW_IPS"] = trusted_proxy
    use_page_files()
    app.queue(default_concurrency_limit=ASK_CONCURRENCY, max_size=QUEUE_SIZE)
    if access.enabled:  # without a login the page is one person's tool: nobody to share with
        share_queue(app, QUEUE_PER_USER)
    app_kwargs = {"middleware": [Middleware(LoginGate, access=access)]} if access.enabled else {}
    service = getattr(app, "policyqa_service", None)
    if service is not None:  # the JSON API, the OpenAI-compatible endpoint, MCP and the widget, on this port
        surface = programmable(service, access, getattr(app, "policyqa_shelf", None))
        app_kwargs.update(routes=surface.routes, lifespan=surface.lifespan)
    return app.launch(server_name=host, server_port=port, share=share, auth=access.check if access.enabled else None,
                      css=PAGE_CSS, show_error=False, max_file_size=MAX_UPLOAD_BYTES, footer_links=["api"],
                      app_kwargs=app_kwargs or None, state_session_capacity=STATE_SESSIONS, **extra)


def share_queue(app: gr.Blocks, per_user: int) -> None:
    """Each user a share of the queue: a request is refused while its user already has
    `per_user` waiting or running, and waiting requests are served in turn, user by user
    (Gradio serves them in arrival order, so a client that queued many would make everyone
    else wait behind all of them). Wraps the queue's `push`, where Gradio itself refuses a
    request when the queue is full, and reorders the waiting lists under the lock Gradio
    holds when it takes events from them."""
    queue = app._queue
    push = queue.push

    async def push_within_share(body, request, username):
        who = _requester(username, request)
        mine = sum(1 for e in list(queue.event_ids_to_events.values()) if _requester(e.username, e.request) == who)
        if mine >= per_user:
            return False, f"您同时提交的请求过多（上限 {per_user} 个），请等前面的请求完成后再试", "queue_full"
        outcome = await push(body, request, username)
        async with queue.delete_lock:
            for waiting in queue.event_queue_per_concurrency_id.values():
                waiting.queue[:] = _in_turn(waiting.queue)
        return outcome

    queue.push = push_within_share


def _in_turn(events: list) -> list:
    """Every user's first waiting request, then every user's second, …; each user's own in order."""
    turn: dict[str, int] = {}
    ranked = []
    for position, event in enumerate(events):
        who = _requester(event.username, event.request)
        ranked.append((turn.get(who, 0), position, event))
        turn[who] = turn.get(who, 0) + 1
    return [event for _, _, event in sorted(ranked, key=lambda r: (r[0], r[1]))]


def _requester(username: str | None, request) -> str:
    if username:
        return f"user:{username}"
    client = getattr(request, "client", None)
    return f"address:{client.host if client else '?'}"


_sweeping: list[Path] = []


def use_page_files() -> Path:
    """Gradio keeps this process's uploaded files, and the exports it hands out, in a folder of
    its own, swept by age; the folders of processes that are gone are removed when it starts."""
    root = policyqa_cache() / "page-files"
    folder = root / str(os.getpid())
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(folder)
    if not _sweeping:
        _sweeping.append(folder)
        for other in root.iterdir():
            if other != folder and not _alive(other.name):
                shutil.rmtree(other, ignore_errors=True)
        sweep_page_files(folder)
    return folder


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def sweep_page_files(folder: Path, age: float = FILE_AGE_SECONDS, every: float = SWEEP_SECONDS) -> None:
    """Remove the folder's files older than `age`, now and every `every` seconds."""

    def sweep() -> None:
        cutoff = time.time() - age
        for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            try:
                if path.is_file() and path.lstat().st_mtime < cutoff:
                    path.unlink()
                elif path.is_dir() and not any(path.iterdir()):
                    path.rmdir()
            except OSError as e:  # a file in use, or already gone: the next sweep tries again
                log.debug("sweep %s: %s", path, e)

    def loop() -> None:
        while True:
            time.sleep(every)
            sweep()

    sweep()
    threading.Thread(target=loop, name="sweep-page-files", daemon=True).start()


def stop_on_sigterm() -> None:
    """`systemctl stop` (SIGTERM) stops the server as Ctrl-C does: Gradio closes, and a build
    under way gives up and removes its staging folder on the way out (indexer.store)."""
    def stop(signum, frame):
        store.request_stop()
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)
