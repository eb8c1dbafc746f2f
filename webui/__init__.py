"""The page: a Gradio app over `assistant/`, and what serves it.

    access.py     who may log in and with what role; the login gate in front of Gradio
    callbacks.py  what each action of the page does, each mapping errors to a message
    layout.py     the tabs, their components and the events between them
    server.py     queue settings, launch, stopping cleanly
    cli.py        `policyqa`: the core's commands plus `serve`

Layers point one way: `ui.py` → `webui/` → `assistant/` → `indexer/`; nothing below imports
this package.
"""
