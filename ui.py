"""The page: ask in Chinese, get an answer that cites sections, open the source; browse,
upload, remove and restore documents (webui/ has the page itself).

    python ui.py [--index DIR] [--corpus DIR] [--host 127.0.0.1] [--port 7860]
                 [--users FILE | --auth user:password] [--today YYYY-MM-DD] [--libraries FILE]

Run as a program, the index and models start loading before Gradio is imported (~3 s of
the ~5 s start-up), so the two go on at once.
"""

from __future__ import annotations

import argparse
import gc
import sys

from webui.options import Options, add_arguments, start_shelf


def parse_args(argv: list[str] | None = None) -> Options:
    p = argparse.ArgumentParser(description="政策文件问答网页")
    add_arguments(p)
    return Options.from_args(p.parse_args(argv))


def main(argv: list[str] | None = None, service=None) -> int:
    options = parse_args(argv)
    from webui.server import serve  # Gradio: after the service has started loading

    try:
        serve(options, service)
    except KeyboardInterrupt:  # stopped before the page was up
        return 130
    return 0


if __name__ == "__main__":
    # Start-up creates millions of objects that live as long as the server (Gradio's modules, the
    # word segmenter's dictionary, the index): collecting garbage among them only costs time.
    # Collection resumes, with them set aside, once the page is built (webui.server.serve).
    gc.disable()
    started = start_shelf(parse_args())
    sys.exit(main(service=started))
