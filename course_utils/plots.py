"""Course-wide figure style: small PNGs that keep the repository light.

Introduced in ``00_welcome_and_setup.ipynb``; call ``use_course_style()`` once per notebook.
"""

import matplotlib
import matplotlib.pyplot as plt

STYLE = {"figure.dpi": 72, "savefig.dpi": 72, "figure.figsize": (7.5, 3.0),
         "axes.grid": True, "grid.alpha": 0.3, "font.size": 10}


def use_course_style() -> None:
    """Apply the course's figure style and PNG output in Jupyter (notebook 01)."""
    plt.rcParams.update(STYLE)
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats
        set_matplotlib_formats("png")
    except ImportError:  # outside Jupyter
        pass
    matplotlib.rcParams["svg.hashsalt"] = "course"
