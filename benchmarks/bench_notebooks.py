"""Time of each notebook in the quick profile on this machine (papermill, as `make course`).

Runs with an empty temporary cache, so each figure includes building the corpus and training
the checkpoints the notebook needs: what a learner's first run costs.
"""

import os
import tempfile
from pathlib import Path

from course_utils import exercises


def run() -> list[dict]:
    previous = os.environ.get("COURSE_CACHE")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["COURSE_CACHE"] = str(Path(tmp) / "cache")
        try:
            timings = exercises.course("quick", "auto", Path(tmp) / "out")
        finally:
            if previous is None:
                os.environ.pop("COURSE_CACHE")
            else:
                os.environ["COURSE_CACHE"] = previous
    rows = [{"name": name.removesuffix(".ipynb"), "value": seconds, "unit": "s",
             "note": "papermill, quick profile, empty cache"} for name, seconds in timings.items()]
    rows.append({"name": "whole course", "value": round(sum(timings.values()), 1), "unit": "s",
                 "note": "sum of the above, in order"})
    return rows
