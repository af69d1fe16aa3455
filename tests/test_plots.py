"""Plots: valid PNGs whose lines are the numbers the commands print; the missing-extra error."""

from __future__ import annotations

import importlib.util
import json
import struct
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from kglink.cli import main
from kglink.errors import InputError
from tests.conftest import shared_path
from tests.synonymy.test_groups import PUBTATOR as SYNONYM_GROUPS

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "graphs" / "sample"
PUBTATOR = SYNONYM_GROUPS  # two documents, three concepts, one of them named three ways
needs_matplotlib = pytest.mark.skipif(
    importlib.util.find_spec("matplotlib") is None, reason="plots need kglink[plot] (matplotlib)"
)


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the IHDR chunk, after checking the PNG signature."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def assert_png(path: Path) -> None:
    width, height = png_size(path)
    assert width >= 400 and height >= 300, (width, height)


@pytest.fixture
def captured(monkeypatch):
    """Every Figure a kglink.plots function returns, by function name (the real drawing runs)."""
    import kglink.plots

    figures: dict[str, list] = {}

    def keep(name):
        real = getattr(kglink.plots, name)

        def wrapper(*args, **kwargs):
            fig = real(*args, **kwargs)
            figures.setdefault(name, []).append(fig)
            return fig

        monkeypatch.setattr(kglink.plots, name, wrapper)

    for name in ("threshold_figure", "recall_figure", "table_figure"):
        keep(name)
    return figures


def _lines(ax, values: str = "y") -> dict[str, list[float]]:
    """Each line's values by label: its y data, or x for the text-row layout (``values="x"``)."""
    get = (lambda line: line.get_ydata()) if values == "y" else (lambda line: line.get_xdata())
    return {line.get_label(): [float(v) for v in get(line)] for line in ax.lines}


@needs_matplotlib
def test_table_figure_lines_log_axes_and_text_rows(tmp_path):
    from kglink.plots import table_figure

    rows = [{"n": 1, "a": 2.0, "b": 5.0}, {"n": 8, "a": 3.0}, {"n": 32, "a": 9.0, "b": 1.0}]
    fig = table_figure(rows, "n", {"seconds": ["a", "b"]}, tmp_path / "t.png", logx=True, logy=True)
    [ax] = fig.axes
    assert ax.get_xscale() == ax.get_yscale() == "log" and ax.get_ylabel() == "seconds"
    assert [list(line.get_xdata()) for line in ax.lines] == [[1, 8, 32], [1, 32]]  # the missing cell skipped
    assert _lines(ax) == {"a": [2.0, 3.0, 9.0], "b": [5.0, 1.0]}
    assert_png(tmp_path / "t.png")
    variants = [{"variant": "bm25", "r": 0.4}, {"variant": "dense", "r": 0.6}]
    fig = table_figure(variants, "variant", ["r"], tmp_path / "v.png")
    [ax] = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == ["bm25", "dense"]
    assert _lines(ax, "x") == {"r": [0.4, 0.6]}  # values across, one row per variant
    assert list(ax.lines[0].get_ydata()) == [0, 1]
    assert_png(tmp_path / "v.png")


def test_missing_matplotlib_names_the_extra(tmp_path, monkeypatch):
    from kglink.plots import recall_figure, require_matplotlib

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    for call in (require_matplotlib, lambda: recall_figure({"dense": [1.0]}, tmp_path / "r.png")):
        with pytest.raises(InputError, match=r"pip install 'kglink\[plot\]'"):
            call()
    corpus = tmp_path / "c.txt"
    corpus.write_text(PUBTATOR)
    questions = tmp_path / "q.json"
    questions.write_text("[]")
    for args in (
        ["eval-synonyms", "--pubtator", str(corpus)],
        ["eval", "--graph", str(tmp_path / "nowhere"), "--questions", str(questions)],
    ):
        result = CliRunner().invoke(main, [*args, "--plot", str(tmp_path / "p.png")])
        assert result.exit_code == 1 and "kglink[plot]" in result.output, result.output  # before any work
    assert not (tmp_path / "p.png").exists()


@needs_matplotlib
def test_eval_synonyms_plot_draws_the_sweeps_it_prints(tmp_path, captured):
    corpus = tmp_path / "c.txt"
    corpus.write_text(PUBTATOR)
    out = tmp_path / "plots" / "syn.png"
    result = CliRunner().invoke(
        main, ["eval-synonyms", "--pubtator", str(corpus), "--json", "--plot", str(out)]
    )
    assert result.exit_code == 0, result.output
    reports = [json.loads(line) for line in result.stdout.splitlines()]  # --json: nothing else printed
    assert_png(out)
    [fig] = captured["threshold_figure"]
    assert len(fig.axes) == len(reports) == 2
    for ax, report in zip(fig.axes, reports):
        sweep = report["pairwise"]["sweep"]
        lines = {line.get_label(): line for line in ax.lines}
        assert ax.get_title() == report["scorer"]
        assert list(lines["F1"].get_xdata()) == [p["threshold"] for p in sweep]
        assert _lines(ax)["F1"] == [p["f1"] for p in sweep]
        assert _lines(ax)["recall"] == [p["recall"] for p in sweep]
        drawn = _lines(ax)["precision"]
        assert [d for d, p in zip(drawn, sweep) if p["predicted"]] == [
            p["precision"] for p in sweep if p["predicted"]
        ]
        assert all(d != d for d, p in zip(drawn, sweep) if not p["predicted"])  # NaN: undefined there
        default = report["pairwise"]["at_default"]
        marks = [k for k in lines if k.startswith("threshold used")]
        if default is None:  # TF-IDF has no threshold of its own
            assert marks == []
        else:  # the embedded model stores none: the 0.8 default is the one used
            assert list(lines[marks[0]].get_xdata()) == [default["threshold"]] * 2 == [0.8, 0.8]


@pytest.mark.slow
@needs_matplotlib
def test_eval_synonyms_plot_on_ncbi_disease(tmp_path):
    corpus = shared_path("data", "ncbi_disease", "NCBIdevelopset_corpus.txt")
    out = tmp_path / "ncbi.png"
    result = CliRunner().invoke(main, ["eval-synonyms", "--pubtator", str(corpus), "--plot", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output
    width, height = png_size(out)
    assert width >= 800 and height >= 400  # two scorers side by side


@pytest.fixture(scope="module")
def sample_graph(tmp_path_factory, default_model) -> Path:
    from kglink import build_graph

    folder = tmp_path_factory.mktemp("plots") / "kg"
    build_graph(SAMPLE / "openie.json", SAMPLE / "corpus.json", model=default_model).save(folder)
    return folder


@needs_matplotlib
def test_eval_plot_draws_recall_at_k_of_every_mode(sample_graph, tmp_path, captured):
    modes = ["graph", "dense"] + (["bm25"] if importlib.util.find_spec("bm25s") else [])
    args = ["eval", "--graph", str(sample_graph), "--questions", str(SAMPLE / "questions.json"), "--json"]
    out = tmp_path / "recall.png"
    result = CliRunner().invoke(main, [*args, *(x for m in modes for x in ("--mode", m)), "--plot", str(out)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    summaries = [x for x in lines if "mode" in x]
    assert [s["mode"] for s in summaries] == modes and len(lines) == len(modes) * (8 + 1)
    assert_png(out)
    [fig] = captured["recall_figure"]
    [ax] = fig.axes
    curves = list(_lines(ax).items())
    assert [label for label, _ in curves] == ["graph (ngrams seeds)", *modes[1:]]
    assert all(list(line.get_xdata()) == list(range(1, 21)) for line in ax.lines)
    for (_, curve), summary in zip(curves, summaries):
        assert curve[1] == summary["recall@2"] and curve[4] == summary["recall@5"]
        assert curve == sorted(curve) and 0.0 <= curve[0] and curve[-1] <= 1.0
    single = CliRunner().invoke(main, [*args, "--mode", "dense"])  # one mode: the output as before
    assert single.exit_code == 0
    timeless = lambda x: {k: v for k, v in x.items() if k != "seconds" and not k.startswith("latency")}  # noqa: E731
    assert [timeless(json.loads(x)) for x in single.stdout.splitlines()] == [timeless(x) for x in lines[9:18]]
    inside = CliRunner().invoke(main, [*args, "--plot", str(sample_graph / "r.png")])
    assert inside.exit_code == 2 and "inside" in inside.output and not (sample_graph / "r.png").exists()


def _benchmark(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@needs_matplotlib
def test_bench_serve_plot_draws_its_link_table(tmp_path):
    pytest.importorskip("httpx", reason="bench_serve needs kglink[serve]")
    run = lambda clients, rps, p99: {"clients": clients, "rps": rps, "p99_ms": p99}  # noqa: E731
    report = {
        "graph": "graphs/sample-kg",
        "cpus": 2,
        "link": {
            "on": [run(1, 20.0, 60.0), run(8, 70.0, 150.0), run(32, 90.0, 500.0)],
            "off": [run(1, 21.0, 55.0), run(8, 30.0, 400.0), run(32, 31.0, 1500.0)],
        },
    }
    fig = _benchmark("bench_serve").plot(report, tmp_path / "serve.png")
    throughput, p99 = fig.axes
    assert _lines(throughput) == {
        "batching on: requests/s": [20.0, 70.0, 90.0],
        "batching off: requests/s": [21.0, 30.0, 31.0],
    }
    assert _lines(p99) == {
        "batching on: p99 ms": [60.0, 150.0, 500.0],
        "batching off: p99 ms": [55.0, 400.0, 1500.0],
    }
    assert list(p99.lines[0].get_xdata()) == [1, 8, 32] and p99.get_xscale() == "log"
    assert_png(tmp_path / "serve.png")


@needs_matplotlib
def test_bench_retrieval_plot_draws_every_variant(tmp_path):
    table = [
        {"variant": v, "recall@2": r2, "recall@5": r5, "latency_ms_median": 5.0, "latency_ms_p95": 9.0}
        for v, r2, r5 in [("bm25", 0.3, 0.5), ("dense", 0.45, 0.6), ("graph v2, ngrams seeds", 0.5, 0.66)]
    ]
    report = {"questions": 1000, "model": "m", "synonym_threshold": 0.8, "table": table}
    fig = _benchmark("bench_retrieval").plot(report, tmp_path / "retrieval.png")
    recall, latency = fig.axes
    assert _lines(recall, "x") == {"recall@2": [0.3, 0.45, 0.5], "recall@5": [0.5, 0.6, 0.66]}
    assert _lines(latency, "x") == {"latency_ms_median": [5.0] * 3, "latency_ms_p95": [9.0] * 3}
    assert [t.get_text() for t in recall.get_yticklabels()] == [row["variant"] for row in table]
    assert_png(tmp_path / "retrieval.png")
