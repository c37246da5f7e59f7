"""Course-wide figure style: small PNGs that keep the repository light, and titles that never overlap.

Introduced in ``00_welcome_and_setup.ipynb``; call ``use_course_style()`` once per notebook.
"""

import sys

import matplotlib
import matplotlib.pyplot as plt

STYLE = {"figure.dpi": 72, "savefig.dpi": 72, "figure.figsize": (7.5, 3.0),
         "axes.grid": True, "grid.alpha": 0.3, "font.size": 10}


def use_course_style() -> None:
    """Apply the course's figure style and PNG output in Jupyter (notebook 01); in Jupyter, every
    figure a cell draws is also checked for overlapping titles and axis labels
    (:func:`warn_overlaps`) before it is shown."""
    plt.rcParams.update(STYLE)
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats
        set_matplotlib_formats("png")
    except ImportError:  # outside Jupyter
        pass
    matplotlib.rcParams["svg.hashsalt"] = "course"
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        callbacks = shell.events.callbacks["post_execute"]
        if _check_open_figures not in callbacks:
            callbacks.insert(0, _check_open_figures)    # before the inline backend shows and closes them


def overlapping_texts(fig) -> list[tuple[str, str]]:
    """Pairs of texts of ``fig`` (its title, the axes' titles and axis labels) whose boxes overlap once
    drawn: a title that runs into its neighbour's, a label under a title (used by plots.warn_overlaps)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = [fig._suptitle] if fig._suptitle is not None else []
    for ax in fig.axes:
        if ax.get_visible():
            texts += [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label]
    texts = [t for t in texts if t.get_visible() and t.get_text().strip()]
    boxes = [t.get_window_extent(renderer) for t in texts]
    return [(texts[i].get_text(), texts[j].get_text()) for i in range(len(texts)) for j in range(i + 1, len(texts))
            if boxes[i].overlaps(boxes[j])]


def warn_overlaps(fig) -> bool:
    """Say on stderr, naming the texts, when :func:`overlapping_texts` finds any; True if it did
    (used by plots.use_course_style)."""
    pairs = overlapping_texts(fig)
    for a, b in pairs:
        print(f"Figure warning: the text {a!r} overlaps {b!r}; shorten one, break it over two lines or widen "
              "the figure", file=sys.stderr)
    return bool(pairs)


def _check_open_figures() -> None:
    """IPython ``post_execute`` hook of :func:`use_course_style`: :func:`warn_overlaps` on each open figure."""
    from matplotlib._pylab_helpers import Gcf

    for manager in Gcf.get_all_fig_managers():       # without making any of them the current figure
        warn_overlaps(manager.canvas.figure)
