"""Validates a sweep's runs with `mixlab train --check` and trains them as
parallel processes, each in its own run directory, skipping finished runs,
resuming stopped ones and restarting partial ones (run_dir.py)."""
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .run_dir import RunLock, clear_partial, run_state
from .sweep_file import SweepError

INTERRUPTED_EXIT = 130  # mixlab train's code after Ctrl-C (checkpoint saved)


def default_jobs(threads_per_run):
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores // threads_per_run)


def run_environment(threads):
    """OpenMP/BLAS pools sized like --train.threads, so parallel runs do not
    oversubscribe the cores before mixlab sets its own thread count."""
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(threads)
    env["OPENBLAS_NUM_THREADS"] = str(threads)
    return env


def _blamed_key(sweep, message):
    """The sweep key an error message names, if any (the longest match, so
    model.d_model wins over a key that is its prefix)."""
    keys = list(sweep.grid) + list(sweep.fixed) + (list(sweep.seed_keys) if sweep.seeds is not None else [])
    named = [k for k in keys if re.search(rf"(?<![\w.]){re.escape(k)}(?![\w])", message)]
    return max(named, key=len) if named else None


def _check_chunk(runs):
    """`mixlab train BASE --check-each` over `runs` (one process, one stdin
    line of overrides per run); returns [(run, None | error message)]."""
    argv = runs[0].command[:3] + ["--check-each"]
    lines = "".join("\t".join(run.command[3:]) + "\n" for run in runs)
    try:
        done = subprocess.run(argv, input=lines, capture_output=True, text=True, env=run_environment(1))
    except OSError as e:
        raise SweepError(f"cannot run {argv[0]}: {e.strerror} (build mixlab, or pass --mixlab PATH)")
    answers = done.stdout.splitlines()
    if len(answers) < len(runs):  # mixlab stopped early: blame the first run without an answer
        message = " ".join((done.stderr.strip() or f"exit code {done.returncode}").split())
        answers += ["error: " + message] * (len(runs) - len(answers))
    return [(run, None if answer == "ok" else answer.removeprefix("error: ")) for run, answer in zip(runs, answers)]


def check_runs(sweep, runs, jobs):
    """Validates every run with mixlab (it parses the config and the overrides
    and builds the model, writing nothing), `jobs` processes at a time; raises
    SweepError naming the offending key of the first run, in sweep order, that
    mixlab rejects."""
    if not runs:
        return
    jobs = max(1, min(jobs, len(runs)))
    # Contiguous chunks: runs that differ only in the innermost keys (often
    # train.lr) share a process, and so one model check (--check-each).
    bounds = [len(runs) * i // jobs for i in range(jobs + 1)]
    chunks = [runs[bounds[i]:bounds[i + 1]] for i in range(jobs)]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        verdicts = sorted((pair for chunk in pool.map(_check_chunk, chunks) for pair in chunk),
                          key=lambda pair: pair[0].index)
    for run, message in verdicts:
        if message is None:
            continue
        key = _blamed_key(sweep, message)
        if key is None:
            raise SweepError(f"{sweep.path}: run {run.name}: mixlab rejects its settings: {message}")
        where = "[grid]" if key in sweep.grid else "[fixed]" if key in sweep.fixed else "[sweep] seed_keys:"
        value = dict(run.overrides).get(key, "")
        raise SweepError(f"{sweep.path}: {where} {key} = {value}: mixlab rejects it (run {run.name}): {message}")


def plan(run):
    """What starting `run` means now: ("skip", step), ("resume", step),
    ("restart", None) after clearing a partial directory, or ("start", None)."""
    state, step = run_state(run.run_dir)
    if state == "finished":
        return "skip", step
    if state == "resumable":
        return "resume", step
    return ("restart" if state == "partial" else "start"), None


def launch(run, action, lock, stdout, threads):
    """Starts `mixlab train` for a planned run; the lock's descriptor goes to
    the child (RunLock). Runs in their own session: the sweep decides when to
    interrupt them, and forwards Ctrl-C itself."""
    if action == "restart":
        clear_partial(run.run_dir)
    argv = run.command + (["--resume"] if action == "resume" else [])
    stdout.write(f"== {time.strftime('%Y-%m-%d %H:%M:%S')} {action}: {shlex.join(argv)}\n")
    stdout.flush()
    return subprocess.Popen(argv, stdout=stdout, stderr=subprocess.STDOUT, env=run_environment(threads),
                            pass_fds=(lock.fd,), start_new_session=True)


def last_error_line(log_path):
    """mixlab's one-line error (the last 'mixlab:' line of the run's log)."""
    try:
        lines = Path(log_path).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    errors = [l for l in lines if l.startswith("mixlab:")]
    return errors[-1] if errors else (lines[-1] if lines else "")


def final_summary(run_dir):
    """'test acc 0.9912 (best 0.9912) at step 400' from the run's metrics.csv."""
    from .results import read_metrics  # results imports nothing from here
    rows = read_metrics(run_dir)
    if not rows:
        return "no eval"
    last = rows[-1]
    best = max(r["test_accuracy"] for r in rows)
    return f"test acc {last['test_accuracy']:.4f} (best {best:.4f}) at step {int(last['step'])}"


class StopSignals:
    """While active, SIGINT and SIGTERM stop the sweep from starting runs and
    are forwarded as SIGINT to the running ones (mixlab checkpoints and exits
    with 130, so the next sweep resumes them)."""

    def __init__(self):
        self.stopping = False
        self.processes = []
        self.previous = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum, frame):
        self.stopping = True
        for p in self.processes:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)


def run_local(sweep, runs, jobs, out):
    """Trains the runs, `jobs` at a time. Returns a dict of counts: finished
    (now), skipped (already finished), failed, interrupted, busy."""
    sweep_dir = sweep.directory(out)
    log_dir = sweep_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    counts = {"finished": 0, "skipped": 0, "failed": 0, "interrupted": 0, "busy": 0}
    failures = []
    pending = deque(runs)
    running = {}  # Popen -> (run, lock, log file, start time)
    total = len(runs)

    def report(run, text):
        print(f"[{run.index + 1}/{total}] {run.name}: {text}", flush=True)

    with StopSignals() as stop:
        # After a stop signal, only the running ones are waited for.
        while running or (pending and not stop.stopping):
            while pending and not stop.stopping and len(running) < jobs:
                run = pending.popleft()
                lock = RunLock(sweep_dir, run.name)
                if not lock.held:
                    counts["busy"] += 1
                    report(run, "being trained by another process (its lock is held): left alone")
                    continue
                try:
                    action, step = plan(run)
                    if action == "skip":
                        counts["skipped"] += 1
                        report(run, f"already finished at step {step}: skipped")
                        lock.close()
                        continue
                    log_path = log_dir / f"{run.name}.log"
                    log = open(log_path, "a")
                    process = launch(run, action, lock, log, sweep.threads_per_run)
                except (SweepError, OSError) as e:
                    lock.close()
                    counts["failed"] += 1
                    failures.append(run.name)
                    report(run, f"FAILED before starting: {e}")
                    continue
                stop.processes.append(process)
                if stop.stopping:  # the signal came while it was starting
                    process.send_signal(signal.SIGINT)
                running[process] = (run, lock, log, time.monotonic())
                how = {"resume": f"resuming from step {step}", "restart": "restarting (no checkpoint)",
                       "start": "started"}[action]
                report(run, f"{how} (log: {log_path})")
            time.sleep(0.05)
            for process in [p for p in running if p.poll() is not None]:
                run, lock, log, started = running.pop(process)
                log.close()
                lock.close()
                stop.processes.remove(process)
                seconds = time.monotonic() - started
                code = process.returncode
                if code == 0:
                    counts["finished"] += 1
                    report(run, f"finished in {seconds:.1f} s: {final_summary(run.run_dir)}")
                elif code == INTERRUPTED_EXIT or (code < 0 and stop.stopping):
                    counts["interrupted"] += 1
                    report(run, "interrupted: checkpoint saved, the next `sweep run` resumes it")
                else:
                    counts["failed"] += 1
                    failures.append(run.name)
                    report(run, f"FAILED (exit code {code}): {last_error_line(log_dir / f'{run.name}.log')} "
                                f"(log: {log_dir / f'{run.name}.log'})")
        if stop.stopping:
            counts["interrupted"] += len(pending)
    counts["failures"] = failures
    return counts


def run_one(name, run_dir, command, sweep_dir, threads):
    """One run in the foreground (a Slurm array task): same plan and lock as
    run_local, output to stdout. Returns the exit code."""
    from .sweep_file import Run
    run = Run(0, name, {}, [], Path(run_dir), command)
    lock = RunLock(sweep_dir, name)
    if not lock.held:
        print(f"{name}: being trained by another process (its lock is held): left alone", flush=True)
        return 0
    action, step = plan(run)
    if action == "skip":
        print(f"{name}: already finished at step {step}: skipped", flush=True)
        lock.close()
        return 0
    sys.stdout.flush()
    with StopSignals() as stop:
        process = launch(run, action, lock, sys.stdout, threads)
        stop.processes.append(process)
        code = process.wait()
    lock.close()
    print(f"{name}: {'finished: ' + final_summary(run.run_dir) if code == 0 else f'exit code {code}'}", flush=True)
    return code
