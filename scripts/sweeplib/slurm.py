"""A Slurm job array for a sweep: runs.tsv (one line per run: index, name,
run directory, the exact `mixlab train` command) and sweep.sbatch, whose
array task i runs line i through `scripts/sweep run-one`, the same code that
`scripts/sweep run` uses: a finished run is skipped, a stopped one resumed,
the rest started, in the same run directories."""
import re
import shlex
from pathlib import Path

from .sweep_file import SweepError

TIME_SHAPE = re.compile(r"^(\d+-)?\d+(:\d\d){0,2}$")  # minutes, MM:SS, HH:MM:SS, D-HH[:MM[:SS]]
PARTITION_SHAPE = re.compile(r"^[A-Za-z0-9_.,-]+$")


def write_runs_list(path, runs):
    lines = ["# index\tname\trun_dir\tcommand (written by scripts/sweep slurm; read by scripts/sweep run-one)"]
    lines += [f"{r.index}\t{r.name}\t{r.run_dir}\t{shlex.join(r.command)}" for r in runs]
    Path(path).write_text("\n".join(lines) + "\n")


def read_runs_list(path, index):
    """(name, run_dir, argv) of line `index` of a runs list."""
    try:
        lines = [l for l in Path(path).read_text().splitlines() if l and not l.startswith("#")]
    except OSError as e:
        raise SweepError(f"cannot read runs list {path}: {e.strerror}")
    for line in lines:
        fields = line.split("\t")
        if len(fields) != 4:
            raise SweepError(f"{path}: malformed line (expected 4 tab-separated fields): {line[:80]}")
        if fields[0] == str(index):
            return fields[1], fields[2], shlex.split(fields[3])
    raise SweepError(f"{path}: no run with index {index} (it lists {len(lines)} runs, 0 to {len(lines) - 1})")


def write_job_array(sweep, runs, out, sweep_script, partition=None, time_limit=None, cpus=None):
    """Writes <sweep dir>/slurm/{runs.tsv,sweep.sbatch}; returns the script path."""
    if partition is not None and not PARTITION_SHAPE.match(partition):
        raise SweepError(f"--partition '{partition}': not a partition name (letters, digits, _ . , -)")
    if time_limit is not None and not TIME_SHAPE.match(time_limit):
        raise SweepError(f"--time '{time_limit}': not a Slurm time (allowed: MM, MM:SS, HH:MM:SS, D-HH:MM:SS)")
    cpus = cpus if cpus is not None else sweep.threads_per_run
    if cpus < 1:
        raise SweepError(f"--cpus {cpus}: must be at least 1")
    if not runs:
        raise SweepError(f"{sweep.path}: the sweep has no runs")
    sweep_dir = sweep.directory(out)
    slurm_dir, log_dir = sweep_dir / "slurm", sweep_dir / "logs"
    slurm_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)  # Slurm does not create --output's folder
    runs_list = slurm_dir / "runs.tsv"
    write_runs_list(runs_list, runs)

    directives = [f"--job-name=sweep-{sweep.name}", f"--array=0-{len(runs) - 1}", "--ntasks=1",
                  f"--cpus-per-task={cpus}", f"--output={log_dir}/slurm-%A_%a.out"]
    if partition:
        directives.append(f"--partition={partition}")
    if time_limit:
        directives.append(f"--time={time_limit}")
    lines = ["#!/bin/bash",
             f"# Sweep {sweep.name} ({sweep.path.resolve()}): {len(runs)} runs, one array task each,",
             f"# written by scripts/sweep slurm. Submit with: sbatch {slurm_dir / 'sweep.sbatch'}",
             "# Each task runs its line of runs.tsv through `scripts/sweep run-one`: a finished",
             "# run is skipped, a stopped one resumed (--resume), the others started, in the",
             "# run directories `scripts/sweep run` uses. Needs python3 on the compute nodes."]
    lines += [f"#SBATCH {d}" for d in directives]
    lines += ["#", "# array index -> run:"] + [f"#   {r.index}  {r.name}" for r in runs]
    lines += ["set -euo pipefail",
              f"runs_list={shlex.quote(str(runs_list))}",
              "index=${SLURM_ARRAY_TASK_ID:?submit this script with sbatch (SLURM_ARRAY_TASK_ID is unset)}",
              f"exec python3 {shlex.quote(str(Path(sweep_script).resolve()))} run-one \"$runs_list\" \"$index\""]
    script = slurm_dir / "sweep.sbatch"
    script.write_text("\n".join(lines) + "\n")
    script.chmod(0o755)
    return script
