"""Every ```python block of the README runs, in order, in a scratch folder."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_python_blocks_run(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    assert len(blocks) >= 5
    (tmp_path / "graphs").mkdir()
    (tmp_path / "graphs" / "sample").symlink_to(ROOT / "graphs" / "sample")
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "Stanford University" in out and "barack obama True" in out and "[[1.4 1. ]]" in out
