"""Errors shared by the indexer's stages, and the base of every error meant for users."""


class PolicyQAError(Exception):
    """An error whose message is written for users (Simplified Chinese): shown as is, no traceback."""


class UnreadableFile(PolicyQAError):
    """A file that cannot be turned into text; the message says why, for users."""
