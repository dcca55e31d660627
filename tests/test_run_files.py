"""A run folder's files: the one metrics.jsonl reader and the one checkpoint lister (spurious.run_files)."""

import pytest

from spurious.io import InputError
from spurious.run_files import list_checkpoints, read_metrics


def test_read_metrics_filters_by_kind_and_leaves_out_a_line_being_written(tmp_path):
    assert read_metrics(tmp_path) == []  # no file yet
    (tmp_path / "metrics.jsonl").write_text('{"kind": "step", "x": 1}\n\n{"kind": "phase", "x": 2}\n{"kind": "ph')
    done = [{"kind": "step", "x": 1}, {"kind": "phase", "x": 2}]
    assert read_metrics(tmp_path, in_progress=True) == done
    assert read_metrics(tmp_path, "phase", in_progress=True) == [{"kind": "phase", "x": 2}]
    with pytest.raises(InputError, match=r"metrics\.jsonl:4: invalid JSON"):  # a finished run: every line counts
        read_metrics(tmp_path)
    (tmp_path / "metrics.jsonl").write_text('{"kind": "step", "x": 1}\n{"kind": "phase", "x": 2}')
    assert read_metrics(tmp_path) == done  # a last line without its newline is read when the run is done


def test_read_metrics_names_file_and_line_of_a_bad_complete_line(tmp_path):
    (tmp_path / "metrics.jsonl").write_text('{"kind": "step"}\nnot json\n')
    with pytest.raises(InputError, match=r"metrics\.jsonl:2: invalid JSON"):
        read_metrics(tmp_path)


def test_list_checkpoints_in_the_run_and_its_checkpoints_folder_by_step(tmp_path):
    for d in ("checkpoint-16", "checkpoints/checkpoint-8", "checkpoints/checkpoint-x", "checkpoint-2.tmp"):
        (tmp_path / d).mkdir(parents=True)
    (tmp_path / "checkpoints" / "checkpoint-4").write_text("a file, not a folder")
    assert list_checkpoints(tmp_path) == [(8, tmp_path / "checkpoints/checkpoint-8"), (16, tmp_path / "checkpoint-16")]
    with pytest.raises(InputError, match="run folder not found"):
        list_checkpoints(tmp_path / "nope")
