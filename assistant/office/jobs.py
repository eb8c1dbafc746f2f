"""The library's build in progress, as everyone can see it, and its cancellation.

A build started from the page or the API (an upload, a removal, a restore, a rebuild) runs one at
a time; while it runs, any administrator sees in the 管理 tab (or GET /api/v1/admin/build) what it
does: the stage (解析 files, 文字识别 pages, 向量化 chunks, …), how far, the time spent and the
time left in the stage, who started it. Cancelling asks the build to stop at its next step: it
stops with BuildCancelled, the previous index stays in place, and the service undoes the change
to the document folder that the build was for.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

from indexer.report import BuildCancelled

Progress = Callable[[str, int, int], None]
KEEP_FINISHED_SECONDS = 3600  # the last build's outcome stays on show this long
PROGRESS_SECONDS = 30  # a build's progress line in a log: every this often ($POLICYQA_PROGRESS_SECONDS)


@dataclass
class Stage:
    name: str
    done: int = 0
    total: int = 0
    started: float = field(default_factory=time.time)

    def seconds_left(self, now: float) -> float | None:
        """The stage's time left at its pace so far (None before there is a pace)."""
        if self.done <= 0 or self.total <= self.done:
            return None
        return (now - self.started) / self.done * (self.total - self.done)


@dataclass
class Job:
    what: str  # 上传 3 个文件, 移除《…》, 重新建立索引
    user: str
    started: float = field(default_factory=time.time)
    stages: list[Stage] = field(default_factory=list)
    finished: float | None = None
    outcome: str = ""  # done | failed | cancelled
    message: str = ""
    cancel_requested_by: str = ""

    @property
    def running(self) -> bool:
        return self.finished is None

    def record(self, now: float | None = None) -> dict:
        now = now or time.time()
        stage = self.stages[-1] if self.stages else None
        return {"what": self.what, "user": self.user, "running": self.running,
                "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started)),
                "seconds": round((self.finished or now) - self.started, 1),
                "stage": asdict(stage) | {"seconds_left": _rounded(stage.seconds_left(now))} if stage else None,
                "stages": [{"name": s.name, "done": s.done, "total": s.total} for s in self.stages],
                "outcome": self.outcome, "message": self.message,
                "cancel_requested_by": self.cancel_requested_by}


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 1)


class BuildJobs:
    """The current (or last) build of one library; safe to read from any thread."""

    def __init__(self, log: bool = True):
        self._lock = threading.Lock()
        self._job: Job | None = None
        self.log = log  # progress lines on stderr too: the server's log when it runs unattended

    @contextlib.contextmanager
    def running(self, what: str, user: str = "", progress: Progress | None = None) -> Iterator[Progress]:
        """Track a build: yields the progress callback to give it (which also passes each step to
        `progress`, the caller's own bar, and stops the build once a cancel was asked for)."""
        job = Job(what, user or "-")
        with self._lock:
            self._job = job
        echo = progress_lines(progress_seconds(), prefix=f"{what}：") if self.log else None

        def step(stage: str, done: int, total: int) -> None:
            with self._lock:
                if not job.stages or job.stages[-1].name != stage:
                    job.stages.append(Stage(stage))
                job.stages[-1].done, job.stages[-1].total = done, total
                cancelled = job.cancel_requested_by
            if cancelled:
                raise BuildCancelled(f"建索引已被 {cancelled} 取消：原索引保持不变")
            if echo is not None:
                echo(stage, done, total)
            if progress is not None:
                progress(stage, done, total)

        try:
            yield step
        except BuildCancelled as e:
            self._finish(job, "cancelled", str(e))
            raise
        except BaseException as e:
            self._finish(job, "failed", str(e) or type(e).__name__)
            raise
        self._finish(job, "done", "")

    def _finish(self, job: Job, outcome: str, message: str) -> None:
        with self._lock:
            job.finished, job.outcome, job.message = time.time(), outcome, message

    def current(self) -> dict | None:
        """The running build, or the last one within KEEP_FINISHED_SECONDS of its end."""
        with self._lock:
            job = self._job
            if job is None or (job.finished is not None and time.time() - job.finished > KEEP_FINISHED_SECONDS):
                return None
            return job.record()

    def cancel(self, user: str) -> bool:
        """Ask the running build to stop; False when none is running."""
        with self._lock:
            if self._job is None or not self._job.running:
                return False
            self._job.cancel_requested_by = user or "-"
            return True


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} 秒"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} 分 {seconds} 秒"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} 小时 {minutes} 分"


def stage_line(name: str, done: int, total: int, seconds_left: float | None) -> str:
    """`向量化 1200/5000（24%），本阶段约剩 3 分 10 秒`"""
    share = f"（{done * 100 // total}%）" if total else ""
    left = f"，本阶段约剩 {duration(seconds_left)}" if seconds_left is not None else ""
    return f"{name} {done}/{total}{share}{left}"


def job_lines(record: dict | None) -> list[str]:
    """A build's state for people: what, who, how long, the stage, the stages done."""
    if record is None:
        return ["目前没有正在进行的建索引任务。"]
    state = {"done": "已完成", "failed": "失败", "cancelled": "已取消"}.get(record["outcome"], "正在进行")
    lines = [f"{state}：{record['what']}（{record['user']} 于 {record['started']} 开始，"
             f"{'已用' if record['running'] else '用时'} {duration(record['seconds'])}）"]
    stage = record["stage"]
    if record["running"] and stage:
        lines.append("当前阶段：" + stage_line(stage["name"], stage["done"], stage["total"], stage["seconds_left"]))
    finished = [s for s in record["stages"][:-1 if record["running"] else None]]
    if finished:
        lines.append("各阶段：" + "；".join(f"{s['name']} {s['done']}/{s['total']}" for s in finished))
    if record["running"] and record["cancel_requested_by"]:
        lines.append(f"{record['cancel_requested_by']} 已要求取消，将在下一步停止。")
    if record["message"]:
        lines.append(record["message"])
    return lines


def progress_seconds() -> float:
    try:
        return max(1.0, float(os.environ.get("POLICYQA_PROGRESS_SECONDS") or PROGRESS_SECONDS))
    except ValueError:
        return PROGRESS_SECONDS


def progress_lines(every: float, out=None, prefix: str = "") -> Progress:
    """Progress as lines for a log (no terminal: make, nohup, a service manager): one when a stage
    begins and ends, and every `every` seconds between, with the stage's time left."""
    started: dict[str, float] = {}
    finished: set[str] = set()
    last = [0.0]

    def update(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done == 0 and stage in finished:  # the stage again (文字识别 for the next scanned file)
            finished.discard(stage)
            started.pop(stage)
        first = stage not in started
        begun = started.setdefault(stage, now)
        ends = done >= total and stage not in finished
        if stage in finished or not (first or ends or now - last[0] >= every):
            return
        if ends:
            finished.add(stage)
        last[0] = now
        left = (now - begun) / done * (total - done) if 0 < done < total else None
        print(f"[{time.strftime('%H:%M:%S')}] {prefix}{stage_line(stage, done, total, left)}",
              file=out or sys.stderr, flush=True)

    return update
