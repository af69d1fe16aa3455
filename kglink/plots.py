"""PNG figures of kglink's evaluations and benchmark tables (matplotlib, Agg, no display).

matplotlib is the optional extra ``kglink[plot]`` and is imported only here, inside the
functions. Each function draws one figure, writes it as a PNG when given ``path``
(atomically) and returns the :class:`matplotlib.figure.Figure`, whose lines hold the
numbers drawn.

- :func:`threshold_figure`: pairwise synonymy precision / recall / F1 against the
  threshold, one panel per scorer, the threshold in use as a dashed line
  (``kglink eval-synonyms --plot``);
- :func:`recall_figure`: passage recall@k, one line per retrieval mode (``kglink eval --plot``);
- :func:`table_figure`: a benchmark table as lines (numeric x, optional log axes) or as
  points per row (text x), one panel per group of columns (``benchmarks/*.py --plot``).
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

from kglink.errors import InputError

INSTALL = "plots need matplotlib: pip install 'kglink[plot]'"
DPI = 120


def require_matplotlib() -> None:
    """Raise :class:`~kglink.errors.InputError` naming the extra when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise InputError(INSTALL) from None


def _figure(width: float, height: float, panels: int = 1) -> tuple[Any, list]:
    """A figure on the Agg canvas (pyplot and the display are never touched), and its axes."""
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, list(fig.subplots(1, panels, squeeze=False)[0])


def _save(fig, path: str | os.PathLike | None):
    if path is not None:
        from kglink.artifacts import atomic_write_bytes

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI)
        atomic_write_bytes(path, buf.getvalue())
    return fig


def threshold_figure(scorers: Sequence[tuple[str, Sequence, float | None]], path=None, title: str = ""):
    """Precision, recall and F1 over the threshold sweep: one panel per ``(name, sweep, threshold)``.

    ``sweep`` holds :class:`~kglink.synonymy.evaluate.PRPoint`; precision is left out where
    no pair reaches the threshold (it is undefined there). ``threshold`` (the one the
    scorer uses, e.g. the model's stored one) is drawn dashed; the best F1 as a dot.
    """
    fig, axes = _figure(5.2 * len(scorers), 4.8, len(scorers))
    for ax, (name, sweep, threshold) in zip(axes, scorers):
        ts = [p.threshold for p in sweep]
        ax.plot(ts, [p.precision if p.predicted else math.nan for p in sweep], label="precision")
        ax.plot(ts, [p.recall for p in sweep], label="recall")
        ax.plot(ts, [p.f1 for p in sweep], label="F1", linewidth=2)
        best = max(sweep, key=lambda p: (p.f1, p.threshold))
        ax.plot([best.threshold], [best.f1], "ko", label=f"best F1 {best.f1:.3f} @ {best.threshold:.2f}")
        if threshold is not None:
            ax.axvline(threshold, color="k", linestyle="--", label=f"threshold used {threshold:.2f}")
        ax.set(title=name, xlabel="threshold", xlim=(0, 1), ylim=(0, 1.02))
        ax.grid(alpha=0.3)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3, fontsize="small")
    axes[0].set_ylabel("pairwise precision / recall / F1")
    fig.suptitle(title or "synonym pairs against the threshold")
    return _save(fig, path)


def recall_figure(curves: Mapping[str, Sequence[float]], path=None, title: str = ""):
    """Recall@k for k = 1, 2, ...: one line per retrieval mode (``curves[mode][k - 1]``)."""
    fig, [ax] = _figure(7, 4.5)
    for mode, recalls in curves.items():
        ks = list(range(1, len(recalls) + 1))
        ax.plot(ks, list(recalls), marker="o", markersize=3, label=mode)
    longest = max((len(r) for r in curves.values()), default=1)
    ax.set(xlabel="k (passages retrieved)", ylabel="recall@k", ylim=(0, 1.02), xlim=(0.5, longest + 0.5))
    ax.set_xticks(range(1, longest + 1))
    ax.set_title(title or "passage recall@k")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    return _save(fig, path)


def table_figure(
    rows: Sequence[Mapping[str, Any]],
    x: str,
    ys: Mapping[str, Sequence[str]] | Sequence[str],
    path=None,
    *,
    logx: bool = False,
    logy: bool = False,
    title: str = "",
):
    """Columns of a table against column ``x``: one panel per ``{ylabel: [columns]}`` entry.

    Numeric ``x`` gives lines with a tick at every row; text ``x`` (variant names) gives
    one row of points per table row, names on the y axis (``logy`` then scales the values'
    axis). Missing cells are skipped.

    >>> fig = table_figure([{"n": 1, "s": 2.0}, {"n": 10, "s": 9.5}], "n", ["s"], logx=True)
    >>> ax = fig.axes[0]
    >>> ax.get_xscale(), ax.get_xlabel(), [line.get_label() for line in ax.lines]
    ('log', 'n', ['s'])
    """
    panels = dict(ys) if isinstance(ys, Mapping) else {", ".join(ys): list(ys)}
    xs = [row[x] for row in rows]
    text = any(isinstance(v, str) for v in xs)
    size = (5.5 * len(panels) + (3.5 if text else 0), max(4.0, 0.32 * len(xs) + 1.5) if text else 4.2)
    fig, axes = _figure(*size, len(panels))
    pos = list(range(len(xs))) if text else xs
    for i, (ax, (label, columns)) in enumerate(zip(axes, panels.items())):
        for column in columns:
            pairs = [(p, row[column]) for p, row in zip(pos, rows) if row.get(column) is not None]
            a, b = [p for p, _ in pairs], [v for _, v in pairs]
            if text:
                ax.plot(b, a, "o", label=column)
            else:
                ax.plot(a, b, marker="o", label=column)
        if text:
            ax.set_yticks(range(len(xs)), xs if i == 0 else [""] * len(xs))
            ax.set_ylim(len(xs) - 0.5, -0.5)  # the first row on top
            ax.set_xlabel(label)
            ax.set_xscale("log" if logy else "linear")
        else:
            ax.set(xlabel=x, ylabel=label)
            ax.set_xscale("log" if logx else "linear")
            ax.set_yscale("log" if logy else "linear")
            ax.set_xticks(xs, [str(v) for v in xs])
            ax.minorticks_off()
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return _save(fig, path)
