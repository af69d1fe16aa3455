"""One way to read and write every artifact: the config policy and the input-file errors."""

from __future__ import annotations

import json

import pytest

from kglink.artifacts import files as artifacts
from kglink.artifacts import read_config, read_json, read_jsonl, read_text, write_config
from kglink.errors import ArtifactError, InputError


def _config(tmp_path, **fields):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(fields))
    return path


def test_a_config_round_trips_with_its_kind_version_and_writer(tmp_path):
    write_config(tmp_path / "config.json", "entity_index", model="m", dim=3)
    raw = json.loads((tmp_path / "config.json").read_text())
    assert raw["kind"] == "entity_index" and raw["format_version"] == 1 and raw["kglink_version"]
    assert read_config(tmp_path / "config.json", "entity_index", {"dim": int})["model"] == "m"


def test_a_newer_format_says_to_upgrade_kglink(tmp_path):
    path = _config(tmp_path, kind="passage_index", format_version=7, kglink_version="9.0")
    with pytest.raises(ArtifactError, match=r"format 7 \(written by kglink 9.0\).*upgrade kglink"):
        read_config(path, "passage_index")


def test_an_older_format_without_an_upgrade_says_what_rebuilds_it(tmp_path):
    path = _config(tmp_path, kind="passage_index", format_version=0)
    with pytest.raises(ArtifactError, match="rebuild it with `kglink build`"):
        read_config(path, "passage_index")


def test_an_older_format_with_a_known_upgrade_loads(tmp_path, monkeypatch):
    path = _config(tmp_path, kind="passage_index", format_version=0, dims=4)
    upgrade = {("passage_index", 0): lambda c: {**c, "format_version": 1, "dim": c["dims"]}}
    monkeypatch.setattr(artifacts, "UPGRADES", upgrade)
    assert read_config(path, "passage_index", {"dim": int})["dim"] == 4


@pytest.mark.parametrize(
    "content",
    [
        [1, 2],  # not an object
        {"kind": "entity_index", "format_version": 1},  # another kind
        {"kind": "passage_index", "format_version": 1, "dim": "4"},  # a key of the wrong type
        {"kind": "passage_index", "format_version": 1, "dim": True},  # a bool is no int here
        {"kind": "passage_index", "format_version": 1},  # a key missing
    ],
)
def test_a_config_of_the_wrong_shape_is_refused(tmp_path, content):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(content))
    with pytest.raises(ArtifactError):
        read_config(path, "passage_index", {"dim": int})


def test_every_reader_says_the_same_about_bytes_that_are_not_utf8(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b'{"a": "\xff"}\n')
    for read in (read_text, read_json, lambda p, w: list(read_jsonl(p, w))):
        with pytest.raises(
            InputError, match=r"corpus file .*bad is not UTF-8 \(byte 7\); re-save it as UTF-8"
        ):
            read(bad, "corpus file")


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(InputError, match="synonym file not found: .*nope"):
        read_text(tmp_path / "nope", "synonym file")
