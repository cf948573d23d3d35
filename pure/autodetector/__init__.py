"""The autodetector: diff two project states into ordered, named, per-app migrations.

``MigrationAutodetector(from_state, to_state, policy, leaves=...)`` is the entry point;
``autodetect(...)`` is the one-call form. Policies decide renames and one-off defaults
without prompting: ``AskPolicy`` (a callback of the shell's), ``AcceptUnambiguousRenames``
and ``NeverRename``; ``previous_name`` hints on models and fields always win.
"""

from reinhardt_migrations.pure.autodetector.detector import (
    DataLoss,
    DetectionResult,
    MigrationAutodetector,
    autodetect,
)
from reinhardt_migrations.pure.autodetector.policy import (
    AcceptUnambiguousRenames,
    AskPolicy,
    DefaultQuestion,
    NeverRename,
    Policy,
    Question,
    RenamePolicy,
    RenameQuestion,
    rename_key,
)

__all__ = [
    "AcceptUnambiguousRenames",
    "AskPolicy",
    "DataLoss",
    "DefaultQuestion",
    "DetectionResult",
    "MigrationAutodetector",
    "NeverRename",
    "Policy",
    "Question",
    "RenamePolicy",
    "RenameQuestion",
    "autodetect",
    "rename_key",
]
