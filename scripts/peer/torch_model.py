#!/usr/bin/env python3
"""mixlab's LanguageModel rebuilt in PyTorch from docs/model.md, for peer
comparisons: it reads a run's config.ini and checkpoint.safetensors (same
tensor names) and checks that `mixlab forward` gives the same logits.

    python3 scripts/peer/torch_model.py compare RUN_DIR [--mixlab build/mixlab]

Needs torch and safetensors (pip); without them it says so and exits 0, so it
never blocks a test run. Supports the mixers mha (without RoPE/ALiBi) and shortconv, and learned or
no absolute positions."""
import argparse
import configparser
import importlib
import math
import os
import subprocess
import sys
import tempfile

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from safetensors.torch import load_file, save_file
except ImportError as missing:  # optional peer: skip cleanly
    print(f"skipped: PyTorch peer comparison needs torch and safetensors ({missing})")
    sys.exit(0)


def read_config(run_dir):
    cp = configparser.ConfigParser()
    cp.read(os.path.join(run_dir, "config.ini"))
    return cp


def flag(v):
    return v.strip().lower() in ("1", "true", "yes", "on")


class MHA(nn.Module):
    def __init__(self, d, heads, kv_heads, bias):
        super().__init__()
        self.h, self.hkv = heads, kv_heads or heads
        kv_dim = self.hkv * (d // heads)
        self.q_proj, self.out_proj = nn.Linear(d, d, bias=bias), nn.Linear(d, d, bias=bias)
        self.k_proj, self.v_proj = nn.Linear(d, kv_dim, bias=bias), nn.Linear(d, kv_dim, bias=bias)

    def forward(self, x):
        B, T, D = x.shape
        split = lambda y, h: y.view(B, T, h, D // self.h).transpose(1, 2)
        # query head h reads KV head h // (H / Hkv), as mixlab (HF repeat_kv)
        grow = lambda y: y.repeat_interleave(self.h // self.hkv, dim=1)
        q = split(self.q_proj(x), self.h)
        k, v = grow(split(self.k_proj(x), self.hkv)), grow(split(self.v_proj(x), self.hkv))
        o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.out_proj(o.transpose(1, 2).reshape(B, T, D))


class ShortConv(nn.Module):
    def __init__(self, d, k, residual):
        super().__init__()
        self.k, self.residual = k, residual
        self.projection = nn.Linear(d, d)
        self.conv = nn.Module()
        self.conv.weight = nn.Parameter(torch.empty(d, k))
        self.conv.bias = nn.Parameter(torch.empty(d))

    def forward(self, u):
        y = F.conv1d(u.transpose(1, 2), self.conv.weight.unsqueeze(1), self.conv.bias, padding=self.k - 1,
                     groups=u.shape[-1])[..., : u.shape[1]].transpose(1, 2)
        y = y * self.projection(u)
        return y + u if self.residual else y


def mha_port(cfg, name, d, max_len):
    c = cfg[name]
    if c.get("positions", "none") != "none":
        raise SystemExit("torch_model.py: mha.positions (rope/alibi) has no PyTorch port here")
    return MHA(d, int(c["n_heads"]), int(c.get("n_kv_heads", "0")), flag(c["bias"]))


def shortconv_port(cfg, name, d, max_len):
    c = cfg[name]
    return ShortConv(d, int(c["kernel_size"]), flag(c["residual"]))


# Mixer name -> port(cfg, section, d_model, max_len) -> nn.Module whose
# parameter names are the mixer's checkpoint names. The attention family and
# the recurrent/convolution family live in their own modules.
MIXERS = {"mha": mha_port, "shortconv": shortconv_port}
for family in ("torch_attention", "torch_recurrent"):
    MIXERS.update(importlib.import_module(family).MIXERS)


class Block(nn.Module):
    def __init__(self, cfg, mixer):
        super().__init__()
        m, d, eps = cfg["model"], int(cfg["model"]["d_model"]), float(cfg["model"]["norm_eps"])
        norm = (lambda: nn.LayerNorm(d, eps=eps)) if m["norm"] == "layernorm" else (lambda: nn.RMSNorm(d, eps=eps))
        self.norm1 = norm()
        if mixer not in MIXERS:
            raise SystemExit(f"torch_model.py: mixer '{mixer}' has no PyTorch port here")
        self.mixer = MIXERS[mixer](cfg, mixer, d, max_seq_len(cfg))
        self.ffn_kind = m["ffn"]
        if self.ffn_kind != "none":
            self.norm2 = norm()
        if self.ffn_kind in ("mlp", "swiglu"):
            hidden = int(m["ffn_mult"]) * d
            self.ffn = nn.Module()
            if self.ffn_kind == "mlp":
                self.ffn.fc1, self.ffn.fc2 = nn.Linear(d, hidden), nn.Linear(hidden, d)
            else:
                self.ffn.w1, self.ffn.w2, self.ffn.w3 = (nn.Linear(a, b, bias=False)
                                                        for a, b in ((d, hidden), (hidden, d), (d, hidden)))

    def forward(self, x):
        x = x + self.mixer(self.norm1(x))
        if self.ffn_kind == "mlp":
            x = x + self.ffn.fc2(F.gelu(self.ffn.fc1(self.norm2(x)), approximate="tanh"))
        elif self.ffn_kind == "swiglu":
            h = self.norm2(x)
            x = x + self.ffn.w2(F.silu(self.ffn.w1(h)) * self.ffn.w3(h))
        elif self.ffn_kind == "identity":  # Zoology's block with an Identity state mixer
            x = x + self.norm2(x)
        return x


class LanguageModel(nn.Module):
    def __init__(self, cfg, vocab, max_len):
        super().__init__()
        m = cfg["model"]
        d, eps = int(m["d_model"]), float(m["norm_eps"])
        pattern = [p.strip() for p in m["pattern"].split(",")]
        self.embed = nn.Embedding(vocab, d)
        if m["positions"] not in ("none", "learned"):
            raise SystemExit(f"torch_model.py: model.positions = {m['positions']} has no PyTorch port here")
        self.pos_embed = nn.Embedding(max_len, d) if m["positions"] == "learned" else None
        self.blocks = nn.ModuleList(Block(cfg, pattern[i % len(pattern)]) for i in range(int(m["n_layers"])))
        self.norm_f = nn.LayerNorm(d, eps=eps) if m["norm"] == "layernorm" else nn.RMSNorm(d, eps=eps)
        self.lm_head = None if flag(m["tie_embeddings"]) else nn.Linear(d, vocab, bias=False)

    def hidden(self, ids):
        x = self.embed(ids)
        if self.pos_embed is not None:
            x = x + self.pos_embed(torch.arange(ids.shape[1]))
        for b in self.blocks:
            x = b(x)
        return self.norm_f(x)

    def head(self, h):
        return self.lm_head(h) if self.lm_head is not None else h @ self.embed.weight.T

    def forward(self, ids):
        return self.head(self.hidden(ids))


def max_seq_len(cfg):
    return max(int(seg.split(":")[0]) for key in ("train_segments", "test_segments")
               for seg in cfg["task"][key].split(","))


def build(cfg):
    return LanguageModel(cfg, int(cfg["task"]["vocab_size"]), max_seq_len(cfg))


def compare(run_dir, mixlab):
    cfg = read_config(run_dir)
    model = build(cfg)
    state = {k: v for k, v in load_file(os.path.join(run_dir, "checkpoint.safetensors")).items()
             if not k.startswith("adamw.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise SystemExit(f"parameter names differ: missing {missing}, unexpected {unexpected}")
    vocab, L = int(cfg["task"]["vocab_size"]), min(max_seq_len(cfg), 64)
    ids = torch.randint(0, vocab, (3, L), generator=torch.Generator().manual_seed(0))
    with tempfile.TemporaryDirectory() as tmp:
        tokens, out = os.path.join(tmp, "tokens.safetensors"), os.path.join(tmp, "logits.safetensors")
        save_file({"tokens": ids.to(torch.int32)}, tokens)
        subprocess.run([mixlab, "forward", run_dir, "--tokens", tokens, "--out", out], check=True,
                       stdout=subprocess.DEVNULL)
        ours = load_file(out)["logits"]
    with torch.no_grad():
        ref = model(ids)
    rel = ((ours - ref).norm() / ref.norm()).item()
    print(f"logits {tuple(ref.shape)}: relative difference mixlab vs PyTorch = {rel:.3e}")
    return rel


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("compare", help="logits of mixlab forward vs this PyTorch model on a run's checkpoint")
    c.add_argument("run_dir")
    c.add_argument("--mixlab", default=os.path.join(os.path.dirname(__file__), "..", "..", "build", "mixlab"))
    c.add_argument("--tolerance", type=float, default=1e-4)
    args = ap.parse_args()
    rel = compare(args.run_dir, args.mixlab)
    sys.exit(0 if rel <= args.tolerance else 1)


if __name__ == "__main__":
    main()
