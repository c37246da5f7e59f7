"""The course's figure style and its overlapping-titles check (issue 17: notebook 04's side-by-side
titles ran into each other, and nothing said so)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402

from course_utils import plots  # noqa: E402

LONG = ("A long title for the left spectrogram of the sentence", "Another long title for the right one as well")


def test_overlapping_titles_are_found_and_separate_ones_are_not(capsys):
    fig, axes = plt.subplots(1, 2)
    for ax, title in zip(axes, LONG):
        ax.set_title(title)
    assert plots.overlapping_texts(fig) == [LONG]
    assert plots.warn_overlaps(fig)
    assert "Figure warning: the text 'A long title" in capsys.readouterr().err
    for ax, title in zip(axes, LONG):
        ax.set_title(title.replace(" for ", "\nfor "))          # two lines each, as notebook 04 does now
    assert plots.overlapping_texts(fig) == []
    plt.close(fig)


def test_a_notebook_cell_with_overlapping_titles_says_so_and_still_shows_the_figure():
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nfrom course_utils import plots\n"
                                          "plots.use_course_style()\nplots.use_course_style()"),
                nbformat.v4.new_code_cell(f"fig, axes = plt.subplots(1, 2)\naxes[0].set_title({LONG[0]!r})\n"
                                          f"axes[1].set_title({LONG[1]!r})"),
                nbformat.v4.new_code_cell("fig, ax = plt.subplots()\nax.set_title('fine')")]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    bad, good = nb.cells[1].outputs, nb.cells[2].outputs
    errs = [o.text for o in bad if o.output_type == "stream" and o.name == "stderr"]
    assert len(errs) == 1 and errs[0].count("Figure warning") == 1      # once, though the style was applied twice
    assert any("image/png" in o.get("data", {}) for o in bad)
    assert not [o for o in good if o.output_type == "stream"] and any("image/png" in o.get("data", {}) for o in good)
