"""Errors meant for a person, each with its own process exit code.

Every command-line entry point catches :class:`UserError`, prints its one-line message
to stderr and exits with ``exit_code``; anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

# exit code -> meaning; 1 is left to unexpected failures
EXIT_CODES = {
    2: "usage: options that do not go together or are out of range",
    3: "invalid avatar.json or avatar values",
    4: "input file missing or unreadable",
    5: "output already exists (use --force)",
    6: "rendering or export failed",
    7: "no usable face in the photo (none, too small, cut off, or turned too far)",
    8: "batch finished, but some photos failed (see OUT/batch.log and OUT/index.html)",
    9: "the output location cannot be written (no permission, a file in the way, read-only)",
    10: "the camera is missing, busy or stopped delivering frames (live capture)",
}


class UserError(Exception):
    """A failure caused by the input or the environment, explained in one line."""
    exit_code = 1


class UsageError(UserError):
    """Options that do not go together or are out of range (argparse's own code)."""
    exit_code = 2


class InvalidAvatar(UserError):
    exit_code = 3


class InputError(UserError):
    exit_code = 4


class OutputExists(UserError):
    exit_code = 5


class RenderError(UserError):
    exit_code = 6


class OutputError(UserError):
    """The output path cannot be created or written."""
    exit_code = 9


class FaceError(UserError):
    """The photo is readable but shows no face that can be fitted."""
    exit_code = 7



class CameraError(UserError):
    """The camera is missing, busy or stopped delivering frames."""
    exit_code = 10
