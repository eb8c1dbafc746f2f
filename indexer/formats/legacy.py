""".doc and .wps: converted by a tool found on the machine (LibreOffice, catdoc or
antiword), or refused with a message that says what to install."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from ..errors import UnreadableFile

TIMEOUT = 120


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def read_legacy(path: Path) -> str:
    path = Path(path)
    suffix = path.suffix.lower()
    office = _soffice()
    if office:
        return _with_libreoffice(office, path)
    if suffix == ".doc":
        for tool, args in (("catdoc", ["-d", "utf-8", "-w"]), ("antiword", ["-m", "UTF-8.txt", "-w", "0"])):
            exe = shutil.which(tool)
            if exe:
                return _run([exe, *args, str(path)], tool)
    install = "apt-get install catdoc（或 antiword、libreoffice-writer）" if suffix == ".doc" else \
        "apt-get install libreoffice-writer"
    raise UnreadableFile(f"无法读取 {suffix} 文件：本机没有转换工具。请安装（{install}），或在 Word/WPS 中另存为 .docx")


def _run(cmd: list[str], tool: str) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired as e:
        raise UnreadableFile(f"{tool} 转换超时") from e
    if proc.returncode != 0 or not proc.stdout.strip():
        detail = proc.stderr.decode("utf-8", errors="replace").strip().splitlines()[-1:] or [""]
        raise UnreadableFile(f"{tool} 无法转换此文件（可能已损坏或加密）{detail[0][:80]}")
    from .text import decode

    return decode(proc.stdout)


def _with_libreoffice(office: str, path: Path) -> str:
    with tempfile.TemporaryDirectory(prefix="policyqa-convert-") as out:
        cmd = [office, "--headless", "--convert-to", "txt:Text (encoded):UTF8", "--outdir", out, str(path)]
        try:
            subprocess.run(cmd, capture_output=True, timeout=TIMEOUT, check=False)
        except subprocess.TimeoutExpired as e:
            raise UnreadableFile("LibreOffice 转换超时") from e
        produced = list(Path(out).glob("*.txt"))
        if not produced:
            raise UnreadableFile("LibreOffice 无法转换此文件（可能已损坏或加密）")
        from .text import decode

        return decode(produced[0].read_bytes())
