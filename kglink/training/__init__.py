"""Fine-tuning the entity encoder on synonym groups (contrastive MaxSim, hard negatives)."""

from kglink.training.trainer import Trainer, TrainResult

__all__ = ["Trainer", "TrainResult"]
