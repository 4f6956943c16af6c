"""Errors that are the user's to fix.

A :class:`FieldlabError` carries one sentence that names what was wrong and how to fix it. The
command line prints that sentence, without a traceback, and exits with a non-zero status.
"""


class FieldlabError(Exception):
    """Bad input or an unrecoverable training state that the user can act on."""


class NonFiniteLossError(FieldlabError):
    """The training loss became NaN or infinite."""
