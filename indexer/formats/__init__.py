"""Readers that turn one kind of file into plain text (paragraphs separated by newlines).

Each raises `UnreadableFile` with a reason in Chinese for a file it cannot read.
"""
