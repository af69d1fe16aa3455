"""Building and saving graph bundles: atomic replace, incremental entities."""

from __future__ import annotations

from pathlib import Path

import pytest

from kglink import ArtifactError, GraphBundle, InputError, build_graph

SAMPLE = Path(__file__).resolve().parents[1] / "graphs" / "sample"


@pytest.fixture(scope="module")
def bundle(default_model) -> GraphBundle:
    return build_graph(SAMPLE / "openie.json", SAMPLE / "corpus.json", model=default_model)


def test_save_load_roundtrip(bundle, default_model, tmp_path):
    bundle.save(tmp_path / "kg")
    loaded = GraphBundle.load(tmp_path / "kg", default_model)
    assert loaded.graph.stats() == bundle.graph.stats()
    assert loaded.entities.docs.ids == bundle.entities.docs.ids
    assert sorted(p.source for p in loaded.graph.synonyms()) == sorted(
        p.source for p in bundle.graph.synonyms()
    )


def test_failed_save_keeps_previous_folder(bundle, tmp_path, monkeypatch):
    bundle.save(tmp_path / "kg")
    before = {p.name: p.read_bytes() for p in (tmp_path / "kg").iterdir() if p.is_file()}

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(type(bundle.entities), "write", boom)
    with pytest.raises(OSError, match="disk full"):
        bundle.save(tmp_path / "kg")
    after = {p.name: p.read_bytes() for p in (tmp_path / "kg").iterdir() if p.is_file()}
    assert after == before
    assert [p.name for p in tmp_path.iterdir()] == ["kg"]  # no temporary folder left behind
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is a file"):
        bundle.save(tmp_path / "file")


def test_every_entity_is_indexed_and_synonyms_pass_threshold(bundle):
    assert bundle.entities.docs.ids == sorted(bundle.graph.entity_names(), key=bundle.entities.docs.ids.index)
    assert set(bundle.entities.docs.ids) == set(bundle.graph.entity_names())
    assert all(p.score >= 0.8 for p in bundle.graph.synonyms())


def test_extend_equals_full_build(bundle, default_model, tmp_path):
    import json

    data = json.loads((SAMPLE / "openie.json").read_text())
    half = tmp_path / "half.json"
    half.write_text(json.dumps({"docs": data["docs"][:80]}))
    partial = build_graph(half, SAMPLE / "corpus.json", model=default_model)
    n_before = len(partial.entities)
    added = partial.extend(SAMPLE / "openie.json", SAMPLE / "corpus.json")
    assert added["new_passages"] == 80 and added["new_entities"] == len(bundle.entities) - n_before
    full, grown = bundle.graph.stats(), partial.graph.stats()
    for key in ("entities", "passages", "relation_edges", "mention_edges", "triples"):
        assert grown[key] == full[key], key
    want = {(p.source, p.target) for p in bundle.graph.synonyms()}
    got = {(p.source, p.target) for p in partial.graph.synonyms()}
    assert got == want
    again = partial.extend(SAMPLE / "openie.json", SAMPLE / "corpus.json")
    assert again == {"new_passages": 0, "new_entities": 0, "new_synonym_edges": 0}


def test_load_entities_reads_and_checks_only_the_entity_index(bundle, default_model, tmp_path):
    bundle.save(tmp_path / "kg")
    entities = GraphBundle.load_entities(tmp_path / "kg", default_model)
    mentions = ["Zimbabwe", "American Psychological Association", "Brothers Grimm"]
    assert entities.link(mentions, top_k=3) == bundle.entities.link(mentions, top_k=3)
    graph = tmp_path / "kg" / "graph.json"
    graph.write_text(graph.read_text() + " ")  # a part linking does not read
    assert len(GraphBundle.load_entities(tmp_path / "kg", default_model)) == len(bundle.entities)
    with pytest.raises(ArtifactError, match="graph.json differs"):
        GraphBundle.load(tmp_path / "kg", default_model)
    tokens = tmp_path / "kg" / "entities" / "docs" / "tokens.npy"
    tokens.write_bytes(tokens.read_bytes()[:-2] + b"\x00\x3c")  # a part it does read
    with pytest.raises(ArtifactError, match="entities/docs/tokens.npy differs"):
        GraphBundle.load_entities(tmp_path / "kg", default_model)
    with pytest.raises(ArtifactError, match=r"\(no entities/\); build one with `kglink build`"):
        GraphBundle.load_entities(tmp_path, default_model)
