"""The package's shape: import rules between its folders, and what 0.1 users relied on still works."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "kglink"
DATA = Path(__file__).resolve().parent / "data"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            if node.module == "kglink":  # from kglink import x: x may be a module
                found |= {f"kglink.{alias.name}" for alias in node.names}
    return found


IMPORTS = {_module_name(p): _imports(p) for p in PACKAGE.rglob("*.py")}


def _importers(prefix: str) -> set[str]:
    return {m for m, deps in IMPORTS.items() if any(d == prefix or d.startswith(prefix + ".") for d in deps)}


@pytest.mark.parametrize(
    ("module", "allowed"),
    [
        ("kglink.scores", {"kglink.errors", "kglink.device"}),
        ("kglink.ppr", {"kglink.errors"}),
        ("kglink.device", {"kglink.errors"}),
        ("kglink.errors", set()),
        ("kglink.text", {"kglink.errors"}),
        ("kglink.results", set()),
        ("kglink.checks", {"kglink.errors"}),
    ],
)
def test_math_and_plumbing_import_nothing_of_kglink_but_errors(module, allowed):
    ours = {d for d in IMPORTS[module] if d.startswith("kglink")}
    assert ours <= allowed, f"{module} imports {sorted(ours - allowed)}"


def test_heavy_dependencies_are_imported_in_one_place_each():
    assert _importers("faiss") == {"kglink.index.tokens"}
    assert _importers("bm25s") == {"kglink.retrieval.bm25"}
    assert _importers("matplotlib") == {"kglink.plots"}
    assert _importers("ray") == {"kglink.engine.ray"}
    assert _importers("transformers") == {"kglink.encoder.checkpoint", "kglink.rag.generators"}
    graph_folder = {"kglink.graph.knowledge_graph", "kglink.graph.export", "kglink.graph.subgraph"}
    assert _importers("networkx") <= graph_folder | {"kglink.ppr"}


def test_only_the_cli_prints():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if "cli" in path.relative_to(PACKAGE).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            func = node.func if isinstance(node, ast.Call) else None
            printing = isinstance(func, ast.Name) and func.id == "print"
            printing |= isinstance(func, ast.Attribute) and func.attr in ("echo", "secho")
            std = isinstance(func, ast.Attribute) and isinstance(func.value, ast.Attribute)
            printing |= std and func.value.attr in ("stdout", "stderr") and func.attr == "write"
            if printing:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def _fresh_python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120, check=True
    )
    return result.stdout.strip()


def test_the_graph_and_the_corpus_never_load_torch():
    code = (
        "import sys, kglink.graph, kglink.corpus, kglink.results\n"
        f"kg = kglink.graph.KnowledgeGraph.load({str(DATA / 'graph-0.1.0')!r})\n"
        "heavy = sorted(m for m in ('torch', 'faiss', 'transformers') if m in sys.modules)\n"
        "print(kg.stats()['entities'], heavy)"
    )
    assert _fresh_python(code) == "24 []"


def test_import_kglink_and_the_cli_stay_light():
    code = "import sys, kglink, kglink.cli; print('torch' in sys.modules, 'numpy' in sys.modules)"
    assert _fresh_python(code) == "False False"


FLAT_0_1 = [
    "Answer", "ChatGenerator", "LocalGenerator", "RAGPipeline", "ArtifactError", "EntityIndex",
    "GraphBundle", "GraphRetriever", "IndexMismatchError", "InputError", "KglinkError",
    "KnowledgeGraph", "LateInteractionIndex", "LateInteractionModel", "LinkResult", "Match",
    "PassageHit", "PassageIndex", "ModelLoadError", "SearchResult", "SynonymPair", "TrainResult",
    "Trainer", "build_graph", "load_corpus", "load_openie", "maxsim", "maxsim_reference",
]  # fmt: skip


@pytest.mark.parametrize("name", FLAT_0_1)
def test_every_flat_name_of_0_1_imports(name):
    import kglink

    assert name in kglink.__all__
    assert getattr(kglink, name) is not None


# Module paths 0.1's README, examples, benchmarks and tests imported from, with a name each,
# and where that name lives now.
OLD_PATHS = [
    ("kglink.retriever", "GraphRetriever", "kglink.retrieval.retriever"),
    ("kglink.retriever", "PassageHit", "kglink.results"),
    ("kglink.evaluate", "load_questions", "kglink.retrieval.evaluate"),
    ("kglink.ppr", "personalized_pagerank", "kglink.ppr"),
    ("kglink.graph", "KnowledgeGraph", "kglink.graph.knowledge_graph"),
    ("kglink.model", "LateInteractionModel", "kglink.encoder.model"),
    ("kglink.synsets", "load_pubtator", "kglink.synonymy.groups"),
    ("kglink.synonym_eval", "MaxSimScorer", "kglink.synonymy.evaluate"),
    ("kglink.scores", "compute_dtype", "kglink.scores"),
    ("kglink.openie", "Passage", "kglink.corpus.documents"),
    ("kglink.openie", "load_openie", "kglink.corpus.openie"),
    ("kglink.corpus", "load_passages", "kglink.corpus.chunking"),
    ("kglink.builder", "GraphBundle", "kglink.bundle"),
    ("kglink.ingest", "build_graph_from_corpus", "kglink.bundle"),
    ("kglink.ie.store", "read_extractions", "kglink.corpus.openie"),
    ("kglink.ie", "write_openie", "kglink.ie"),
    ("kglink.extract", "Mention", "kglink.retrieval.mentions"),
    ("kglink.extract", "NgramExtractor", "kglink.retrieval.mentions"),
    ("kglink.llm", "ChatClient", "kglink.chat"),
    ("kglink.io", "atomic_write_json", "kglink.artifacts.files"),
    ("kglink.index", "LateInteractionIndex", "kglink.index.tokens"),
    ("kglink.entities", "EntityIndex", "kglink.index.entities"),
    ("kglink.passages", "PassageIndex", "kglink.index.passages"),
    ("kglink.tfidf", "TfidfTrigrams", "kglink.synonymy.tfidf"),
    ("kglink.aliases", "graph_alias_groups", "kglink.synonymy.aliases"),
    ("kglink.results", "SynonymPair", "kglink.results"),
    ("kglink.text", "normalize_name", "kglink.text"),
    ("kglink.rag", "ask", "kglink.rag.pipeline"),
    ("kglink.training", "Trainer", "kglink.training.trainer"),
]


@pytest.mark.parametrize(("old", "name", "new"), OLD_PATHS)
def test_every_public_import_of_0_1_still_works(old, name, new):
    import importlib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        value = getattr(importlib.import_module(old), name)
    assert value.__module__ == new


def test_an_old_module_path_warns_and_names_the_new_one():
    sys.modules.pop("kglink.synsets", None)
    with pytest.warns(DeprecationWarning, match="kglink.synsets moved to kglink.synonymy.groups"):
        from kglink.synsets import merge_groups  # noqa: F401


def test_the_cli_keeps_every_command_and_option_of_0_1():
    from kglink.cli import main

    old = json.loads((DATA / "cli-0.1.0.json").read_text())
    for name, options in old.items():
        assert name in main.commands, name
        params = main.commands[name].params
        now = {o for p in params for o in (p.opts + p.secondary_opts)}
        assert set(options) - now - {p.name for p in params} == set(), name


def test_a_graph_folder_written_by_0_1_loads_and_answers_as_it_did(tmp_path, default_model):
    from kglink import GraphBundle, GraphRetriever

    folder = shutil.copytree(DATA / "graph-0.1.0", tmp_path / "g")
    expected = json.loads((DATA / "graph-0.1.0.expected.json").read_text())
    bundle = GraphBundle.load(folder, default_model)
    assert bundle.graph.stats() == expected["stats"]
    for result in bundle.entities.link(list(expected["links"]), top_k=1):
        node, score = expected["links"][result.mention][0]
        assert result.best.node_id == node and result.best.score == pytest.approx(score, abs=1e-4)
    hits = GraphRetriever(bundle).retrieve(expected["question"], top_k=2)
    assert [h.passage_id for h in hits] == [pid for pid, _ in expected["retrieve"]]
    assert [h.score for h in hits] == pytest.approx([s for _, s in expected["retrieve"]], abs=1e-4)


def test_the_retrievers_0_1_keyword_extractor_still_works(default_model):
    from kglink import GraphBundle, GraphRetriever

    bundle = GraphBundle.load(DATA / "graph-0.1.0", default_model)
    with pytest.warns(DeprecationWarning, match="mention_finder"):
        retriever = GraphRetriever(bundle, extractor=lambda q: ["Copenhagen"])
    assert [s.node for s in retriever.seeds("anything")] == ["e:university of copenhagen"]
