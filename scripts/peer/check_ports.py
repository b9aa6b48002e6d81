#!/usr/bin/env python3
"""Checks every PyTorch port of scripts/peer/torch_model.py against mixlab:
for each case of CASES (torch_model.py's model-level cases, then each family
module's: torch_attention.py, torch_recurrent.py) it trains a tiny run with
mixlab (d_model 32, sequences of 32 tokens, vocabulary 64, 20 steps, one
thread) in a temporary directory, then compares `mixlab forward`'s logits with
the port's on the checkpoint.

    python3 scripts/peer/check_ports.py [--mixlab build/mixlab] [--only SUBSTRING]

One line per case; exits 1 if any case differs by more than --tolerance
(relative L2, default 1e-4) or fails to build, train or load. Without torch
and safetensors it prints "skipped" and exits 0. A case is (label,
model.pattern, extra mixlab CLI arguments), e.g.
("retnet", "retnet", ["--retnet.n_heads", "2"])."""
import argparse
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import torch  # noqa: F401
    import safetensors  # noqa: F401
except ImportError as missing:
    print(f"skipped: the PyTorch port check needs torch and safetensors ({missing})")
    sys.exit(0)
import torch_model  # noqa: E402

# Every case starts from this experiment; 20 steps at lr 3e-3 move the weights
# well away from their initialisation.
BASE = """[task]
name = mqar
vocab_size = 64
train_segments = 32:4:1000
test_segments = 32:4:16

[model]
d_model = 32
init_std = 0.1
n_layers = 2
pattern = mha
positions = learned
ffn = none

[train]
batch_size = 8
max_steps = 20
lr = 3e-3
eval_every = 20
threads = 1
"""


def all_cases():
    yield from ((torch_model.__name__, c) for c in torch_model.CASES)
    for family in torch_model.FAMILIES:
        yield from ((family.__name__, c) for c in getattr(family, "CASES", []))


def run_case(mixlab, tmp, n, pattern, overrides):
    """Trains one case; -> the run directory."""
    config = os.path.join(tmp, "base.ini")
    name = f"case{n}"
    cmd = [mixlab, "train", config, "--train.out_dir", tmp, "--train.name", name, "--model.pattern", pattern]
    done = subprocess.run(cmd + list(overrides), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        lines = done.stdout.strip().splitlines()
        raise RuntimeError(f"mixlab train failed: {lines[-1] if lines else done.returncode}")
    return os.path.join(tmp, name)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mixlab", default=os.path.join(os.path.dirname(__file__), "..", "..", "build", "mixlab"))
    ap.add_argument("--tolerance", type=float, default=1e-4)
    ap.add_argument("--only", default="", help="run only the cases whose label contains this")
    args = ap.parse_args()
    if not os.path.isfile(args.mixlab):
        sys.exit(f"check_ports.py: --mixlab {args.mixlab} is not a file (build mixlab or pass its path)")
    torch.set_num_threads(1)
    failures = total = 0
    with tempfile.TemporaryDirectory(prefix="mixlab-ports-") as tmp:
        with open(os.path.join(tmp, "base.ini"), "w") as f:
            f.write(BASE)
        for n, (family, (label, pattern, overrides)) in enumerate(all_cases()):
            if args.only not in label:
                continue
            total += 1
            try:
                rel = torch_model.compare(run_case(args.mixlab, tmp, n, pattern, overrides), args.mixlab, quiet=True)
                ok = rel <= args.tolerance
                verdict = f"relative difference {rel:.2e}"
            except (Exception, SystemExit) as e:  # one broken port must not hide the others
                ok, verdict = False, f"error: {e}"
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {family:16s} {label:44s} {verdict}", flush=True)
    print(f"{total - failures}/{total} ports match mixlab within {args.tolerance:g}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
