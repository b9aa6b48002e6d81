"""What state a run directory is in, read from what `mixlab train` writes.

The finished marker is the checkpoint's metadata: mixlab writes
checkpoint.safetensors atomically (temp file + rename) after each eval and at
the end, with `finished = "1"` once the run reached its last step or its
target accuracy (train/checkpoint.h, docs/model.md). The final metrics rows
are appended before that last checkpoint, so a finished checkpoint means
complete metrics. States:

  new        no directory, or an empty one: start it
  finished   the checkpoint says finished: skip it
  resumable  a checkpoint that is not finished (interrupted, or killed after
             an eval): continue it with --resume
  partial    files but no checkpoint (killed before its first checkpoint):
             mixlab refuses a non-empty directory, so it is cleared and
             started again, but only when it holds nothing but run files
"""
import fcntl
import json
import os
import re
import struct
from pathlib import Path

from .sweep_file import SweepError

CHECKPOINT = "checkpoint.safetensors"
# train.lock: the flock `mixlab train` holds while it trains (train/run_lock.h).
RUN_FILES = {"config.ini", "metrics.csv", "metrics.jsonl", "train_loss.csv", "log.txt", "curves.png", "train.lock", CHECKPOINT}
MAX_HEADER_BYTES = 100 << 20  # the safetensors specification's limit
# mixlab replaces a file through a temp file <name>.tmp.<pid> next to it
# (train/atomic_file.h); a run killed mid-write leaves one behind. A bare
# <name>.tmp is what earlier mixlab versions wrote.
TEMP_SUFFIX = re.compile(r"\.tmp(\.[0-9]+)?$")


def written_by_mixlab(name):
    """A file name mixlab writes in a run directory: a run file or its temp file."""
    return name in RUN_FILES or TEMP_SUFFIX.sub("", name, count=1) in RUN_FILES


def checkpoint_metadata(path):
    """The __metadata__ of a safetensors file: an 8-byte little-endian header
    length, then the JSON header."""
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            raise SweepError(f"{path}: not a safetensors file (shorter than 8 bytes)")
        (length,) = struct.unpack("<Q", raw)
        if length > MAX_HEADER_BYTES:
            raise SweepError(f"{path}: not a safetensors file (header length {length})")
        try:
            header = json.loads(f.read(length))
        except ValueError as e:
            raise SweepError(f"{path}: unreadable safetensors header ({e})")
    metadata = header.get("__metadata__", {}) if isinstance(header, dict) else {}
    return metadata if isinstance(metadata, dict) else {}


def run_state(run_dir):
    """(state, step): step is the checkpoint's step, or None without one."""
    run_dir = Path(run_dir)
    if not run_dir.exists() or not any(run_dir.iterdir()):
        return "new", None
    checkpoint = run_dir / CHECKPOINT
    if not checkpoint.is_file():
        return "partial", None
    metadata = checkpoint_metadata(checkpoint)
    if "finished" not in metadata or "step" not in metadata:
        raise SweepError(f"{checkpoint}: not a mixlab checkpoint (no 'finished'/'step' metadata)")
    return ("finished" if metadata["finished"] == "1" else "resumable"), int(metadata["step"])


def clear_partial(run_dir):
    """Removes a run directory that a killed run left without a checkpoint,
    refusing when it holds anything mixlab does not write there."""
    run_dir = Path(run_dir)
    entries = list(run_dir.iterdir())
    for entry in entries:
        if not entry.is_file() or not written_by_mixlab(entry.name):
            raise SweepError(f"{run_dir} holds '{entry.name}', which mixlab does not write: not touched "
                             "(move it away, or remove the directory to rerun)")
    for entry in entries:
        entry.unlink()
    run_dir.rmdir()


class RunLock:
    """An exclusive flock on <sweep dir>/locks/<run>.lock, held while a run is
    being trained. The file descriptor is inherited by `mixlab train`, so the
    lock stays held as long as that process lives, even when the sweep that
    started it was killed: a second sweep (or a Slurm task) never resumes a run
    that is still training."""

    def __init__(self, sweep_dir, name):
        lock_dir = Path(sweep_dir) / "locks"
        lock_dir.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(lock_dir / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.held = True
        except BlockingIOError:
            self.held = False
        if not self.held:
            self.close()

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
