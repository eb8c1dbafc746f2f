"""Errors shared by the indexer's stages."""


class UnreadableFile(Exception):
    """A file that cannot be turned into text; the message says why, for users."""
