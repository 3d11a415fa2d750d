"""The code archive AWS's framework training images run in script mode: their SageMaker training
toolkit downloads `sagemaker_submit_directory` (a tar.gz) and runs `sagemaker_program` from it.
Built at synth from the runtime scripts one use case needs, byte for byte the same for the same
files (sorted entries, no timestamps or owners), so an unchanged use case keeps its asset."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

RUNTIME_SCRIPTS = Path(__file__).resolve().parent.parent / "runtime_scripts"
# The toolkit runs this file of the archive's root (runtime_scripts/framework_entry.py).
ENTRY_POINT = "framework_entry.py"
# What a training job runs: the contract, the generic runtime and the use case's own folder;
# not what runs elsewhere (Glue, the input validator) nor other use cases.
SHARED = ("__init__.py", "contract.py", "common", "use_cases/__init__.py")
LEFT_OUT = ("tests", "sample_data", "notebooks", "__pycache__")


def archive_members(folder: str) -> list[tuple[str, Path]]:
    """(name in the archive, file) of each file, sorted: the entry point at the root, then
    runtime_scripts/ as the image's own code tree has it."""
    members = [(ENTRY_POINT, RUNTIME_SCRIPTS / ENTRY_POINT)]
    for part in (*SHARED, f"use_cases/{folder}"):
        path = RUNTIME_SCRIPTS / part
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            relative = PurePosixPath(file.relative_to(RUNTIME_SCRIPTS).as_posix())
            if set(relative.parts) & set(LEFT_OUT) or file.suffix == ".pyc":
                continue
            members.append((f"runtime_scripts/{relative}", file))
    return sorted(members)


def build_archive(folder: str) -> Path:
    """The use case's code archive (a tar.gz), written once per content to a cache folder."""
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, file in archive_members(folder):
            data = file.read_bytes()
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            archive.addfile(info, io.BytesIO(data))
    packed = io.BytesIO()
    with gzip.GzipFile(fileobj=packed, mode="wb", mtime=0) as zipped:
        zipped.write(tar_bytes.getvalue())
    content = packed.getvalue()
    target = Path(tempfile.gettempdir()) / "mlplatform-framework-code" / \
        f"{folder.replace('/', '-')}-{hashlib.sha256(content).hexdigest()[:16]}.tar.gz"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return target
