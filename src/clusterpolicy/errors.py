"""Named failures. Anything a *user* can cause (bad file, bad column, bad parameter) raises a
:class:`UserInputError` whose message is one line: what was seen, where, and how to fix it. The CLI prints that
line and exits non-zero without a traceback; anything else is a bug and keeps its traceback."""

from __future__ import annotations


class ClusterPolicyError(Exception):
    """Base class of the project's own exceptions."""


class UserInputError(ClusterPolicyError):
    """A problem with the user's input that they can fix. ``str(err)`` is the whole message, on one line.

    Parameters
    ----------
    message
        What is wrong and how to fix it. Newlines are folded so the CLI always prints a single line.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


class ManifestError(UserInputError):
    """The run manifest (``notebooks/runs.yaml``) or a run's parameters are invalid."""


class DataValidationError(UserInputError):
    """A data file does not satisfy the documented schema."""


class EstimationError(UserInputError):
    """The data cannot identify the requested estimate (e.g. no never-treated units with ``--control never``)."""


class OfflineError(UserInputError):
    """A download was needed but the network is unreachable."""


class ClusterPolicyWarning(UserWarning):
    """Base class of the project's warnings (e.g. few treated clusters, dropped observations)."""
