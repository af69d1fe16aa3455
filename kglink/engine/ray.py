"""The Ray engine: entity encoding and synonym search as Ray Data ``map_batches`` over blocks of names.

This is the one module that imports ``ray`` (the extra ``kglink[ray]``), and only when
an engine starts, so importing it costs nothing.

The results are those of the single-process build, bit for bit, because the work is cut
where the local path already cuts it:

- **encoding**: each row of the dataset is one of the batches that
  :meth:`~kglink.encoder.LateInteractionModel.batches` gives and
  :meth:`~kglink.encoder.LateInteractionModel.encode_both` runs (the same names, the
  same padding), so an actor runs the same forward passes the local build runs;
- **synonymy**: :meth:`~kglink.index.EntityIndex.synonym_pairs` hands its neighbour
  search to :meth:`RayEngine.map_blocks`, which runs it over blocks of query names
  in actors holding a copy of the index (the model and the document token store, put
  once in the object store); each name's neighbours do not depend on which other names
  share its block, and the merge and both-ways rescoring stay in the driver.

Memory per actor is one model plus the whole document and query token store
(float16), whatever the number of names per worker; time per actor falls with the
names per worker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np

from kglink.errors import InputError

logger = logging.getLogger(__name__)

INSTALL = "the ray engine needs Ray Data: pip install 'kglink[ray]'"
ENCODE_BATCH = 64  # LateInteractionModel.encode_both's batch size, which the rows copy
SEARCH_BLOCK = 512  # query names per synonym-search row

Triple = tuple[str, str, float]


def require_ray():
    """The ``ray`` module, or :class:`~kglink.errors.InputError` naming the extra."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as e:  # also an installed Ray whose dependencies do not import (pyarrow, numpy)
        raise InputError(f"{INSTALL} ({e})") from None
    return ray


class RayEngine:
    """Runs a build's encoding and synonym search on a Ray cluster.

    Parameters
    ----------
    address
        The cluster to join (``"auto"``, ``"ray://host:10001"``, ``"host:6379"``); ``None``
        starts a local cluster on this machine's CPUs. A Ray already initialised in this
        process (``ray.init(...)`` before the build) is used as it is.
    workers
        Actors per stage, one CPU each; ``None``: the cluster's CPU count.
    show_progress
        Ray Data's progress bars.
    block
        Query names per synonym-search task (their neighbours do not depend on it).

    Use it as a context manager (or :meth:`start` / :meth:`close`): a cluster it started
    is shut down at the end.
    """

    def __init__(
        self,
        address: str | None = None,
        workers: int | None = None,
        show_progress: bool = True,
        block: int = SEARCH_BLOCK,
    ):
        if workers is not None and workers < 1:
            raise InputError(f"workers must be at least 1, got {workers}")
        if block < 1:
            raise InputError(f"block must be at least 1 name, got {block}")
        self.address = address
        self.workers = workers
        self.show_progress = show_progress
        self.block = block
        self._started = False

    def __enter__(self) -> RayEngine:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        """Join (or start) the cluster, unless this process already has one."""
        ray = require_ray()
        if not ray.is_initialized():
            ray.init(
                address=self.address,
                include_dashboard=False,
                logging_level=logging.WARNING,
                log_to_driver=False,
                configure_logging=False,
            )
            self._started = True
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = self.show_progress
        context.print_on_execution_start = False

    def close(self) -> None:
        """Shut down the cluster connection if :meth:`start` opened it."""
        if self._started:
            require_ray().shutdown()
            self._started = False

    def _workers(self) -> int:
        cpus = int(require_ray().cluster_resources().get("CPU", 1))
        return max(1, self.workers or cpus)

    def encoder(self, model) -> Callable[[list[str]], tuple[list[np.ndarray], list[np.ndarray]]]:
        """A function ``names -> (query encodings, document encodings)`` equal to ``model.encode_both``."""
        if model.device.type != "cpu":
            raise InputError(
                f"the ray engine runs CPU actors, but the model is on {model.device}; "
                "build with --device cpu (device='cpu')"
            )
        return lambda names: self.encode_both(model, names)

    def encode_both(self, model, names: Sequence[str]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """``model.encode_both(names)``, its batches encoded by actors (see the module notes)."""
        names = list(names)
        sides_runs = [(True, False)] if model.shares_encodings else [(True,), (False,)]
        out: dict[bool, list[np.ndarray]] = {}
        model_ref = require_ray().put(model)
        for sides in sides_runs:
            for side, arrays in zip(sides, self._encode(model, model_ref, names, sides)):
                out[side] = arrays
        return out[True], out[False]

    def _encode(self, model, model_ref, names: list[str], sides: tuple[bool, ...]) -> list[list[np.ndarray]]:
        ray = require_ray()
        chunks = model.batches(names, sides[0], ENCODE_BATCH)  # the model's own batches
        rows = [{"chunk": k, "names": [names[i] for i in c]} for k, c in enumerate(chunks)]
        ds = ray.data.from_items(rows).map_batches(
            _Encoder,
            fn_constructor_args=([model_ref], sides),
            batch_size=8,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=min(self._workers(), len(rows))),
            num_cpus=1,
        )
        out: list[list] = [[None] * len(names) for _ in sides]
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
            packed_sides = [batch[f"side{s}"] for s in range(len(sides))]
            for k, lengths_blob, *packed in zip(batch["chunk"], batch["lengths"], *packed_sides):
                split = np.cumsum(np.frombuffer(lengths_blob, dtype=np.int64))[:-1]
                for dest, blob in zip(out, packed):
                    tokens = np.frombuffer(blob, dtype=np.float32).reshape(-1, model.dim)
                    for i, array in zip(chunks[int(k)], np.split(tokens, split)):
                        dest[i] = array.copy()
        return out

    def map_blocks(self, search: Callable[[list[str]], list[Triple]], query_ids: list[str]) -> list[Triple]:
        """``search(query_ids)``, run by actors over blocks of ``query_ids`` (the triples concatenated).

        ``search`` (from :meth:`~kglink.index.EntityIndex.synonym_pairs`) carries its index:
        it is put in the object store once and each actor takes one copy.
        """
        ray = require_ray()
        if not query_ids:
            return []
        blocks = [query_ids[s : s + self.block] for s in range(0, len(query_ids), self.block)]
        ds = ray.data.from_items([{"ids": b} for b in blocks]).map_batches(
            _Searcher,
            fn_constructor_args=([ray.put(search)],),
            batch_size=1,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=min(self._workers(), len(blocks))),
            num_cpus=1,
        )
        found: list[Triple] = []
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
            found += zip(map(str, batch["a"]), map(str, batch["b"]), map(float, batch["score"]))
        return found


class _Encoder:
    """A Ray Data actor: the model, and one forward pass per row (one encoding batch)."""

    def __init__(self, model_ref: list, sides: tuple[bool, ...]) -> None:
        self.model = require_ray().get(model_ref[0])
        self.sides = sides

    def __call__(self, batch: dict) -> dict:
        out: dict[str, list] = {
            "chunk": [],
            "lengths": [],
            **{f"side{s}": [] for s in range(len(self.sides))},
        }
        for k, names in zip(batch["chunk"], batch["names"]):
            names = [str(n) for n in names]
            encoded = self._encode(names)
            out["chunk"].append(int(k))
            out["lengths"].append(np.array([len(a) for a in encoded[0]], dtype=np.int64).tobytes())
            for s, arrays in enumerate(encoded):
                out[f"side{s}"].append(np.concatenate(arrays).astype(np.float32).tobytes())
        return {k: np.array(v, dtype=np.int64 if k == "chunk" else object) for k, v in out.items()}

    def _encode(self, names: list[str]) -> list[list[np.ndarray]]:
        """The row's names in one batch, as the local path encodes them."""
        model, n = self.model, len(names)
        if len(self.sides) == 2:
            return list(model.encode_both(names, batch_size=n, progress=False))
        if self.sides[0]:
            return [model.encode_query(names, batch_size=n, progress=False)]
        return [model.encode_documents(names, batch_size=n, progress=False)]


class _Searcher:
    """A Ray Data actor: one copy of the index's neighbour search, run on each block of names."""

    def __init__(self, search_ref: list) -> None:
        self.search = require_ray().get(search_ref[0])

    def __call__(self, batch: dict) -> dict:
        found = [t for ids in batch["ids"] for t in self.search([str(i) for i in ids])]
        return {
            "a": np.array([a for a, _, _ in found], dtype=object),
            "b": np.array([b for _, b, _ in found], dtype=object),
            "score": np.array([s for _, _, s in found], dtype=np.float64),
        }
