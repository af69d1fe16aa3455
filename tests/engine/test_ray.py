"""The Ray engine on a local 2-CPU cluster: the same encodings, pairs and graph folder as the local build."""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from kglink import InputError, LateInteractionModel, build_graph
from kglink.cli import main
from kglink.engine import RayEngine
from kglink.index import EntityIndex
from tests.conftest import WORDS, shared_path

ray = pytest.importorskip("ray")

SAMPLE = Path(__file__).resolve().parents[2] / "graphs" / "sample"
HIPPORAG = ("data", "hipporag")
MUSIQUE = "openie_musique_train_results_ner_gpt-3.5-turbo-1106_1890.json"
# Three-word names of the tiny vocabulary: 165 names, three encoding batches (64, 64, 37).
NAMES = [" ".join(w) for w in itertools.combinations(WORDS, 3)]


@pytest.fixture(scope="module")
def cluster():
    """A local Ray cluster of 2 CPUs for this module's tests, shut down after them."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def _same_arrays(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return len(a) == len(b) and all(x.dtype == y.dtype and np.array_equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("ckpt", ["stanford_ckpt", "pylate_ckpt", "plain_ckpt"])
def test_encoding_in_actors_is_bitwise_the_models(cluster, ckpt, request):
    # markers and query expansion (two runs with their own length order) or one shared pass
    model = LateInteractionModel.from_pretrained(request.getfixturevalue(ckpt), show_progress=False)
    queries, docs = RayEngine(show_progress=False).encode_both(model, NAMES)
    want_queries, want_docs = model.encode_both(NAMES)
    assert _same_arrays(queries, want_queries) and _same_arrays(docs, want_docs)


def test_new_vs_all_pairs_through_actors_equal_the_local_ones(cluster, plain_ckpt):
    model = LateInteractionModel.from_pretrained(plain_ckpt, show_progress=False)
    entities = EntityIndex(model, threshold=0.0)  # every node keeps its top neighbours
    entities.add(NAMES[:120])
    new = entities.add(NAMES[120:])
    engine = RayEngine(show_progress=False, block=16)  # several blocks per actor
    local = entities.synonym_pairs(nodes=new, max_neighbors=5)
    assert local and entities.synonym_pairs(nodes=new, max_neighbors=5, map_blocks=engine.map_blocks) == local
    everything = entities.synonym_pairs(max_neighbors=5)
    assert entities.synonym_pairs(max_neighbors=5, map_blocks=engine.map_blocks) == everything


def _assert_same_build(local, distributed) -> int:
    """Same entity arrays, self scores and edges; returns the synonym edges."""
    a, b = local.entities, distributed.entities
    assert a.docs.ids == b.docs.ids
    for store in ("docs", "queries"):
        ids = a.docs.ids
        got = [getattr(b, store).embedding(i) for i in ids]
        assert _same_arrays([getattr(a, store).embedding(i) for i in ids], got), store
    assert a._self == b._self
    edges = sorted(local.graph.graph.edges(data=True))
    assert edges == sorted(distributed.graph.graph.edges(data=True))
    return sum(kind == "synonym" for *_, kind in local.graph.graph.edges(data="kind"))


def test_sample_graph_built_on_ray_equals_the_local_build(cluster, default_model):
    args = (SAMPLE / "openie.json", SAMPLE / "corpus.json")
    local = build_graph(*args, model=default_model, passages=False)
    distributed = build_graph(*args, model=default_model, passages=False, engine="ray")
    assert _assert_same_build(local, distributed) > 100


@pytest.mark.slow
def test_musique_graph_built_on_ray_equals_the_local_build(cluster, default_model):
    args = (shared_path(*HIPPORAG, MUSIQUE), shared_path(*HIPPORAG, "musique_train_corpus.json"))
    local = build_graph(*args, model=default_model, passages=False)
    distributed = build_graph(*args, model=default_model, passages=False, engine="ray")
    assert len(local.entities) > 10_000  # past exhaustive scoring: the candidate-index path
    assert _assert_same_build(local, distributed) > 1000


def test_cli_build_with_engine_ray_writes_the_local_folder(cluster, tmp_path):
    data = json.loads((SAMPLE / "openie.json").read_text())
    subset = tmp_path / "openie.json"
    subset.write_text(json.dumps({**data, "docs": data["docs"][:40]}))
    outs = {}
    for engine in ("local", "ray"):
        outs[engine] = tmp_path / engine
        args = ["build", "--openie", str(subset), "--corpus", str(SAMPLE / "corpus.json"), "--no-passages"]
        args += ["--out", str(outs[engine]), "--engine", engine, "--no-progress", "--json"]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
    files = sorted(p.relative_to(outs["local"]) for p in outs["local"].rglob("*") if p.is_file())
    assert Path("graph.json") in files and Path("entities/docs/tokens.npy") in files
    for name in files:
        if name.name != "MANIFEST.json":  # it holds the time of writing
            assert (outs["local"] / name).read_bytes() == (outs["ray"] / name).read_bytes(), name


def test_missing_ray_names_the_extra(monkeypatch, default_model, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed: import ray fails
    with pytest.raises(InputError, match=r"kglink\[ray\]"):
        build_graph(SAMPLE / "openie.json", SAMPLE / "corpus.json", model=default_model, engine="ray")
    args = ["build", "--openie", str(SAMPLE / "openie.json"), "--out", str(tmp_path), "--ray-address", "auto"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code != 0 and "--engine ray" in result.output


def test_a_ray_that_does_not_import_names_the_extra_and_the_cause(monkeypatch):
    from kglink.engine.ray import require_ray

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    with pytest.raises(InputError, match=r"pip install 'kglink\[ray\]' \(.*ray.*\)"):
        require_ray()
