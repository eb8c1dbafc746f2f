"""Serving the page: the queue settings it runs with, the login, and a clean stop."""

from __future__ import annotations

import gc
import os
import signal
import threading
from pathlib import Path

import gradio as gr
from starlette.middleware import Middleware

from assistant.accounts import UsersFile
from assistant.library import MAX_UPLOAD_BYTES
from assistant.service import Service
from indexer import store

from .access import Access, LoginGate, parse_auth
from .layout import ASK_CONCURRENCY, PAGE_CSS, build_app
from .options import Options, start_service

# At most this many requests wait; beyond that Gradio answers "queue full" at once instead of
# letting waits grow without bound (bench/soak.py measures both).
QUEUE_SIZE = 64


def access_for(options: Options, service: Service) -> Access:
    users = UsersFile(Path(options.users)) if options.users else None
    if users is not None:
        users.accounts()  # a broken users file stops the start with its message
    return Access(users=users, admin=parse_auth(options.auth), audit=service.audit)


def serve(options: Options, service: Service | None = None) -> None:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    service = service or start_service(options)
    access = access_for(options, service)
    app = build_app(service, access)
    gc.freeze()  # what start-up made stays: keep it out of every later collection
    gc.enable()
    stop_on_sigterm()
    launch(app, options.host, options.port, access=access, share=options.share)


def launch(app: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, access: Access | None = None,
           share: bool = False, **extra):
    """Queue and serve the page with the settings the product runs with (tests use this too)."""
    access = access or Access()
    app.queue(default_concurrency_limit=ASK_CONCURRENCY, max_size=QUEUE_SIZE)
    app_kwargs = {"middleware": [Middleware(LoginGate, access=access)]} if access.enabled else None
    return app.launch(server_name=host, server_port=port, share=share, auth=access.check if access.enabled else None,
                      css=PAGE_CSS, show_error=False, max_file_size=MAX_UPLOAD_BYTES, footer_links=["api"],
                      app_kwargs=app_kwargs, **extra)


def stop_on_sigterm() -> None:
    """`systemctl stop` (SIGTERM) stops the server as Ctrl-C does: Gradio closes, and a build
    under way gives up and removes its staging folder on the way out (indexer.store)."""
    def stop(signum, frame):
        store.request_stop()
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)
