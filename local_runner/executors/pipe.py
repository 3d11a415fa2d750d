"""Pipe input mode, emulated with FIFOs: SageMaker streams a Pipe channel's S3 objects into the
named pipe `/opt/ml/input/data/<channel>_<epoch>`, a new one for each pass the algorithm makes
over the data (`_0`, then `_1` once `_0` was read to its end, ...). Here the objects are staged
to a folder outside the container's data directory first, and a thread feeds each epoch's FIFO
from them when the job opens it, until the job ends.

As SageMaker does in Pipe mode, Gzip objects (CompressionType Gzip) arrive decompressed, and
RecordWrapperType RecordIO wraps each object in one RecordIO record (the MXNet format: magic
0xced7230a, a length word, the data padded to 4 bytes)."""

from __future__ import annotations

import errno
import gzip
import os
import stat
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

from runtime_scripts.channels import pipe_path

LABEL = "Pipe input mode emulated with a local FIFO per epoch (SageMaker streams from S3)"
RECORDIO_MAGIC = 0xCED7230A
_CHUNK = 1 << 16
_POLL_S = 0.05


def recordio(data: bytes) -> bytes:
    """One RecordIO record holding `data` (length in the low 29 bits, no continuation flag)."""
    padding = (4 - len(data) % 4) % 4
    return struct.pack("<II", RECORDIO_MAGIC, len(data)) + data + b"\0" * padding


class PipeFeeder:
    """Feeds one Pipe channel: `with PipeFeeder(...):` around the job's run."""

    def __init__(self, data_dir: Path, channel: str, files: list[Path], *,
                 compression: str = "None", record_wrapper: str = "None") -> None:
        self.data_dir, self.channel, self.files = data_dir, channel, sorted(files)
        self.compression, self.record_wrapper = compression, record_wrapper
        self.epochs_served = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True,
                                        name=f"pipe-{channel}")

    def fifo(self, epoch: int) -> Path:
        return self.data_dir / pipe_path(self.channel, epoch)

    def __enter__(self) -> PipeFeeder:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        os.mkfifo(self.fifo(0))
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for path in self.data_dir.glob(pipe_path(self.channel, 0)[:-1] + "*"):
            if stat.S_ISFIFO(path.lstat().st_mode):
                path.unlink()

    def _serve(self) -> None:
        epoch = 0
        while not self._stop.is_set():
            descriptor = self._open_when_read(self.fifo(epoch))
            if descriptor is None:
                return
            following = self.fifo(epoch + 1)
            try:
                with os.fdopen(descriptor, "wb") as pipe:
                    for chunk in self._stream():
                        pipe.write(chunk)
                    pipe.flush()
                    # The next epoch's FIFO exists before this one ends: a job that reads on
                    # at end of file finds it.
                    os.mkfifo(following)
            except BrokenPipeError:
                pass  # the job stopped reading this epoch early
            if not following.exists():
                os.mkfifo(following)
            self.epochs_served = epoch + 1
            self.fifo(epoch).unlink()
            epoch += 1

    def _open_when_read(self, fifo: Path) -> int | None:
        """The FIFO opened for writing once the job opens it for reading; None when the job
        ended first (a non-blocking open fails with ENXIO while nobody reads)."""
        while not self._stop.is_set():
            try:
                descriptor = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:
                if exc.errno != errno.ENXIO:
                    raise
                self._stop.wait(_POLL_S)
                continue
            os.set_blocking(descriptor, True)
            return descriptor
        return None

    def _stream(self) -> Iterator[bytes]:
        for path in self.files:
            opener = gzip.open if self.compression == "Gzip" else open
            with opener(path, "rb") as handle:
                if self.record_wrapper == "RecordIO":
                    yield recordio(handle.read())
                    continue
                while chunk := handle.read(_CHUNK):
                    yield chunk
