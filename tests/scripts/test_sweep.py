#!/usr/bin/env python3
"""Tests of scripts/sweep through the real mixlab executable (registered in
CTest by cmake/sweep_tests.cmake, one CTest case per test method).

    MIXLAB=build/mixlab SWEEP_TEST_DIR=/tmp/sweep-tests python3 tests/scripts/test_sweep.py -v

Every run trains tests/data/tiny_mqar.ini (d_model 16, 2 layers) for 20 steps
on one thread: well under a second each."""
import configparser
import csv
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import unittest
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SWEEP = REPO / "scripts" / "sweep"
TINY = REPO / "tests" / "data" / "tiny_mqar.ini"
MIXLAB = Path(os.environ.get("MIXLAB", REPO / "build" / "mixlab")).resolve()
SCRATCH = Path(os.environ.get("SWEEP_TEST_DIR", REPO / "build" / "sweep_test_runs")).resolve()

sys.path.insert(0, str(REPO / "scripts"))
from sweeplib import results  # noqa: E402
from sweeplib.run_dir import clear_partial  # noqa: E402
from sweeplib.sweep_file import load as load_sweep  # noqa: E402
from sweeplib.sweep_file import SweepError  # noqa: E402


def sweep(*args, env=None):
    return subprocess.run([sys.executable, str(SWEEP), *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


def listed_commands(dry_run_stdout):
    """{run name: argv} from `sweep run --dry-run`: a 'NAME (state)' line,
    then '    $ command'."""
    lines = dry_run_stdout.splitlines()
    return {lines[i - 1].rsplit(" (", 1)[0]: shlex.split(line[len("    $ "):])
            for i, line in enumerate(lines) if line.startswith("    $ ")}


class SweepTest(unittest.TestCase):
    def setUp(self):
        self.dir = SCRATCH / self._testMethodName
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        self.out = self.dir / "out"

    def write_sweep(self, grid, fixed="train.max_steps = 20\ntrain.eval_every = 10\n", sweep_extra="", sections=""):
        path = self.dir / "test.ini"
        path.write_text(f"[sweep]\nbase = {TINY}\nname = t\n{sweep_extra}\n[grid]\n{grid}\n[fixed]\n{fixed}\n{sections}")
        return path

    def run_sweep(self, path, *args):
        return sweep("run", path, "--out", self.out, "--mixlab", MIXLAB, *args)

    def assertOk(self, done, code=0):
        self.assertEqual(done.returncode, code, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}")

    # -- expansion -----------------------------------------------------------
    def test_dry_run_lists_every_run(self):
        path = self.write_sweep("model.d_model = 16,32\nmodel.pattern = shortconv,mha | mha\n",
                                sweep_extra="seeds = 0,1\n")
        done = self.run_sweep(path, "--dry-run")
        self.assertOk(done)
        commands = listed_commands(done.stdout)
        expected = {f"d_model={d}-pattern={p}-seed={s}": (d, pattern, s)
                    for d in (16, 32) for p, pattern in (("shortconv_mha", "shortconv,mha"), ("mha", "mha"))
                    for s in (0, 1)}
        self.assertEqual(set(commands), set(expected))
        for name, (d, pattern, s) in expected.items():
            argv = commands[name]
            self.assertEqual(argv[:3], [str(MIXLAB), "train", str(TINY)])
            for option in (f"--model.d_model={d}", f"--model.pattern={pattern}", f"--train.seed={s}",
                           f"--task.data_seed={s}", f"--train.name={name}", "--train.threads=1",
                           f"--train.out_dir={self.out / 't' / 'runs'}", "--train.max_steps=20"):
                self.assertIn(option, argv, name)
        self.assertFalse(self.out.exists(), "a dry run wrote something")

    def test_linked_keys_vary_together(self):
        path = self.write_sweep("model.d_model = 16,32\n"
                                "task.train_segments, task.test_segments, train.batch_size =\n"
                                "    16:2:200  16:2:64  8\n    32:4:200  32:4:64  -\n")
        done = self.run_sweep(path, "--dry-run")
        self.assertOk(done)
        commands = listed_commands(done.stdout)
        self.assertEqual(len(commands), 4)  # 2 d_model x 2 linked settings, not 2 x 2 x 2 x 1
        for d in (16, 32):
            for L, D, batch in ((16, 2, "-batch_size=8"), (32, 4, "")):  # '-': the base's batch size, unnamed
                name = f"d_model={d}-train_segments={L}_{D}_200-test_segments={L}_{D}_64{batch}"
                for option in (f"--model.d_model={d}", f"--task.train_segments={L}:{D}:200",
                               f"--task.test_segments={L}:{D}:64"):
                    self.assertIn(option, commands[name], name)
                self.assertEqual(any(a.startswith("--train.batch_size=") for a in commands[name]), bool(batch), name)
        bad = {"task.train_segments, train.batch_size = 16:2:200 8 | 32:4:200\n": "has 1 parts for 2 linked keys",
               "model.d_model = 16\nmodel.d_model, train.batch_size = 32 8\n": r"model\.d_model is named twice"}
        for grid, reason in bad.items():
            done = self.run_sweep(self.write_sweep(grid), "--dry-run")
            self.assertOk(done, 2)
            self.assertRegex(done.stderr, reason, grid)

    def test_example_sweep_is_valid(self):
        done = sweep("run", REPO / "experiments" / "sweeps" / "example.ini", "--out", self.out, "--mixlab", MIXLAB,
                     "--dry-run")
        self.assertOk(done)
        self.assertEqual(len(listed_commands(done.stdout)), 4)

    def test_bad_grid_key_fails_before_anything_runs(self):
        cases = {"model.d_model = 16,32\nmodel.frobnicate = 1,2\n": "model.frobnicate",  # unknown to mixlab
                 "mha.n_heads = 2,3\n": "mha.n_heads",  # a value mixlab refuses (16 % 3)
                 "d_model = 16,32\n": "d_model",  # not section.key
                 "train.threads = 1,2\n": "train.threads"}  # set by the sweep itself
        for grid, key in cases.items():
            done = self.run_sweep(self.write_sweep(grid))
            self.assertOk(done, 2)
            self.assertRegex(done.stderr, rf"^sweep: .*\[grid\] {key}\b", grid)
            self.assertEqual(done.stderr.count("\n"), 1, done.stderr)
            self.assertFalse(self.out.exists(), f"{grid}: something was written before the check")

    def test_figures_are_drawn_after_the_table(self):
        bad = self.write_sweep("model.d_model = 16,32\n", sections="[figures]\nacc.png = --figure bogus\n")
        done = self.run_sweep(bad)
        self.assertOk(done, 2)
        self.assertRegex(done.stderr, r"^sweep: .*\[figures\] acc\.png: mixlab rejects it: .*--figure 'bogus'")
        self.assertFalse(self.out.exists(), "something ran before the figure options were checked")

        path = self.write_sweep("model.d_model = 16,32\n", sections=(
            "[figures]\nacc.png = --figure accuracy --x model.d_model --title 'tiny MQAR: accuracy by width'\n"
            "curves.png = --color-by model.d_model\n"))
        self.assertOk(self.run_sweep(path))
        sweep_dir = self.out / "t"
        for name in ("acc.png", "curves.png"):
            self.assertEqual((sweep_dir / name).read_bytes()[:8], b"\x89PNG\r\n\x1a\n", name)
        markdown = (sweep_dir / "results.md").read_text()
        self.assertIn("![acc.png](acc.png)", markdown)
        self.assertIn("`mixlab plot runs -o acc.png --figure accuracy --x model.d_model --title 'tiny MQAR: "
                      "accuracy by width'`", markdown)
        (sweep_dir / "acc.png").unlink()
        self.assertOk(sweep("table", path, "--out", self.out, "--mixlab", MIXLAB))
        self.assertTrue((sweep_dir / "acc.png").is_file(), "table did not redraw the figure")
        self.assertEqual((sweep_dir / "results.md").read_text().count("![acc.png]"), 1)

    # -- the reduced table ------------------------------------------------------
    def test_best_over_averages_seeds_and_chooses_by_mean(self):
        # Rows as `results.table` builds them: pattern x lr x 3 seeds. At lr 1e-3 one
        # lucky seed reaches 0.9 (mean 0.4); lr 3e-3 is steady (mean 0.6) and must win.
        columns = ["run", "model.pattern", "train.lr", "seed"] + results.METRIC_COLUMNS
        accuracies = {("mha", "1e-3"): [0.9, 0.1, 0.2], ("mha", "3e-3"): [0.5, 0.6, 0.7],
                      ("rwkv6", "1e-3"): [0.3, 0.3, None], ("rwkv6", "3e-3"): [None, None, None]}
        rows = []
        for (pattern, lr), values in accuracies.items():
            for seed, acc in enumerate(values):
                row = {"run": f"{pattern}-{lr}-{seed}", "model.pattern": pattern, "train.lr": lr, "seed": str(seed),
                       "status": "finished" if acc is not None else "not run"}
                if acc is not None:
                    row.update(best_test_acc=acc, best_acc_step=100 * (seed + 1), min_test_loss=1 - acc)
                rows.append(row)
        reduced_columns, reduced = results.best_over(columns, rows, "train.lr")
        self.assertEqual(reduced_columns, ["model.pattern", "train.lr"] + results.SUMMARY_COLUMNS)
        self.assertEqual(len(reduced), 2)  # one row per mixer: lr and seed are reduced
        mha, rwkv = reduced
        self.assertEqual(mha["train.lr"], "3e-3")  # best mean, not the best single run
        self.assertAlmostEqual(mha["acc_mean"], 0.6)
        self.assertAlmostEqual(mha["acc_std"], 0.1)  # sample standard deviation
        self.assertEqual((mha["acc_min"], mha["acc_max"], mha["n"], mha["candidates"]), (0.5, 0.7, 3, 2))
        self.assertEqual(mha["mean_best_acc_step"], 200)
        self.assertEqual(mha["mean_by_value"], "1e-3: 0.4000; 3e-3: 0.6000")
        # Runs without metrics are not replicates; a value with none is no candidate.
        self.assertEqual((rwkv["train.lr"], rwkv["n"], rwkv["candidates"]), ("1e-3", 2, 1))
        self.assertAlmostEqual(rwkv["acc_std"], 0.0)
        # Over the seed itself: the best single run of each (mixer, lr).
        _, per_seed = results.best_over(columns, rows, "seed")
        self.assertEqual([(r["model.pattern"], r["train.lr"], r["acc_mean"]) for r in per_seed],
                         [("mha", "1e-3", 0.9), ("mha", "3e-3", 0.7), ("rwkv6", "1e-3", 0.3), ("rwkv6", "3e-3", None)])

    def test_shipped_fig2_sweeps_tie_positions_to_the_mixer(self):
        # Zoology's Figure 2: learned positions for attention only, none for the others.
        for name in ("paper.ini", "cpu.ini"):
            sweep_def = load_sweep(REPO / "experiments" / "zoology_fig2" / name)
            runs = sweep_def.runs(self.out, MIXLAB)
            self.assertTrue(runs, name)
            for run in runs:
                overrides = dict(run.overrides)
                attention = overrides["model.pattern"].split(",")[-1] == "mha"
                self.assertEqual(overrides.get("model.positions"), "learned" if attention else "none",
                                 f"{name}: {run.name}")
                self.assertNotIn("task.random_non_queries", overrides, f"{name}: {run.name}")
            base = configparser.ConfigParser()
            base.read(sweep_def.base)
            self.assertEqual(base["task"]["random_non_queries"], "false", name)  # queries at zeros, as Zoology
            self.assertEqual(base["model"]["positions"], "none", name)  # only the grid gives attention positions
            self.assertEqual(sweep_def.best_over, "train.lr", name)

    # -- Slurm ---------------------------------------------------------------
    def test_slurm_script_parses_and_names_every_run(self):
        path = self.write_sweep("model.d_model = 16,32\nmodel.pattern = shortconv,mha | mha\n",
                                sweep_extra="seeds = 0,1\n")
        commands = listed_commands(self.run_sweep(path, "--dry-run").stdout)
        done = sweep("slurm", path, "--out", self.out, "--mixlab", MIXLAB, "--partition", "cpu", "--time", "01:00:00")
        self.assertOk(done)
        script = self.out / "t" / "slurm" / "sweep.sbatch"
        self.assertIn(f"sbatch {script}", done.stdout)
        self.assertOk(subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True))
        text = script.read_text()
        for directive in ("--array=0-7", "--partition=cpu", "--time=01:00:00", "--cpus-per-task=1"):
            self.assertIn(f"#SBATCH {directive}\n", text)
        for name in commands:
            self.assertIn(f"  {name}\n", text)
        rows = [l.split("\t") for l in (script.parent / "runs.tsv").read_text().splitlines() if not l.startswith("#")]
        self.assertEqual([int(r[0]) for r in rows], list(range(8)))
        self.assertEqual({r[1]: shlex.split(r[3]) for r in rows}, commands)  # the exact commands of `run`
        self.assertNotEqual(subprocess.run(["bash", str(script)], capture_output=True).returncode, 0,
                            "the script must refuse to run outside an array task")
        self.assertOk(sweep("slurm", path, "--out", self.out, "--mixlab", MIXLAB, "--time", "1h"), 2)

    # -- run directories -------------------------------------------------------
    def test_partial_directory_cleanup_knows_mixlab_temp_files(self):
        # What a run killed before its first checkpoint may leave: its files and
        # the temp files of replacements in progress, <name>.tmp.<pid>
        # (train/atomic_file.h), or <name>.tmp from earlier mixlab versions.
        left = ["config.ini", "log.txt", "metrics.csv", "metrics.jsonl", "train.lock", "config.ini.tmp.4242",
                "checkpoint.safetensors.tmp.4242", "curves.png.tmp.17", "metrics.csv.tmp"]
        run = self.dir / "partial"
        run.mkdir()
        for name in left:
            (run / name).write_text("x")
        clear_partial(run)
        self.assertFalse(run.exists())
        # Anything else stops the cleanup before it removes a file.
        for foreign in ("notes.tmp", "checkpoint.safetensors.tmp.old", "data.tmp.12", "results.csv"):
            run.mkdir()
            for name in ("config.ini", "config.ini.tmp.4242", foreign):
                (run / name).write_text("x")
            with self.assertRaisesRegex(SweepError, f"holds '{re.escape(foreign)}', which mixlab does not write"):
                clear_partial(run)
            self.assertEqual(sorted(p.name for p in run.iterdir()), sorted(["config.ini", "config.ini.tmp.4242", foreign]))
            shutil.rmtree(run)

    # -- real runs -----------------------------------------------------------
    def test_real_sweep_resumes_and_skips_finished_runs(self):
        path = self.write_sweep("model.d_model = 16,32\n")
        commands = listed_commands(self.run_sweep(path, "--dry-run").stdout)
        self.assertEqual(list(commands), ["d_model=16", "d_model=32"])
        runs = self.out / "t" / "runs"
        # A sweep killed mid-way: d_model=16 stopped after its step-10 checkpoint,
        # d_model=32 killed before any checkpoint (a partial directory).
        for name in commands:
            stopped = subprocess.run(commands[name] + ["--stop-at", "10"], capture_output=True, text=True)
            self.assertEqual(stopped.returncode, 130, stopped.stderr)
        (runs / "d_model=32" / "checkpoint.safetensors").unlink()
        # Killed while writing that first checkpoint: its temp file (train/atomic_file.h) is left.
        (runs / "d_model=32" / "checkpoint.safetensors.tmp.4242").write_bytes(b"half a checkpoint")
        reference = subprocess.run(commands["d_model=16"] + [f"--train.out_dir={self.dir / 'reference'}"],
                                   capture_output=True, text=True)
        self.assertOk(reference)

        done = self.run_sweep(path, "--jobs", "2")
        self.assertOk(done)
        self.assertIn("d_model=16: resuming from step 10", done.stdout)
        self.assertIn("d_model=32: restarting (no checkpoint)", done.stdout)
        # Resumed through the sweep, the run equals the uninterrupted one.
        self.assertEqual((runs / "d_model=16" / "metrics.csv").read_text(),
                         (self.dir / "reference" / "d_model=16" / "metrics.csv").read_text())
        self.assertIn("resuming", (runs / "d_model=16" / "log.txt").read_text())
        self.assertNotIn("interrupted", (runs / "d_model=32" / "log.txt").read_text())

        with open(self.out / "t" / "results.csv", newline="") as f:
            table = list(csv.DictReader(f))
        self.assertEqual([r["run"] for r in table], ["d_model=16", "d_model=32"])
        for row in table:
            with open(runs / row["run"] / "metrics.csv", newline="") as f:
                metrics = list(csv.DictReader(f))
            self.assertEqual([m["step"] for m in metrics], ["0", "10", "20"])  # 0: the initial model
            accuracies = [float(m["test_accuracy"]) for m in metrics]
            self.assertEqual(row["status"], "finished")
            self.assertEqual(row["steps"], "20")
            self.assertAlmostEqual(float(row["final_test_acc"]), accuracies[-1], places=5)
            self.assertAlmostEqual(float(row["final_test_loss"]), float(metrics[-1]["test_loss"]), places=4)
            self.assertAlmostEqual(float(row["best_test_acc"]), max(accuracies), places=5)
            self.assertEqual(row["best_acc_step"], metrics[accuracies.index(max(accuracies))]["step"])
            self.assertAlmostEqual(float(row["min_test_loss"]), min(float(m["test_loss"]) for m in metrics), places=4)
            self.assertGreater(float(row["tokens_per_s"]), 0)
        markdown = (self.out / "t" / "results.md").read_text().splitlines()
        self.assertTrue(markdown[0].startswith("**Table.** Sweep t: base tiny_mqar.ini"), markdown[0])
        self.assertEqual(sum(1 for l in markdown if l.startswith("| d_model=")), 2)

        # A second invocation trains nothing.
        logs = {n: (runs / n / "log.txt").read_text() for n in commands}
        again = self.run_sweep(path)
        self.assertOk(again)
        self.assertEqual(again.stdout.count("already finished at step 20: skipped"), 2, again.stdout)
        self.assertEqual({n: (runs / n / "log.txt").read_text() for n in commands}, logs)
        # So does a Slurm array task for a finished run.
        self.assertOk(sweep("slurm", path, "--out", self.out, "--mixlab", MIXLAB))
        task = subprocess.run(["bash", str(self.out / "t" / "slurm" / "sweep.sbatch")], capture_output=True,
                              text=True, env={**os.environ, "SLURM_ARRAY_TASK_ID": "1"})
        self.assertOk(task)
        self.assertIn("d_model=32: already finished at step 20: skipped", task.stdout)

        # Best over d_model: one row, the run with the higher best accuracy.
        self.assertOk(sweep("table", path, "--out", self.out, "--best-over", "model.d_model"))
        with open(self.out / "t" / "results_best_over_model.d_model.csv", newline="") as f:
            best = list(csv.DictReader(f))
        self.assertEqual(len(best), 1)
        self.assertEqual(best[0]["candidates"], "2")
        self.assertEqual(best[0]["n"], "1")  # no seeds: one run per value
        self.assertEqual(float(best[0]["acc_mean"]), max(float(r["best_test_acc"]) for r in table))
        chosen = next(r for r in table if float(r["best_test_acc"]) == float(best[0]["acc_mean"]))
        self.assertEqual(best[0]["model.d_model"], chosen["model.d_model"])
        self.assertOk(sweep("table", path, "--out", self.out, "--best-over", "train.lr"), 2)

    def test_interrupted_sweep_stops_and_resumes(self):
        # SIGINT to the sweep itself (Ctrl-C): the running run checkpoints,
        # no new run starts, the sweep exits 130; running it again finishes.
        path = self.write_sweep("model.d_model = 16,24,32\n", fixed="train.max_steps = 3000\ntrain.eval_every = 500\n",
                                sweep_extra="jobs = 1\n")
        process = subprocess.Popen([sys.executable, str(SWEEP), "run", str(path), "--out", str(self.out),
                                    "--mixlab", str(MIXLAB)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for line in process.stdout:
            if "started" in line:
                break
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        try:
            stdout, _ = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            self.fail("the sweep did not stop after SIGINT")
        self.assertEqual(process.returncode, 130, stdout)
        self.assertIn("interrupted", stdout)
        done = self.run_sweep(path)
        self.assertOk(done)
        rows = list(csv.DictReader(open(self.out / "t" / "results.csv")))
        self.assertEqual([r["status"] for r in rows], ["finished"] * 3)

    def test_failing_run_is_reported_and_the_others_continue(self):
        path = self.write_sweep("model.d_model = 16,32\n")
        commands = listed_commands(self.run_sweep(path, "--dry-run").stdout)
        # A stopped run whose config no longer matches the sweep: --resume refuses it.
        stopped = subprocess.run(commands["d_model=16"] + ["--train.lr=0.01", "--stop-at", "10"], capture_output=True)
        self.assertEqual(stopped.returncode, 130)
        done = self.run_sweep(path, "--jobs", "1")
        self.assertOk(done, 1)
        self.assertRegex(done.stdout, r"d_model=16: FAILED \(exit code 1\): mixlab: .*config differs")
        self.assertIn("d_model=32: finished", done.stdout)
        self.assertIn("failed runs", done.stderr)
        self.assertIn("d_model=16", done.stderr)
        with open(self.out / "t" / "results.csv", newline="") as f:
            status = {r["run"]: r["status"] for r in csv.DictReader(f)}
        self.assertEqual(status, {"d_model=16": "stopped", "d_model=32": "finished"})


if __name__ == "__main__":
    unittest.main()
