"""The study: six questions about dense autoencoders on credit-card fraud, answered by measurement.

``run_study(dataset, out_dir, config)`` trains every setting (resuming from the
cache), measures losses, detection quality and latent separation, and writes
``results.json``, tables, figures, ``report.md`` and a self-contained ``report.html``.
"""

from aescope.study.pipeline import StudyOutcome, run_study
from aescope.study.sweeps import QUICK, StudyConfig

__all__ = ["QUICK", "StudyConfig", "StudyOutcome", "run_study"]
