"""argparse in Chinese: help headings, and errors as one line (`错误：…`, exit status 1)
instead of argparse's English usage text and exit status 2."""

from __future__ import annotations

import argparse
import re

from indexer.errors import PolicyQAError


class ArgumentsError(PolicyQAError):
    """Bad command-line arguments; the message is for users."""


_TYPES = {"int": "整数", "float": "数字"}
_RULES: list[tuple[re.Pattern, callable]] = [
    (re.compile(r"^unrecognized arguments: (.+)$"), lambda m: f"无法识别的参数：{m[1]}"),
    (re.compile(r"^argument (.+?): invalid choice: '?(.+?)'? \(choose from (.+)\)$"),
     lambda m: f"未知{'命令' if m[1] == '命令' else '取值'}：{m[2]}（可选：{m[3].replace(chr(39), '')}）"),
    (re.compile(r"^argument (.+?): invalid (\w+) value: '?(.*?)'?$"),
     lambda m: f"参数 {m[1]} 的值应为{_TYPES.get(m[2], m[2])}（收到“{m[3]}”）"),
    (re.compile(r"^the following arguments are required: (.+)$"), lambda m: f"缺少参数：{m[1]}"),
    (re.compile(r"^argument (.+?): expected one argument$"), lambda m: f"参数 {m[1]} 后面需要一个值"),
    (re.compile(r"^argument (.+?): expected (.+)$"), lambda m: f"参数 {m[1]} 的值个数不对"),
    (re.compile(r"^argument (.+?): not allowed with argument (.+)$"), lambda m: f"参数 {m[1]} 不能与 {m[2]} 同时使用"),
    (re.compile(r"^ambiguous option: (\S+) could match (.+)$"), lambda m: f"参数 {m[1]} 有歧义，可能是：{m[2]}"),
    (re.compile(r"^argument (.+?): ignored explicit argument '?(.*?)'?$"), lambda m: f"参数 {m[1]} 不接受取值（收到“{m[2]}”）"),
]


def translate(message: str) -> str:
    for pattern, say in _RULES:
        m = pattern.match(message)
        if m:
            return say(m)
    return message


class ChineseHelpFormatter(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        return super().add_usage(usage, actions, groups, "用法：" if prefix is None else prefix)


class ChineseParser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", ChineseHelpFormatter)
        add_help = kwargs.pop("add_help", True)
        super().__init__(*args, add_help=False, **kwargs)
        self._positionals.title = "位置参数"
        self._optionals.title = "选项"
        if add_help:
            self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help="显示帮助并退出")

    def error(self, message: str):
        hint = f"（{self.prog} -h 查看用法）"
        raise ArgumentsError(translate(message) + hint)
