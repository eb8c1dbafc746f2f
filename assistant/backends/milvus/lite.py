"""A Milvus Lite server process on this machine, for tests, benchmarks and trying the backend:

    with LiteServer(data_dir) as server:
        location = server.location("policies")  # milvus://127.0.0.1:PORT/policies

It listens on 127.0.0.1 only (milvus-lite's default is every address) and is stopped on exit.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from .schema import MilvusProblem

START_SECONDS = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lite_command() -> list[str]:
    exe = shutil.which("milvus-lite") or str(Path(sys.executable).with_name("milvus-lite"))
    if not Path(exe).exists():
        raise MilvusProblem("找不到 milvus-lite：pip install 'policyqa[milvus]'")
    return [exe, "server"]


class LiteServer:
    def __init__(self, data_dir: Path, port: int | None = None):
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    def location(self, name: str) -> str:
        return f"milvus://127.0.0.1:{self.port}/{name}"

    def start(self) -> LiteServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.data_dir / "server.log", "ab")  # noqa: SIM115 - the process keeps it
        self.process = subprocess.Popen([*lite_command(), "--data-dir", str(self.data_dir), "--host", "127.0.0.1",
                                         "--port", str(self.port)], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise MilvusProblem(f"milvus-lite 未能启动（退出码 {self.process.returncode}）：见 {self.data_dir}/server.log")
            if self._answers():
                return self
            time.sleep(0.2)
        self.stop()
        raise MilvusProblem(f"milvus-lite 在 {START_SECONDS} 秒内没有响应")

    def _answers(self) -> bool:
        try:
            from pymilvus import MilvusClient

            MilvusClient(uri=f"http://127.0.0.1:{self.port}", timeout=2).list_collections()
            return True
        except Exception:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> LiteServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
