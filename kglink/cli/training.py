"""Commands that adapt and measure the entity encoder: train, eval-synonyms."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click

from kglink.cli._common import echo_json, main, plot_target

FILES = click.Path(exists=True, dir_okay=False)
SHARE = click.FloatRange(0, 1, max_open=True)


def _groups(pubtator=(), groups=(), pairs=(), graphs=(), any_format=(), alias_limit=None):
    from kglink.synonymy import groups as gold

    loaded = [gold.load_pubtator(p) for p in pubtator] + [gold.load_groups(p) for p in groups]
    loaded += [gold.load_pairs(p) for p in pairs] + [gold.load_synsets(p) for p in any_format]
    if graphs:
        from kglink.synonymy.aliases import graph_alias_groups

        loaded += [graph_alias_groups(g, alias_limit) for g in graphs]
    return gold.merge_groups(*loaded) if loaded else None


@main.command()
@click.option("--model", default=None, help="Checkpoint to start from (default: the embedded model).")
@click.option("--pubtator", multiple=True, type=FILES, help="PubTator corpus (concept ids give synonyms).")
@click.option("--groups", multiple=True, type=FILES, help='JSONL: {"id": ..., "names": [...]} per line.')
@click.option("--pairs", multiple=True, type=FILES, help="Synonym pairs: TSV a<TAB>b, or JSONL [a, b].")
@click.option(
    "--from-graph", multiple=True, type=click.Path(file_okay=False), help="Self-supervised aliases."
)
@click.option("--alias-limit", default=None, type=click.IntRange(1), help="--from-graph: sample N groups.")
@click.option(
    "--dev", multiple=True, type=FILES, help="Dev synonyms (any of the formats) for early stopping."
)
@click.option(
    "--hold-out",
    default=0.1,
    show_default=True,
    type=SHARE,
    help="Without --dev: share of the synonym groups held out as dev (0: calibrate on training).",
)
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder for the trained model.")
@click.option("--epochs", default=6, show_default=True, type=click.IntRange(1))
@click.option("--batch-size", default=64, show_default=True, type=click.IntRange(2))
@click.option(
    "--lr",
    default=3e-4,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="Peak learning rate.",
)
@click.option("--temperature", default=0.05, show_default=True, type=click.FloatRange(0, min_open=True))
@click.option(
    "--hard-negatives", default=10, show_default=True, type=click.IntRange(0), help="Mined per name."
)
@click.option("--symmetric/--one-way", default=True, show_default=True, help="Loss in both directions.")
@click.option("--projection-dim", default=None, type=click.IntRange(1), help="Add a projection (e.g. 128).")
@click.option("--patience", default=2, show_default=True, type=click.IntRange(1), help="Epochs without gain.")
@click.option(
    "--target-precision", default=None, type=click.FloatRange(0, 1), help="Calibrate for precision."
)
@click.option(
    "--precision", default="auto", show_default=True, type=click.Choice(["auto", "fp32", "bf16", "fp16"])
)
@click.option(
    "--base-weight",
    default=0.3,
    show_default=True,
    type=SHARE,
    help="Share of the starting model in the saved weights (WiSE-FT; keeps general-domain linking).",
)
@click.option("--max-steps", default=None, type=click.IntRange(1), help="Stop after N steps (resumable).")
@click.option("--resume", is_flag=True, help="Continue from the checkpoint beside --out.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--device", default=None, help="cpu, cuda, cuda:N (default: cuda if available).")
@click.option("--progress/--no-progress", default=True, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def train(
    model,
    pubtator,
    groups,
    pairs,
    from_graph,
    alias_limit,
    dev,
    out,
    device,
    progress,
    resume,
    as_json,
    **options,
):
    """Fine-tune the entity encoder on synonyms; saves a PyLate checkpoint with its threshold.

    Sources can be mixed and repeated; concept ids shared across PubTator files (MeSH)
    join their groups. Use the result with `kglink build --model OUT`.
    """
    from kglink.encoder.model import LateInteractionModel
    from kglink.errors import InputError
    from kglink.training import Trainer

    data = _groups(pubtator, groups, pairs, from_graph, alias_limit=alias_limit)
    if data is None:
        raise InputError("give training synonyms: --pubtator, --groups, --pairs or --from-graph")
    encoder = LateInteractionModel.from_pretrained(model, device=device, show_progress=progress)
    trainer = Trainer(encoder, data, out, dev=_groups(any_format=dev), show_progress=progress, **options)
    result = trainer.fit(resume=resume)
    summary = {
        "out": str(result.model_dir),
        "steps": result.steps,
        "epochs": result.epochs,
        "seconds": round(result.seconds, 1),
        "threshold": result.threshold,
        "dev_best": asdict(result.dev.best) if result.dev else None,
    }
    if as_json:
        echo_json(summary)
    else:
        for key, value in summary.items():
            click.echo(f"{key:12} {value}")


@main.command("eval-synonyms")
@click.option("--pubtator", multiple=True, type=FILES, help="PubTator corpus with concept ids.")
@click.option("--groups", multiple=True, type=FILES, help='JSONL: {"id": ..., "names": [...]} per line.')
@click.option("--model", default=None, help="Model to evaluate (default: the embedded model).")
@click.option(
    "--baselines/--no-baselines", default=True, show_default=True, help="Also TF-IDF and untrained."
)
@click.option(
    "--plot",
    default=None,
    type=click.Path(dir_okay=False),
    help="Also draw each scorer's P/R/F1 against the threshold to this PNG (kglink[plot]).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per scorer, sweeps included.")
def eval_synonyms(pubtator, groups, model, baselines, plot, as_json):
    """Pairwise synonymy P/R/F1 and linking acc@1/acc@5 on gold concept groups."""
    from kglink.encoder.model import LateInteractionModel
    from kglink.errors import InputError
    from kglink.synonymy.evaluate import MaxSimScorer, TfidfScorer, linking_report, pairwise_report

    plot = plot_target(plot, model)
    data = _groups(pubtator, groups)
    if data is None:
        raise InputError("give gold synonyms: --pubtator or --groups")
    encoder = LateInteractionModel.from_pretrained(model, show_progress=False)
    scorers = [(model or "embedded default", MaxSimScorer(encoder), encoder.synonym_threshold or 0.8)]
    if baselines:
        if model is not None:
            untrained = LateInteractionModel.from_pretrained(None, show_progress=False)
            scorers.append(("untrained (embedded default)", MaxSimScorer(untrained), 0.8))
        scorers.append(("char-trigram TF-IDF", TfidfScorer(), None))
    drawn = []
    for name, scorer, default in scorers:
        pairwise, linking = pairwise_report(scorer, data, default), linking_report(scorer, data)
        drawn.append((name, pairwise.sweep, default))
        if as_json:
            echo_json({"scorer": name, "pairwise": asdict(pairwise), "linking": asdict(linking)})
        else:
            click.echo(_summary_line(name, pairwise, linking))
    if plot:
        from kglink.plots import threshold_figure

        sets = ", ".join(Path(p).name for p in pubtator + groups)
        threshold_figure(drawn, plot, title=f"synonym pairs of {sets}: precision, recall, F1")
        if not as_json:
            click.echo(f"wrote {plot}")


def _summary_line(name, pairwise, linking) -> str:
    best, default = pairwise.best, pairwise.at_default
    line = f"{name}: {pairwise.names} names, {pairwise.gold_pairs} gold pairs; "
    line += f"best F1 {best.f1:.3f} @ {best.threshold:.2f}"
    if default:
        p, r = default.precision, default.recall
        line += f", F1@{default.threshold:.2f} {default.f1:.3f} (P {p:.3f} R {r:.3f})"
    return line + f"; linking {linking.queries} names: acc@1 {linking.acc1:.3f} acc@5 {linking.acc5:.3f}"
