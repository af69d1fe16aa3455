"""Fine-tune a late-interaction model on synonym groups: contrastive MaxSim with hard negatives.

Each epoch re-mines hard negatives with the current model, plans its batches
(:func:`~kglink.training.batches.plan_epoch`) and takes AdamW steps on
:func:`~kglink.training.step.batch_loss` under a warmup + linear-decay schedule with
gradient clipping. After each epoch the dev groups are scored (pairwise best F1,
:func:`~kglink.synonymy.evaluate.pairwise_report`); training stops when F1 has not improved
for ``patience`` epochs. The best weights are averaged with the starting ones
(``base_weight``, :mod:`~kglink.training.merge`) and saved as a PyLate checkpoint with
the synonym threshold calibrated on dev. The state is checkpointed after every epoch
(and when ``max_steps`` stops a run), so ``resume=True`` continues the same schedule.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from kglink.artifacts import atomic_write_json, check_target
from kglink.encoder.model import LateInteractionModel
from kglink.errors import ArtifactError, InputError
from kglink.synonymy.evaluate import MaxSimScorer, PairwiseReport, pairwise_report, pick_threshold
from kglink.synonymy.groups import Groups, name_concepts, split_dev
from kglink.training import state
from kglink.training.batches import plan_epoch
from kglink.training.merge import interpolate
from kglink.training.mining import mine_hard_negatives
from kglink.training.precision import autocast_dtype, init_projection
from kglink.training.step import batch_loss

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    """Where the model went, how training ran, and the dev figures it was picked on."""

    model_dir: Path
    steps: int
    epochs: int
    seconds: float
    threshold: float
    dev: PairwiseReport | None
    history: tuple[dict, ...]


class Trainer:
    """Train ``model`` in place on ``groups``; :meth:`fit` saves the best weights to ``out``.

    ``hard_negatives`` other-concept names are mined per name each epoch (one is drawn
    per anchor; 0: in-batch negatives only). ``projection_dim`` adds a linear
    projection, initialised from the principal directions of the names' token vectors.
    ``precision``: ``"auto"`` (bf16 autocast on GPU, and on CPU where bf16 matmuls are
    fast), ``"fp32"``, ``"bf16"`` or ``"fp16"`` (GPU). ``max_steps`` stops after that
    many steps in all, the schedule still spanning ``epochs``. ``checkpoint_dir``
    (default ``out + ".checkpoint"``) holds the resumable state. The calibrated
    threshold is the dev best-F1 one, or the lowest reaching ``target_precision``.
    Without ``dev``, a seeded ``hold_out`` share of the multi-name groups (at least 10
    groups) is held out of training to serve as dev; 0 calibrates on the training groups.
    ``base_weight`` is the starting model's share in the saved weights (WiSE-FT;
    0: the fine-tuned weights alone); it keeps the encoder's general-domain linking.

    The defaults are the recipe measured on NCBI-disease + BC5CDR with the embedded
    MiniLM (6 epochs of 42 steps, base_weight 0.3); a larger encoder may want a lower ``lr``.
    """

    def __init__(
        self,
        model: LateInteractionModel,
        groups: Groups,
        out: str | Path,
        *,
        dev: Groups | None = None,
        hold_out: float = 0.1,
        epochs: int = 6,
        batch_size: int = 64,
        lr: float = 3e-4,
        temperature: float = 0.05,
        warmup: float = 0.1,
        hard_negatives: int = 10,
        symmetric: bool = True,
        projection_dim: int | None = None,
        seed: int = 0,
        patience: int = 2,
        target_precision: float | None = None,
        precision: str = "auto",
        base_weight: float = 0.3,
        max_grad_norm: float = 1.0,
        max_steps: int | None = None,
        checkpoint_dir: str | Path | None = None,
        show_progress: bool = True,
    ) -> None:
        if not 0.0 <= hold_out < 1.0:
            raise InputError(f"hold_out must be in [0, 1), got {hold_out}")
        if dev is None and hold_out:
            groups, held = split_dev(groups, hold_out, seed)
            dev = held or None
            if dev:
                logger.info("no dev groups given: %d training groups held out as dev", len(dev))
        if not any(len(names) > 1 for names in groups.values()):
            raise InputError("no concept has two names; training needs synonym groups or pairs")
        self.model, self.groups, self.dev, self.out = model, groups, dev, Path(out)
        check_target(self.out, "model")  # before minutes of training, not after
        self.concepts = name_concepts(groups)
        self.epochs, self.batch_size, self.seed, self.patience = epochs, batch_size, seed, patience
        self.temperature, self.symmetric, self.hard_negatives = temperature, symmetric, hard_negatives
        self.target_precision, self.max_grad_norm, self.max_steps = target_precision, max_grad_norm, max_steps
        self.ckpt_dir = Path(checkpoint_dir) if checkpoint_dir else Path(f"{out}.checkpoint")
        self.show_progress, self.base_weight = show_progress, base_weight
        if not 0.0 <= base_weight < 1.0:
            raise InputError(f"base_weight must be in [0, 1), got {base_weight}")
        self.amp = autocast_dtype(precision, model.device)
        torch.manual_seed(seed)
        if projection_dim:
            model.set_projection(init_projection(model, sorted(self.concepts), projection_dim))
        self.modules = model.modules()
        self.start = state.weights(self.modules)
        self.optimizer = torch.optim.AdamW(self.modules.parameters(), lr=lr)
        self.total_steps = epochs * len(plan_epoch(groups, {}, batch_size, seed, 0))
        self.schedule = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, _warmup_linear(self.total_steps, warmup)
        )
        self.scaler = torch.amp.GradScaler(enabled=self.amp == torch.float16)
        self.run = {"epoch": 0, "batch": 0, "step": 0, "plan": None, "best_f1": -1.0, "bad": 0, "history": []}

    def fit(self, resume: bool = False) -> TrainResult:
        """Train until ``epochs``, early stopping or ``max_steps``; save and return the result."""
        if resume:
            self._restore()
        else:
            state.save_torch(self.ckpt_dir / state.START_FILE, self.start)
        started, run = time.perf_counter(), self.run
        bar = tqdm(
            total=self.total_steps, initial=run["step"], desc="training", disable=not self.show_progress
        )
        while run["epoch"] < self.epochs and run["bad"] < self.patience and run["step"] != self.max_steps:
            if run["plan"] is None:
                run["plan"] = self._plan()
            self._steps(bar)
            if run["batch"] == len(run["plan"]):
                self._end_epoch()
            state.save_torch(self.ckpt_dir / state.STATE_FILE, self._snapshot())
        bar.close()
        return self._finish(time.perf_counter() - started)

    def _plan(self) -> list:
        names = sorted(self.concepts)
        negatives = {}
        if self.hard_negatives:
            self.modules.eval()
            negatives = mine_hard_negatives(  # no encoding bars inside training's own bar
                self.model, names, self.concepts, self.hard_negatives, progress=False
            )
        return plan_epoch(self.groups, negatives, self.batch_size, self.seed, self.run["epoch"])

    def _steps(self, bar: tqdm) -> None:
        """Run the planned batches from where the epoch stands, until its end or ``max_steps``."""
        run, device = self.run, self.model.device
        self.modules.train()
        while run["batch"] < len(run["plan"]) and run["step"] != self.max_steps:
            with torch.autocast(device.type, dtype=self.amp or torch.float32, enabled=self.amp is not None):
                loss = batch_loss(
                    self.model, run["plan"][run["batch"]], self.concepts, self.temperature, self.symmetric
                )
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.modules.parameters(), self.max_grad_norm)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.schedule.step()
            self.optimizer.zero_grad(set_to_none=True)
            run["batch"] += 1
            run["step"] += 1
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}", epoch=run["epoch"] + 1)

    def _end_epoch(self) -> None:
        run = self.run
        record = {"epoch": run["epoch"] + 1, "step": run["step"]}
        if self.dev is not None:
            report = self._evaluate(self.dev)
            record.update(dev_f1=report.best.f1, dev_threshold=report.best.threshold)
            if report.best.f1 > run["best_f1"]:
                run["best_f1"], run["bad"] = report.best.f1, 0
                state.save_torch(self.ckpt_dir / state.BEST_FILE, state.weights(self.modules))
            else:
                run["bad"] += 1
        logger.info("epoch %d: %s", run["epoch"] + 1, record)
        run["history"].append(record)
        run.update(epoch=run["epoch"] + 1, batch=0, plan=None)

    def _evaluate(self, groups: Groups) -> PairwiseReport:
        self.modules.eval()
        return pairwise_report(MaxSimScorer(self.model, progress=False), groups)

    def _snapshot(self) -> dict:
        return {
            "run": self.run,
            "weights": self.modules.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": torch.get_rng_state(),
            "total_steps": self.total_steps,
        }

    def _restore(self) -> None:
        if not state.has_state(self.ckpt_dir):
            raise ArtifactError(f"no training state in {self.ckpt_dir} to resume from; drop --resume")
        saved = state.load_torch(self.ckpt_dir / state.STATE_FILE)
        if saved["total_steps"] != self.total_steps:
            raise InputError(
                f"{self.ckpt_dir} was saved for a {saved['total_steps']}-step schedule, this run has "
                f"{self.total_steps}; resume with the same data, epochs and batch size"
            )
        self.modules.load_state_dict(saved["weights"])
        self.optimizer.load_state_dict(saved["optimizer"])
        self.schedule.load_state_dict(saved["schedule"])
        self.scaler.load_state_dict(saved["scaler"])
        torch.set_rng_state(saved["rng"])
        self.start = state.load_torch(self.ckpt_dir / state.START_FILE)
        self.run = saved["run"]
        self.run["plan"] = [[tuple(ex) for ex in b] for b in self.run["plan"]] if self.run["plan"] else None

    def _finish(self, seconds: float) -> TrainResult:
        """Load the best weights, average them with the start, calibrate, save model and report.

        The dev groups are scored once more here: averaged with the start, the saved
        weights are not those any epoch was scored with (with ``base_weight=0`` this
        repeats the best epoch's scoring, seconds against minutes of training).
        """
        best = self.ckpt_dir / state.BEST_FILE
        if self.dev is not None and best.is_file():
            self.modules.load_state_dict(state.load_torch(best))
        if self.base_weight:
            self.modules.load_state_dict(interpolate(self.modules.state_dict(), self.start, self.base_weight))
        if self.dev is None:
            logger.warning("no dev groups: the synonym threshold is calibrated on the training groups")
        report = self._evaluate(self.dev if self.dev is not None else self.groups)
        threshold = pick_threshold(report, self.target_precision)
        self.modules.eval()
        self.model.save_pretrained(self.out, synonym_threshold=threshold)
        run = self.run
        summary = {
            "steps": run["step"],
            "epochs": run["epoch"],
            "seconds": round(seconds, 1),
            "threshold": threshold,
            "base_weight": self.base_weight,
        }
        atomic_write_json(
            self.out / "training.json", {**summary, "dev_best": vars(report.best), "history": run["history"]}
        )
        dev = report if self.dev is not None else None
        return TrainResult(
            self.out, run["step"], run["epoch"], seconds, threshold, dev, tuple(run["history"])
        )


def _warmup_linear(total: int, warmup: float):
    ramp = max(1, int(total * warmup))

    def factor(step: int) -> float:
        if step < ramp:
            return (step + 1) / ramp
        return max(0.0, (total - step) / max(1, total - ramp))

    return factor
