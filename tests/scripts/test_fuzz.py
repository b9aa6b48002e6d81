#!/usr/bin/env python3
"""Fuzzers and process-level robustness checks of the `mixlab` executable
(issue 20), run by CTest (cmake/fuzz_tests.cmake):

  config fuzzer       seeded random mutations of the shipped configs through
                      `mixlab train --check`
  safetensors fuzzer  truncated, bit-flipped and header-edited checkpoints and
                      token files through eval, forward, generate and resume
  processes           two trainings of one run at once; a kill -9 releases
                      the run's lock; a run killed before its first
                      checkpoint resumes from step 0
  export              `mixlab export` writes the checkpoint's weights alone
  decoding            `mixlab generate --from-task` agrees with `mixlab eval`

Every attempt must end with exit code 0, or 1 or 2 with exactly one line on
stderr ("mixlab: ...", not an unexpected internal exception), never by a
signal, and a refused command writes nothing. Each fuzzer prints its counts
(attempts, clean errors, crashes) and its time. Environment: MIXLAB (the
executable), FUZZ_TEST_DIR (scratch), FUZZ_SEED, FUZZ_CONFIGS,
FUZZ_CHECKPOINTS (attempt counts).
"""
import json
import os
import random
import re
import resource
import shutil
import signal
import struct
import subprocess
import sys
import time
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MIXLAB = os.environ.get("MIXLAB", str(ROOT / "build" / "mixlab"))
SCRATCH = Path(os.environ.get("FUZZ_TEST_DIR", "/tmp/mixlab_fuzz"))
SEED = int(os.environ.get("FUZZ_SEED", "20"))
TINY = ROOT / "tests" / "data" / "tiny_mqar.ini"
TOKENS = ROOT / "tests" / "data" / "tokens_2x8.safetensors"
ONE_LINE = re.compile(r"\Amixlab: [^\n]+\n\Z")
MEMORY_LIMIT = 8 << 30  # an allocation past this fails cleanly instead of swapping
# FUZZ_SANITIZED=1 (set by CMake for a -DMIXLAB_SANITIZE=ON build): AddressSanitizer
# reserves terabytes of address space for its shadow memory, so an address-space
# limit stops it at startup; its own allocator limit plays that part instead.
SANITIZED = os.environ.get("FUZZ_SANITIZED") == "1"


def limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def child_env():
    env = dict(os.environ, OMP_NUM_THREADS="1")
    if SANITIZED:
        env["ASAN_OPTIONS"] = (f"allocator_may_return_null=1:max_allocation_size_mb={MEMORY_LIMIT >> 20}:"
                               + env.get("ASAN_OPTIONS", ""))
    return env


def run(args, cwd=None, timeout=60):
    return subprocess.run([MIXLAB] + [str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                          errors="replace", timeout=timeout, preexec_fn=None if SANITIZED else limit_memory,
                          env=child_env())


class Tally:
    """Counts of one fuzzer; a failure records what ran and what came back."""

    def __init__(self, name):
        self.name, self.attempts, self.accepted, self.clean, self.failures = name, 0, 0, 0, []
        self.start = time.monotonic()

    def check(self, what, result, written_ok=True, accepted_ok=True):
        """written_ok: what a refused command left is as it was; accepted_ok:
        what an accepted one did is sound (no NaN result, no rows lost)."""
        self.attempts += 1
        problem = None
        if result.returncode < 0:
            problem = f"killed by signal {-result.returncode}"
        elif result.returncode == 0 and (not accepted_ok or "nan" in result.stdout.lower()):
            problem = "accepted with a NaN result or lost metrics rows"
        elif result.returncode == 0:
            self.accepted += 1
        elif result.returncode not in (1, 2):
            problem = f"exit code {result.returncode}"
        elif not ONE_LINE.match(result.stderr):
            problem = "stderr is not one 'mixlab: ' line"
        elif "unexpected error" in result.stderr:
            problem = "an internal exception reached the user"
        elif "allocator: out of" in result.stderr:
            problem = "a size reached the allocator instead of a bound naming its key"
        elif len(result.stderr) > 400:
            problem = f"a {len(result.stderr)}-character error line"
        elif not written_ok:
            problem = "a refused command wrote files"
        else:
            self.clean += 1
        if problem:
            self.failures.append(f"{what}: {problem}\n  stderr: {result.stderr[:500]!r}")

    def report(self):
        print(f"{self.name}: {self.attempts} attempts, {self.accepted} accepted, {self.clean} clean errors, "
              f"{len(self.failures)} failures (crashes, bad error lines), {time.monotonic() - self.start:.1f} s",
              flush=True)


def snapshot(folder):
    """Every file under `folder` with its bytes, the run lock aside (its pid changes)."""
    folder = Path(folder)
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and p.name != "train.lock"}


def safetensors_bytes(header, data=b""):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def split_safetensors(raw):
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8:8 + n]), raw[8 + n:]


# -- config mutations --------------------------------------------------------
VALUES = ["", " ", "0", "-1", "1", "2", "3", "7", "64", "1000", "100000", "2147483648", "9223372036854775807",
          "18446744073709551616", "1e11", "1e5", "0x10", "1.5", "-0.0", "nan", "inf", "-inf", "1e-300", "1e308",
          "abc", "true", "false", "yes", "mha", "mha,nope", ",", ",,", "16:2:100", "16:2", "0:0:0", "100000:2:8",
          "16:9:100", "a:b:c", "≤", "\x7f", "x" * 100000, "mha," * 2000, "cuda", "cuda:7", "tpu", "learned",
          "sinusoidal", "swiglu", "moe", "rmsnorm", "cosine", "epoch"]
KEYS = ["task.vocab_size", "task.train_segments", "task.test_segments", "task.name", "model.d_model",
        "model.n_layers", "model.pattern", "model.ffn", "model.ffn_mult", "model.positions", "model.norm",
        "model.embed_dropout", "model.init_std", "model.ffn_pattern", "train.batch_size", "train.lr",
        "train.max_steps", "train.epochs", "train.eval_every", "train.warmup", "train.schedule",
        "train.schedule_unit", "train.grad_clip", "train.beta1", "train.eps", "train.device", "train.threads",
        "train.eval_batch_size", "train.target_accuracy", "mha.n_heads", "mha.positions", "mha.window",
        "moe.n_experts", "moe.top_k", "no.such_key", "mha.mixer", "model.mixer"]


def mutate_config(text, rng):
    lines = text.splitlines()
    for _ in range(rng.choice([1, 1, 2, 3])):
        kind = rng.randrange(8)
        settings = [i for i, l in enumerate(lines) if "=" in l and not l.lstrip().startswith("#")]
        if kind <= 2 and settings:  # a value replaced
            i = rng.choice(settings)
            lines[i] = lines[i].split("=", 1)[0] + "= " + rng.choice(VALUES)
        elif kind == 3 and settings:  # a line dropped
            del lines[rng.choice(settings)]
        elif kind == 4:  # a key set, in its section or out of it
            key = rng.choice(KEYS)
            section, name = key.split(".", 1)
            lines += [f"[{section}]", f"{name} = {rng.choice(VALUES)}"]
        elif kind == 5 and lines:  # a line duplicated or a header broken
            i = rng.randrange(len(lines))
            lines.insert(i, lines[i] if rng.random() < 0.5 else "[" + lines[i])
        elif kind == 6:  # cut anywhere
            joined = "\n".join(lines)
            lines = joined[:rng.randrange(len(joined) + 1)].splitlines()
        else:  # random bytes
            i = rng.randrange(len(lines) + 1)
            lines.insert(i, "".join(chr(rng.randrange(1, 0x250)) for _ in range(rng.randrange(1, 20))))
    return "\n".join(lines) + "\n"


def shipped_configs():
    configs = [TINY]
    for p in sorted((ROOT / "experiments").glob("*/*.ini")):
        text = p.read_text()
        # Sweep files are for scripts/sweep; the full-size bench configs build
        # models too large to check hundreds of times.
        if "\n[sweep]" not in text and "/bench/" not in str(p):
            configs.append(p)
    return configs


# -- safetensors mutations ---------------------------------------------------
def mutate_safetensors(raw, rng):
    kind = rng.randrange(6)
    if kind == 0:  # truncated
        return raw[:rng.randrange(len(raw))], "truncated"
    if kind == 1:  # bytes flipped anywhere
        b = bytearray(raw)
        for _ in range(rng.randrange(1, 8)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        return bytes(b), "flipped bytes"
    if kind == 2:  # bytes flipped in the header
        b = bytearray(raw)
        (n,) = struct.unpack("<Q", raw[:8])
        for _ in range(rng.randrange(1, 4)):
            b[rng.randrange(8 + n)] ^= 1 << rng.randrange(8)
        return bytes(b), "flipped header bytes"
    header, data = split_safetensors(raw)
    names = [k for k in header if k != "__metadata__"]
    name = rng.choice(names)
    if kind == 3:  # a tensor entry edited
        field = rng.choice(["shape", "data_offsets", "dtype", None])
        if field is None:
            del header[name]
        else:
            header[name][field] = rng.choice([
                [], [0], [0, 3], [-1], [2 ** 32] * 3, [2 ** 62, 4], [2 ** 63], [1, 2, 3, 4, 5, 6], "x", None,
                [0, 2 ** 64 - 1], [len(data), len(data) + 4], [4, 0], "BF16", "I32", "F64", "U8", 7, {"a": 1},
                [1.5], [True]])
        return safetensors_bytes(header, data), f"{name}.{field} edited"
    if kind == 4:  # metadata edited
        meta = header.setdefault("__metadata__", {})
        key = rng.choice(["step", "finished", "format", "loss_sum", "optimizer_steps", "dropout_offset", "loss_count"])
        meta[key] = rng.choice(["1e5", "0x1p+1000", "-1", "", "2", "nan", "inf", "99999999999999999999", "7 ", "x",
                                "mixlab-checkpoint-0", "1", "0", 5, None])
        return safetensors_bytes(header, data), f"metadata {key} edited"
    # the length prefix lies
    (n,) = struct.unpack("<Q", raw[:8])
    return struct.pack("<Q", rng.choice([0, n - 1, n + 1, n + 8, 2 ** 63, 2 ** 64 - 1, len(raw)])) + raw[8:], "length"


class FuzzBase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = SCRATCH / cls.__name__
        shutil.rmtree(cls.dir, ignore_errors=True)
        cls.dir.mkdir(parents=True)


class ConfigFuzz(FuzzBase):
    def test_mutated_configs_get_one_clean_line(self):
        rng = random.Random(SEED)
        configs = shipped_configs()
        tally = Tally(f"config fuzzer (seed {SEED})")
        cwd = self.dir / "cwd"
        for attempt in range(int(os.environ.get("FUZZ_CONFIGS", "200"))):
            source = rng.choice(configs)
            mutated = self.dir / f"{source.stem}.ini"
            mutated.write_text(mutate_config(source.read_text(), rng), errors="surrogateescape")
            out = self.dir / "out"
            shutil.rmtree(out, ignore_errors=True)
            shutil.rmtree(cwd, ignore_errors=True)
            cwd.mkdir()
            result = run(["train", mutated, "--check", f"--train.out_dir={out}"], cwd=cwd)
            tally.check(f"attempt {attempt} ({source.name})", result,
                        written_ok=not out.exists() and not any(cwd.iterdir()))
            if result.returncode < 0 or (result.returncode not in (0, 1, 2)):
                shutil.copy(mutated, self.dir / f"crash_{attempt}.ini")
        tally.report()
        self.assertEqual(tally.failures, [], "\n".join(tally.failures[:10]))
        self.assertGreater(tally.clean, tally.attempts // 4)  # the mutations do reach the checks


class SafetensorsFuzz(FuzzBase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        result = run(["train", TINY, f"--train.out_dir={cls.dir}", "--train.name=run"], timeout=300)
        assert result.returncode == 0, result.stderr
        cls.run_dir = cls.dir / "run"

    def test_mutated_checkpoints_get_one_clean_line(self):
        rng = random.Random(SEED)
        tally = Tally(f"safetensors fuzzer, checkpoints (seed {SEED})")
        raw = (self.run_dir / "checkpoint.safetensors").read_bytes()
        for attempt in range(int(os.environ.get("FUZZ_CHECKPOINTS", "40"))):
            mutated, how = mutate_safetensors(raw, rng)
            copy = self.dir / "copy"
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(self.run_dir, copy)
            (copy / "checkpoint.safetensors").write_bytes(mutated)
            before = snapshot(copy)
            out = self.dir / "logits.safetensors"
            out.unlink(missing_ok=True)
            what = f"attempt {attempt} ({how})"
            tally.check(what + " eval", run(["eval", copy]))
            forward = run(["forward", copy, "--tokens", TOKENS, "--out", out])
            tally.check(what + " forward", forward, written_ok=not out.exists())
            tally.check(what + " generate", run(["generate", copy, "--prompt-tokens", "3,40,5", "--max-new-tokens", "2"]))
            resume = run(["train", copy, "--resume"])
            # The run had finished at its last step: a resume accepted adds no
            # row and drops none.
            after = snapshot(copy)
            tally.check(what + " resume", resume, written_ok=after == before,
                        accepted_ok=after.get("metrics.csv") == before["metrics.csv"])
        tally.report()
        self.assertEqual(tally.failures, [], "\n".join(tally.failures[:10]))

    def test_mutated_token_files_get_one_clean_line(self):
        rng = random.Random(SEED + 1)
        tally = Tally(f"safetensors fuzzer, token files (seed {SEED + 1})")
        raw = TOKENS.read_bytes()
        header, _ = split_safetensors(raw)
        name = next(k for k in header if k != "__metadata__")
        cases = [(safetensors_bytes({name: {"dtype": "I64", "shape": [0, 3], "data_offsets": [0, 0]}}), "(0, 3)"),
                 (safetensors_bytes({name: {"dtype": "I64", "shape": [2 ** 32, 2 ** 32, 2 ** 32],
                                            "data_offsets": [0, 0]}}), "2^96 elements")]
        cases += [mutate_safetensors(raw, rng) for _ in range(20)]
        for attempt, (mutated, how) in enumerate(cases):
            tokens, out = self.dir / "tokens.safetensors", self.dir / "out.safetensors"
            tokens.write_bytes(mutated)
            out.unlink(missing_ok=True)
            result = run(["forward", self.run_dir, "--tokens", tokens, "--out", out])
            tally.check(f"attempt {attempt} ({how})", result, written_ok=not out.exists())
            if attempt < 2:
                self.assertIn(result.returncode, (1, 2), result.stderr)
        tally.report()
        self.assertEqual(tally.failures, [], "\n".join(tally.failures[:10]))


    def test_decoding_the_test_set_gives_the_eval_accuracy(self):
        # generate --from-task decodes token by token (the recurrent/cached
        # forms); eval scores the parallel forward: on the whole test set
        # (tiny_mqar.ini: 64 examples) the accuracies agree.
        evaluated = run(["eval", self.run_dir])
        decoded = run(["generate", self.run_dir, "--from-task", "64"])
        self.assertEqual((evaluated.returncode, decoded.returncode), (0, 0), evaluated.stderr + decoded.stderr)
        accuracy = re.search(r"test accuracy ([0-9.]+)", evaluated.stdout).group(1)
        self.assertRegex(decoded.stdout, rf"\naccuracy {re.escape(accuracy)} over 64 examples")
        self.assertEqual(decoded.stdout.count("\nexample "), 63)

    def test_export_holds_the_checkpoint_weights_under_their_names(self):
        out = self.dir / "model.safetensors"
        result = run(["export", self.run_dir, "--out", out])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stdout, r"wrote \d+ tensors \(\d+ parameters, step 40\)")
        exported, data = split_safetensors(out.read_bytes())
        checkpoint, ckpt_data = split_safetensors((self.run_dir / "checkpoint.safetensors").read_bytes())
        meta = exported.pop("__metadata__")
        self.assertEqual(meta["format"], "mixlab-weights-1")
        self.assertEqual(meta["step"], "40")
        self.assertIn("[model]", meta["config"])
        weights = {k: v for k, v in checkpoint.items() if k != "__metadata__" and not k.startswith("adamw.")}
        self.assertEqual(sorted(exported), sorted(weights))
        self.assertIn("embed.weight", exported)
        for name, entry in exported.items():
            begin, end = entry["data_offsets"]
            b0, e0 = weights[name]["data_offsets"]
            self.assertEqual((entry["dtype"], entry["shape"]), (weights[name]["dtype"], weights[name]["shape"]))
            self.assertEqual(data[begin:end], ckpt_data[b0:e0], name)
        refused = run(["export", self.run_dir])
        self.assertEqual(refused.returncode, 2)
        self.assertRegex(refused.stderr, ONE_LINE)


class Processes(FuzzBase):
    def start(self, name, steps):
        return subprocess.Popen([MIXLAB, "train", TINY, f"--train.out_dir={self.dir}", f"--train.name={name}",
                                 f"--train.max_steps={steps}", "--train.eval_every=100000", "--train.threads=1"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait_for_lock(self, process, run_dir):
        lock = run_dir / "train.lock"
        for _ in range(600):
            if lock.exists() and lock.read_text().strip() == str(process.pid):
                return
            time.sleep(0.05)
        self.fail("the first training never took its lock")

    def test_second_training_of_a_run_is_refused_naming_the_holder(self):
        run_dir = self.dir / "busy"
        first = self.start("busy", 1000000)
        try:
            self.wait_for_lock(first, run_dir)
            for args in (["train", TINY, f"--train.out_dir={self.dir}", "--train.name=busy"],
                         ["train", run_dir, "--resume"]):
                second = run(args)
                self.assertEqual(second.returncode, 1, second.stderr)
                self.assertRegex(second.stderr, ONE_LINE)
                self.assertIn(f"another mixlab train (pid {first.pid}) holds its lock", second.stderr)
        finally:
            first.kill()  # kill -9: the kernel releases the lock
            first.wait()
        # The lock went with the killed process: a resume takes it (and stops at once).
        resumed = run(["train", run_dir, "--resume", "--stop-at", "0"])
        self.assertEqual(resumed.returncode, 130, resumed.stderr)
        self.assertIn("interrupted at step 0", resumed.stdout)

    def test_a_killed_run_resumes_from_step_zero_and_its_lock_is_free(self):
        run_dir = self.dir / "killed"
        first = self.start("killed", 1000000)  # its first checkpoint would come at step 100000
        self.wait_for_lock(first, run_dir)
        for _ in range(600):
            if (run_dir / "log.txt").exists():
                break
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait()
        self.assertFalse((run_dir / "checkpoint.safetensors").exists())
        fresh = run(["train", TINY, f"--train.out_dir={self.dir}", "--train.name=killed"])
        self.assertEqual(fresh.returncode, 1)
        self.assertRegex(fresh.stderr, ONE_LINE)
        self.assertIn("--resume starts it again from step 0", fresh.stderr)
        resumed = run(["train", run_dir, "--resume", "--stop-at", "3"])
        self.assertEqual(resumed.returncode, 130, resumed.stderr)
        self.assertIn("starting again", resumed.stdout)
        self.assertIn("interrupted at step 3", resumed.stdout)


if __name__ == "__main__":
    unittest.main()
