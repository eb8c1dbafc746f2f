"""Errors shared by the indexer's stages, and the base of every error meant for users."""

import errno


class PolicyQAError(Exception):
    """An error whose message is written for users (Simplified Chinese): shown as is, no traceback."""


class UnreadableFile(PolicyQAError):
    """A file that cannot be turned into text; the message says why, for users."""


_OS_REASONS = {
    errno.ENOSPC: "磁盘已满", errno.EDQUOT: "超出磁盘配额", errno.EROFS: "只读文件系统",
    errno.EACCES: "没有权限", errno.EPERM: "没有权限", errno.ENOENT: "路径不存在",
    errno.ENOTDIR: "路径中有一段不是文件夹", errno.EEXIST: "路径中有一段不是文件夹或已被占用",
    errno.EISDIR: "这是一个文件夹", errno.ENAMETOOLONG: "路径过长", errno.EIO: "磁盘读写错误",
    errno.ELOOP: "符号链接形成循环", errno.EMFILE: "打开的文件过多", errno.EXDEV: "不能跨文件系统移动",
}


def os_reason(e: BaseException) -> str:
    """Why a file operation failed, in words for users (Chinese; the system's text if unknown)."""
    if isinstance(e, OSError) and e.errno in _OS_REASONS:
        return _OS_REASONS[e.errno]
    return getattr(e, "strerror", None) or str(e)
