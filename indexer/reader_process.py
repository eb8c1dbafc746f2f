"""Reading a file in a child process with a memory and a time limit.

The format readers check what a file would expand to before expanding it (indexer/limits.py),
but a parser is large and a file is hostile until read: a page that decodes to gigabytes, a
scan that OCR chews on for minutes. So every file that is more than text is read by a child
process (`python -m indexer.reader_process`) whose data segment is capped (RLIMIT_DATA:
an allocation past it fails inside the child) and which is killed when it runs too long or
reports no progress for too long. Whatever happens there, the caller gets an UnreadableFile
with the reason, and the process that serves the page or runs the build lives on.

One child serves a whole build, file after file (its imports and the OCR models load once);
it is started on the first file that needs it and restarted after a failure. It runs at a
lower CPU priority, so that a server keeps answering questions while an upload is read.
The child speaks JSON lines on a private pipe: the caller sends {"path", "ocr"}, the child
sends {"progress": [stage, done, total]} lines, then {"text", "notes", "pages"} or {"error"}.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from pathlib import Path

from . import limits, ocr
from .errors import UnreadableFile

IN_PROCESS_SUFFIXES = {".txt", ".md", ".markdown"}  # decoded text only, bounded by the file size limit


class ReaderProcess:
    """`read(path)` as `read.read_document(path)` would, in a child process. Use as a context
    manager; OCR settings, progress and notes come from and go to the caller's `ocr.session()`."""

    def __init__(self, memory_mb: int | None = None, seconds: float | None = None, idle_seconds: float | None = None):
        self.memory_mb = memory_mb or limits.READER_MEMORY_MB
        self.seconds = seconds or limits.READER_SECONDS
        self.idle_seconds = idle_seconds or limits.READER_IDLE_SECONDS
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> ReaderProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def read(self, path: Path) -> str:
        from .read import read_document

        if Path(path).suffix.lower() in IN_PROCESS_SUFFIXES:
            return read_document(path)
        session = ocr.current()
        reply = self._ask({"path": str(Path(path).resolve()), "ocr": session.enabled, "limits": limits.current()},
                          session)
        session.notes += reply.get("notes", [])
        session.pages += int(reply.get("pages", 0))
        if "error" in reply:
            raise UnreadableFile(reply["error"])
        return reply["text"]

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.stdin.close()
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        finally:
            proc.stdout.close()

    # -- the child ------------------------------------------------------------------------

    def _start(self) -> subprocess.Popen:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "indexer.reader_process", str(self.memory_mb)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=str(Path(__file__).parents[1]))
        return self._proc

    def _ask(self, request: dict, session: ocr.Session) -> dict:
        proc = self._start()
        try:
            proc.stdin.write((json.dumps(request, ensure_ascii=False) + "\n").encode())
            proc.stdin.flush()
        except OSError:
            self._kill()
            return {"error": "读取进程意外退出，已跳过"}
        started = last = time.monotonic()
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            while True:
                now = time.monotonic()
                if now - started > self.seconds or now - last > self.idle_seconds:
                    self._kill()
                    limit = self.seconds if now - started > self.seconds else self.idle_seconds
                    return {"error": f"读取超过时间上限（{limit:.0f} 秒），已跳过"}
                if not sel.select(timeout=1.0):
                    continue
                line = proc.stdout.readline()
                if not line:  # the child died: killed by the kernel, or a native crash
                    self._kill()
                    return {"error": f"读取时超出内存上限（{self.memory_mb} MB）或解析程序崩溃，已跳过"}
                try:
                    message = json.loads(line)
                except ValueError:
                    self._kill()
                    return {"error": "读取进程的输出无法识别，已跳过"}
                last = time.monotonic()
                if "progress" in message:
                    if session.progress:
                        try:
                            session.progress(*message["progress"])
                        except BaseException:
                            self._kill()  # the build is stopping: so does the child
                            raise
                    continue
                return message

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.kill()
            proc.wait()
            proc.stdout.close()
            proc.stdin.close()


def read_isolated(path: Path) -> str:
    """One file through a child process of its own (an upload's check, a draft)."""
    with ReaderProcess() as reader:
        return reader.read(path)


# --- the child ----------------------------------------------------------------------------------

def _limit_memory(megabytes: int) -> None:
    import resource

    cap = megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))


def _serve(channel) -> None:
    from .read import read_document

    for line in sys.stdin.buffer:
        request = json.loads(line)
        limits.apply(request.get("limits") or {})

        def progress(stage: str, done: int, total: int) -> None:
            channel.write(json.dumps({"progress": [stage, done, total]}, ensure_ascii=False) + "\n")
            channel.flush()

        with ocr.session(bool(request.get("ocr", True)), progress) as scan:
            try:
                reply = {"text": read_document(Path(request["path"]))}
            except UnreadableFile as e:
                reply = {"error": str(e)}
            except MemoryError:
                reply = {"error": f"读取时超出内存上限（{sys.argv[1]} MB），已跳过"}
            except Exception as e:  # a parser bug: this file is skipped, the next is read
                reply = {"error": f"解析失败：{type(e).__name__}: {e}"}
            reply.update(notes=scan.notes, pages=scan.pages)
        channel.write(json.dumps(reply, ensure_ascii=False) + "\n")
        channel.flush()


def main() -> None:
    # The protocol gets the real stdout; anything a library prints goes to stderr instead.
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    _limit_memory(int(sys.argv[1]) if len(sys.argv) > 1 else limits.READER_MEMORY_MB)
    try:
        os.nice(10)
    except OSError:
        pass
    _serve(channel)


if __name__ == "__main__":
    main()
