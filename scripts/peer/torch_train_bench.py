#!/usr/bin/env python3
"""PyTorch eager peer for `mixlab bench train` and for MQAR learning checks:
the same model (scripts/peer/torch_model.py) trained with AdamW, logits only at
scored positions, on MQAR batches generated as docs/tasks.md defines them.

    python3 scripts/peer/torch_train_bench.py bench experiments/bench/mqar_l64_d64.ini [--steps 30]
    python3 scripts/peer/torch_train_bench.py learn experiments/mqar/quick.ini [--steps 1500]

`bench` prints tokens/s on the config's shapes (torch threads = train.threads
or all cores); `learn` trains and prints test accuracy every --eval-every steps.
Without torch it prints "skipped" and exits 0."""
import argparse
import configparser
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as missing:
    print(f"skipped: needs numpy and torch ({missing})")
    sys.exit(0)

import torch_model  # noqa: E402


def load_config(path):
    """The config with mixlab's defaults for the keys torch_model reads."""
    cp = configparser.ConfigParser()
    cp.read_dict({
        "model": {"d_model": "64", "n_layers": "2", "pattern": "mha", "norm": "layernorm", "norm_eps": "1e-5",
                  "ffn": "none", "ffn_mult": "4", "positions": "none", "tie_embeddings": "true",
                  "embed_dropout": "0"},
        "mha": {"n_heads": "1", "bias": "true"},
        "shortconv": {"kernel_size": "3", "residual": "true"},
        "task": {"vocab_size": "8192", "train_segments": "64:4:100000", "test_segments": "64:4:3000",
                 "random_non_queries": "true", "power_a": "0.01"},
        "train": {"batch_size": "64", "lr": "1e-3", "weight_decay": "0.1", "threads": "0"},
    })
    cp.read(path)
    return cp


def mqar_batch(rng, batch, L, D, V, power_a=0.01, random_non_queries=True):
    """MQAR as docs/tasks.md defines it (inputs, targets with -100 where unscored)."""
    C = 2 * D
    S = (L - C) // 2
    p = power_a * np.arange(1, S + 1) ** (power_a - 1)
    p /= p.sum()
    inputs = np.zeros((batch, L), dtype=np.int64)
    targets = np.full((batch, L), -100, dtype=np.int64)
    for b in range(batch):
        keys = rng.choice(np.arange(1, V // 2), D, replace=False)
        values = rng.choice(np.arange(V // 2, V), D, replace=False)
        kv = np.stack([keys, values], 1).reshape(-1)
        gaps = rng.choice(S, D, replace=False, p=p)
        order = rng.permutation(D)
        q = np.zeros(L - C + 1, dtype=np.int64)
        labels = np.full(L + 1, -100, dtype=np.int64)
        q[2 * gaps] = keys[order]
        labels[C + 2 * gaps + 1] = values[order]
        seq = np.concatenate([kv, q])
        x = seq[:L].copy()
        if random_non_queries:
            zeros = x == 0
            x[zeros] = rng.integers(0, V, zeros.sum())
        inputs[b], targets[b] = x, labels[1:L + 1]
    return torch.from_numpy(inputs), torch.from_numpy(targets)


def scored_loss(model, ids, targets):
    h = model.hidden(ids).reshape(-1, model.embed.weight.shape[1])
    flat = targets.reshape(-1)
    idx = (flat != -100).nonzero().squeeze(1)
    logits = model.head(h[idx])
    return F.cross_entropy(logits, flat[idx]), logits, flat[idx]


def setup(cfg):
    threads = int(cfg["train"]["threads"]) or os.cpu_count()
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torch_model.build(cfg)
    for name, p in model.named_parameters():  # mixlab's init: N(0, 0.02), norms 1/0
        if p.dim() >= 2:
            torch.nn.init.normal_(p, std=0.02)
        elif "norm" in name and name.endswith("weight"):
            torch.nn.init.ones_(p)
        else:
            torch.nn.init.zeros_(p)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and not n.endswith("embed.weight")]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and not n.endswith("embed.weight"))]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": float(cfg["train"]["weight_decay"])},
                             {"params": no_decay, "weight_decay": 0.0}], lr=float(cfg["train"]["lr"]))
    seg = cfg["task"]["train_segments"].split(",")[0].split(":")
    return threads, model, opt, int(seg[0]), int(seg[1])


def bench(cfg, steps, warmup):
    threads, model, opt, L, D = setup(cfg)
    B, V = int(cfg["train"]["batch_size"]), int(cfg["task"]["vocab_size"])
    rng = np.random.default_rng(0)
    batches = [mqar_batch(rng, B, L, D, V) for _ in range(steps + warmup)]
    for i, (x, y) in enumerate(batches):
        if i == warmup:
            start = time.perf_counter()
        loss, _, _ = scored_loss(model, x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    seconds = time.perf_counter() - start
    print(f"PyTorch {torch.__version__} eager, {threads} threads: {steps} steps, "
          f"{1e3 * seconds / steps:.1f} ms/step, {steps * B * L / seconds / 1e3:.1f}k tokens/s")


def learn(cfg, steps, eval_every):
    _, model, opt, L, D = setup(cfg)
    B, V = int(cfg["train"]["batch_size"]), int(cfg["task"]["vocab_size"])
    rng, test_rng = np.random.default_rng(1), np.random.default_rng(2)
    test = [mqar_batch(test_rng, 250, L, D, V) for _ in range(4)]
    for step in range(1, steps + 1):
        x, y = mqar_batch(rng, B, L, D, V)
        loss, _, _ = scored_loss(model, x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % eval_every == 0:
            with torch.no_grad():
                hits = sum((scored_loss(model, tx, ty)[1].argmax(-1) == scored_loss(model, tx, ty)[2]).float().mean()
                           for tx, ty in test) / len(test)
            print(f"step {step}: train loss {loss.item():.4f}, test accuracy {hits.item():.4f}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["bench", "learn"])
    ap.add_argument("config")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--eval-every", type=int, default=250)
    args = ap.parse_args()
    cfg = load_config(args.config)
    if args.mode == "bench":
        bench(cfg, args.steps or 30, args.warmup)
    else:
        learn(cfg, args.steps or 1500, args.eval_every)


if __name__ == "__main__":
    main()
