"""Pipe input mode, emulated (local_runner/executors/pipe.py): one FIFO per epoch, fed from the
staged objects, Gzip unpacked and RecordIO wrapped as SageMaker does."""

from __future__ import annotations

import gzip
import struct

from local_runner.executors.pipe import RECORDIO_MAGIC, PipeFeeder


def test_each_epoch_is_a_new_fifo_streaming_every_object_in_key_order(tmp_path):
    staged = tmp_path / "staged"
    staged.mkdir()
    (staged / "b.csv").write_bytes(b"1,2\n")
    (staged / "a.csv").write_bytes(b"0,1\n")
    data = tmp_path / "data"
    with PipeFeeder(data, "train", list(staged.iterdir())) as feeder:
        first = (data / "train_0").read_bytes()
        second = (data / "train_1").read_bytes()
    assert first == second == b"0,1\n1,2\n"
    assert feeder.epochs_served == 2
    assert list(data.iterdir()) == []  # the FIFOs end with the job


def test_gzip_objects_arrive_unpacked_and_recordio_wraps_each_object(tmp_path):
    source = tmp_path / "part.csv.gz"
    source.write_bytes(gzip.compress(b"0,1,2\n"))
    with PipeFeeder(tmp_path / "data", "train", [source], compression="Gzip",
                    record_wrapper="RecordIO"):
        streamed = (tmp_path / "data" / "train_0").read_bytes()
    magic, length = struct.unpack("<II", streamed[:8])
    assert (magic, length) == (RECORDIO_MAGIC, 6)
    assert streamed[8:14] == b"0,1,2\n" and len(streamed) == 16  # padded to 4 bytes


def test_a_job_that_never_opens_its_pipe_does_not_hang_the_runner(tmp_path):
    source = tmp_path / "x.csv"
    source.write_bytes(b"0,1\n")
    with PipeFeeder(tmp_path / "data", "validation", [source]) as feeder:
        pass
    assert feeder.epochs_served == 0
