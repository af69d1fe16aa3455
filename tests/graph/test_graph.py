"""Tests of kglink.graph against counts worked out by hand on a tiny OpenIE set."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import networkx as nx
import pytest

from kglink.corpus import OpenIEData, OpenIEDoc, Passage, load_openie, passage_id
from kglink.errors import ArtifactError, InputError
from kglink.graph import KnowledgeGraph
from kglink.results import SynonymPair

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "hipporag"


def tiny() -> OpenIEData:
    """Doc a: ann-bob (met), ann-paris, a self-loop; doc b: bob-ann (greeted), bob-rome,
    a triple with an empty name, and an entity '??' that normalises to nothing."""
    a = OpenIEDoc(
        Passage("a", "Ann", "Ann met Bob in Paris."),
        ("Ann", "Bob", "Paris"),
        (("Ann", "met", "Bob"), ("Ann", "visited", "Paris"), ("Ann", "is", "ann.")),
    )
    b = OpenIEDoc(
        Passage("b", "Bob", "Bob greeted Ann in Rome."),
        ("Bob", "ANN", "??"),
        (("Bob", "greeted", "Ann"), ("Bob", "lives in", "Rome"), ("!!", "is", "Bob")),
    )
    return OpenIEData((a, b), "v1", 3)


@pytest.fixture
def kg() -> KnowledgeGraph:
    return KnowledgeGraph.from_openie(tiny())


def test_counts_by_hand(kg: KnowledgeGraph) -> None:
    assert kg.stats() == {
        "entities": 4,  # ann, bob, paris, rome
        "passages": 2,
        "relation_edges": 3,  # ann-bob, ann-paris, bob-rome
        "mention_edges": 6,  # a: ann bob paris; b: bob ann rome
        "synonym_edges": 0,
        "relation_synonyms": 0,
        "triples": 4,
        "malformed_triples": 3,
        "skipped_triples": 2,  # ann-ann self-loop, '!!'
        "skipped_names": 1,  # '??'
    }
    assert kg.graph.number_of_nodes() == 6 and kg.graph.number_of_edges() == 9
    assert kg.entity_names() == ["ann", "bob", "paris", "rome"]
    assert kg.passage_ids() == ["a", "b"]


def test_node_and_edge_attributes(kg: KnowledgeGraph) -> None:
    g = kg.graph
    assert g.nodes["e:ann"] == {
        "kind": "entity",
        "name": "ann",
        "surface_forms": ["ANN", "Ann"],
        "passages": ["a", "b"],
    }
    assert g.nodes["p:b"] == {
        "kind": "passage",
        "id": "b",
        "title": "Bob",
        "text": "Bob greeted Ann in Rome.",
    }
    assert g.edges["e:ann", "e:bob"] == {
        "kind": "relation",
        "predicates": ["greeted", "met"],
        "count": 2,
        "passages": ["a", "b"],
        "weight": 2.0,
    }
    assert g.edges["e:rome", "e:bob"]["predicates"] == ["lives in"]
    assert g.edges["p:a", "e:paris"] == {"kind": "mention", "weight": 1.0}
    assert not g.has_edge("p:a", "e:rome")
    assert KnowledgeGraph.entity_node("Ann.") == "e:ann"
    assert KnowledgeGraph.passage_node("a") == "p:a"


def test_synonym_keeps_relation_edge(kg: KnowledgeGraph) -> None:
    added = kg.add_synonyms([SynonymPair("bob", "ann", 0.95), SynonymPair("paris", "rome", 0.9)])
    assert added == 2
    rel = kg.graph.edges["e:ann", "e:bob"]
    assert rel["kind"] == "relation" and rel["weight"] == 2.0 and rel["synonym_score"] == 0.95
    assert kg.graph.edges["e:paris", "e:rome"] == {"kind": "synonym", "score": 0.9, "weight": 0.9}
    assert kg.synonyms() == [SynonymPair("ann", "bob", 0.95), SynonymPair("paris", "rome", 0.9)]
    assert kg.synonyms("Rome") == [SynonymPair("paris", "rome", 0.9)]
    assert kg.synonym_edges() == [("e:ann", "e:bob", 0.95), ("e:paris", "e:rome", 0.9)]
    stats = kg.stats()
    assert stats["synonym_edges"] == 1 and stats["relation_synonyms"] == 1
    assert kg.add_synonyms([SynonymPair("paris", "rome", 0.8)]) == 1  # update, not a new edge
    assert kg.graph.edges["e:paris", "e:rome"]["weight"] == 0.8
    assert kg.remove_synonyms() == 2
    assert kg.synonyms() == [] and "synonym_score" not in kg.graph.edges["e:ann", "e:bob"]
    assert kg.stats()["relation_edges"] == 3


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        (SynonymPair("ann", "zed", 0.9), "'zed' is not in the graph"),
        (SynonymPair("ann", "Ann", 0.9), "to itself"),
        (SynonymPair("ann", "bob", math.nan), "finite number"),
        (SynonymPair("ann", "bob", -0.1), "finite number >= 0"),
        (("ann", "bob", 0.9), "not a SynonymPair"),
    ],
)
def test_bad_synonyms_add_nothing(kg: KnowledgeGraph, pair: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        kg.add_synonyms([SynonymPair("paris", "rome", 0.9), pair])
    assert kg.synonyms() == []


def test_unknown_name_in_synonyms_query(kg: KnowledgeGraph) -> None:
    with pytest.raises(InputError, match="entity_names"):
        kg.synonyms("zed")


def test_save_load_roundtrip(kg: KnowledgeGraph, tmp_path: Path) -> None:
    kg.add_synonyms([SynonymPair("paris", "rome", 0.9), SynonymPair("ann", "bob", 0.95)])
    folder = tmp_path / "g"
    kg.save(folder)
    config = json.loads((folder / "graph_config.json").read_text(encoding="utf-8"))
    assert config["format_version"] == 1 and config["kind"] == "knowledge_graph"
    loaded = KnowledgeGraph.load(folder)
    assert nx.utils.graphs_equal(loaded.graph, kg.graph)
    assert loaded.stats() == kg.stats()
    assert loaded.synonyms() == kg.synonyms()
    with open(folder / "graph.json", encoding="utf-8") as f:
        plain = nx.node_link_graph(json.load(f), edges="edges", name="node")
    assert nx.utils.graphs_equal(plain, kg.graph)
    assert plain.nodes["p:a"]["id"] == "a"


def test_graphml_roundtrip(kg: KnowledgeGraph, tmp_path: Path) -> None:
    kg.add_synonyms([SynonymPair("paris", "rome", 0.9), SynonymPair("ann", "bob", 0.95)])
    path = tmp_path / "out" / "kg.graphml"
    kg.export_graphml(path)
    back = nx.read_graphml(path)
    assert set(back.nodes) == set(kg.graph.nodes)
    assert back.number_of_edges() == kg.graph.number_of_edges()
    assert json.loads(back.nodes["e:ann"]["surface_forms"]) == ["ANN", "Ann"]
    assert back.nodes["p:a"]["id"] == "a"
    rel = back.edges["e:ann", "e:bob"]
    assert json.loads(rel["predicates"]) == ["greeted", "met"] and rel["count"] == 2
    assert rel["synonym_score"] == 0.95
    assert back.edges["e:paris", "e:rome"]["kind"] == "synonym"
    assert isinstance(kg.graph.nodes["e:ann"]["surface_forms"], list)  # original untouched


def test_graphml_replaces_characters_xml_cannot_hold(tmp_path: Path) -> None:
    doc = OpenIEDoc(Passage("a", "T", "page\x0cbreak"), ("x",), ())
    KnowledgeGraph.from_openie(OpenIEData((doc,), "v1", 0)).export_graphml(tmp_path / "g.graphml")
    assert nx.read_graphml(tmp_path / "g.graphml").nodes["p:a"]["text"] == "page\ufffdbreak"


def test_failed_save_keeps_old_folder(
    kg: KnowledgeGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "g"
    kg.save(folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    kg.add_synonyms([SynonymPair("paris", "rome", 0.9)])

    def fail(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        kg.save(folder)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # no temp files left
    assert KnowledgeGraph.load(folder).synonyms() == []


def test_load_errors(kg: KnowledgeGraph, tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="kglink build"):
        KnowledgeGraph.load(tmp_path / "missing")
    folder = tmp_path / "g"
    kg.save(folder)
    (folder / "MANIFEST.json").unlink()  # as a 0.1 folder: each file's own check speaks
    (folder / "graph.json").write_text('{"nodes": [', encoding="utf-8")
    with pytest.raises(ArtifactError, match="not valid JSON.*kglink build"):
        KnowledgeGraph.load(folder)
    (folder / "graph.json").write_text('{"nodes": []}', encoding="utf-8")
    with pytest.raises(ArtifactError, match="corrupt.*kglink build"):
        KnowledgeGraph.load(folder)
    (folder / "graph_config.json").write_text('{"format_version": 99}', encoding="utf-8")
    with pytest.raises(ArtifactError, match="kglink build"):
        KnowledgeGraph.load(folder)
    (folder / "graph_config.json").unlink()
    with pytest.raises(ArtifactError, match="not found.*kglink build"):
        KnowledgeGraph.load(folder)


def test_save_to_a_file_path(kg: KnowledgeGraph, tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="give a folder"):
        kg.save(path)


def test_same_passage_same_node_in_both_layouts() -> None:
    text = "Ann\nAnn met Bob."
    doc = OpenIEDoc(Passage(passage_id(text), "", text), ("Ann",), ())
    kg = KnowledgeGraph.from_openie(OpenIEData((doc,), "v2", 0))
    assert kg.passage_ids() == [passage_id(text)]


def test_real_musique() -> None:
    openie = DATA / "openie_musique_train_results_ner_gpt-3.5-turbo-1106_1890.json"
    corpus = DATA / "musique_train_corpus.json"
    if not openie.is_file() or not corpus.is_file():
        pytest.skip(f"MuSiQue data not found under {DATA} (it lives in ../shared/data)")
    start = time.perf_counter()
    data = load_openie(openie, corpus)
    kg = KnowledgeGraph.from_openie(data)
    stats = kg.stats()
    assert len(data.docs) == 1890 and stats["passages"] == 1890
    assert data.layout == "v1" and data.malformed_triples > 100
    assert stats["entities"] > 10000
    assert stats["relation_edges"] > 10000 and stats["mention_edges"] > stats["entities"]
    assert time.perf_counter() - start < 60
