#!/usr/bin/env python3
"""mixlab's LanguageModel rebuilt in PyTorch from docs/model.md, for peer
comparisons: it reads a run's config.ini and checkpoint.safetensors (same
tensor names) and checks that `mixlab forward` gives the same logits.

    python3 scripts/peer/torch_model.py compare RUN_DIR [--mixlab build/mixlab]

Needs torch and safetensors (pip); without them it says so and exits 0, so it
never blocks a test run. Both sides compute in float32, so ~1e-7 relative is
rounding.

Model: learned, sinusoidal or no absolute positions; layernorm/rmsnorm; every
model.ffn kind (none, identity, mlp, swiglu, moe with dropless top-k routing)
and model.ffn_pattern; tied or untied head. model.pattern entries may be a
mixer, a preset (swa) or an instance section naming one ([local] mixer = mha).
Mixers: shortconv here; the attention family (mha with GQA/MQA, window, RoPE
none/ntk/yarn, ALiBi; mla; longformer; linformer; performer; linear_attn) in
torch_attention.py; the recurrent family in torch_recurrent.py. Each family
module holds MIXERS (name -> port(cfg, section, d_model, max_len) -> nn.Module
with the checkpoint's parameter names) and CASES, the runs
scripts/peer/check_ports.py trains and compares."""
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


def shortconv_port(cfg, name, d, max_len):
    c = cfg[name]
    return ShortConv(d, int(c["kernel_size"]), flag(c["residual"]))


# Mixer name -> port(cfg, section, d_model, max_len) -> nn.Module whose
# parameter names are the mixer's checkpoint names. The attention family and
# the recurrent/convolution family live in their own modules.
MIXERS = {"shortconv": shortconv_port}
FAMILIES = [importlib.import_module(family) for family in ("torch_attention", "torch_recurrent")]
for family in FAMILIES:
    MIXERS.update(family.MIXERS)

# Model-level cases for scripts/peer/check_ports.py: (label, model.pattern,
# extra mixlab arguments), as the family modules' CASES.
CASES = [
    ("shortconv + mha, mlp", "shortconv, mha", ["--model.ffn", "mlp", "--model.ffn_mult", "2"]),
    ("swiglu, rmsnorm, untied", "shortconv, mha", ["--model.ffn", "swiglu", "--model.norm", "rmsnorm",
                                                   "--model.tie_embeddings", "false"]),
    ("moe swiglu top-2", "shortconv, mha", ["--model.ffn", "moe", "--moe.n_experts", "4", "--model.ffn_mult", "1"]),
    ("moe mlp top-1, capacity (forward: dropless)", "mha",
     ["--model.ffn", "moe", "--moe.expert", "mlp", "--moe.top_k", "1", "--moe.n_experts", "3",
      "--moe.capacity_factor", "1.0"]),
    ("ffn_pattern identity,moe,mlp", "shortconv", ["--model.n_layers", "3", "--model.ffn_pattern",
                                                   "identity, moe, mlp", "--moe.n_experts", "2"]),
    ("sinusoidal positions", "shortconv, mha", ["--model.positions", "sinusoidal", "--model.ffn", "mlp"]),
    ("instances local/global", "shortconv, local, global",
     ["--model.n_layers", "3", "--local.mixer", "mha", "--local.window", "4", "--global.mixer", "mha",
      "--global.n_heads", "2", "--global.positions", "rope"]),
    ("instance of a preset", "near", ["--near.mixer", "swa", "--near.window", "3"]),
]

# mixlab's presets (layers/mixers/registry.cpp): a mixer with other defaults,
# which config.ini already spells out in the preset's (or instance's) section.
PRESETS = {"swa": "mha"}


def layer_mixer(cfg, layer):
    """The mixer a model.pattern entry builds: a mixer, a preset, or an instance
    section whose `mixer` key names one of those (docs/mixers.md)."""
    if layer in MIXERS and not cfg.has_option(layer, "mixer"):
        return layer
    if cfg.has_section(layer) and cfg.has_option(layer, "mixer"):
        layer = cfg[layer]["mixer"]
    return PRESETS.get(layer, layer)


class MLP(nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(d, hidden), nn.Linear(hidden, d)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


class SwiGLU(nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.w1, self.w2, self.w3 = (nn.Linear(a, b, bias=False) for a, b in ((d, hidden), (hidden, d), (d, hidden)))

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class MoE(nn.Module):
    """Dropless top-k routing (eval and `mixlab forward`): p = softmax(router x),
    the k largest p (ties: lower index), gates renormalised over the chosen."""

    def __init__(self, d, hidden, n_experts, top_k, expert):
        super().__init__()
        self.k = top_k
        self.router = nn.Linear(d, n_experts, bias=False)
        self.experts = nn.ModuleList((MLP if expert == "mlp" else SwiGLU)(d, hidden) for _ in range(n_experts))

    def forward(self, x):
        flat = x.reshape(-1, x.shape[-1])
        p = torch.softmax(self.router(flat), -1)
        chosen, idx = torch.sort(p, dim=-1, descending=True, stable=True)
        chosen, idx = chosen[:, : self.k], idx[:, : self.k]
        gates = chosen / chosen.sum(-1, keepdim=True)
        every = torch.stack([e(flat) for e in self.experts])  # (E, N, D)
        rows = torch.arange(flat.shape[0])
        y = sum(gates[:, s : s + 1] * every[idx[:, s], rows] for s in range(self.k))
        return y.reshape(x.shape)


def make_ffn(cfg, kind, d):
    hidden = int(cfg["model"]["ffn_mult"]) * d
    if kind == "mlp":
        return MLP(d, hidden)
    if kind == "swiglu":
        return SwiGLU(d, hidden)
    if kind == "moe":
        m = cfg["moe"]
        return MoE(d, hidden, int(m["n_experts"]), int(m["top_k"]), m["expert"])
    raise SystemExit(f"torch_model.py: model.ffn = {kind} has no PyTorch port here (allowed: none, identity, mlp, "
                     "swiglu, moe)")


def ffn_at(cfg, layer):
    pattern = [f.strip() for f in cfg["model"].get("ffn_pattern", "").split(",") if f.strip()]
    return pattern[layer % len(pattern)] if pattern else cfg["model"]["ffn"]


class Block(nn.Module):
    def __init__(self, cfg, layer, index):
        super().__init__()
        m, d, eps = cfg["model"], int(cfg["model"]["d_model"]), float(cfg["model"]["norm_eps"])
        norm = (lambda: nn.LayerNorm(d, eps=eps)) if m["norm"] == "layernorm" else (lambda: nn.RMSNorm(d, eps=eps))
        self.norm1 = norm()
        mixer = layer_mixer(cfg, layer)
        if mixer not in MIXERS:
            raise SystemExit(f"torch_model.py: mixer '{mixer}' (model.pattern entry '{layer}') has no PyTorch port "
                             f"here (ported: {', '.join(sorted(MIXERS))})")
        self.mixer = MIXERS[mixer](cfg, layer, d, max_seq_len(cfg))
        self.ffn_kind = ffn_at(cfg, index)
        if self.ffn_kind != "none":
            self.norm2 = norm()
        if self.ffn_kind not in ("none", "identity"):
            self.ffn = make_ffn(cfg, self.ffn_kind, d)

    def forward(self, x):
        x = x + self.mixer(self.norm1(x))
        if self.ffn_kind == "identity":  # Zoology's block with an Identity state mixer
            return x + self.norm2(x)
        return x + self.ffn(self.norm2(x)) if self.ffn_kind != "none" else x


def sinusoidal(T, D):
    """PE[p, i] = sin (i even) or cos (i odd) of p / 10000^((i − i mod 2)/D)."""
    p = torch.arange(T, dtype=torch.float64).unsqueeze(1)
    i = torch.arange(D)
    angle = p / 10000.0 ** ((i - i % 2).to(torch.float64) / D)
    return torch.where(i % 2 == 0, angle.sin(), angle.cos())


class LanguageModel(nn.Module):
    def __init__(self, cfg, vocab, max_len):
        super().__init__()
        m = cfg["model"]
        d, eps = int(m["d_model"]), float(m["norm_eps"])
        pattern = [p.strip() for p in m["pattern"].split(",")]
        self.embed = nn.Embedding(vocab, d)
        if m["positions"] not in ("none", "learned", "sinusoidal"):
            raise SystemExit(f"torch_model.py: model.positions = {m['positions']} has no PyTorch port here")
        self.positions = m["positions"]
        self.pos_embed = nn.Embedding(max_len, d) if m["positions"] == "learned" else None
        self.blocks = nn.ModuleList(Block(cfg, pattern[i % len(pattern)], i) for i in range(int(m["n_layers"])))
        self.norm_f = nn.LayerNorm(d, eps=eps) if m["norm"] == "layernorm" else nn.RMSNorm(d, eps=eps)
        self.lm_head = None if flag(m["tie_embeddings"]) else nn.Linear(d, vocab, bias=False)

    def hidden(self, ids):
        x = self.embed(ids)
        if self.pos_embed is not None:
            x = x + self.pos_embed(torch.arange(ids.shape[1]))
        elif self.positions == "sinusoidal":
            x = x + sinusoidal(ids.shape[1], x.shape[-1]).to(x.dtype)
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


def init_draws(module):
    """Counters a module takes from mixlab's init stream (one Philox counter per
    random element, layers/init.cpp): every parameter except norm weights/biases
    and Linear biases (ones and zeros). Only performer needs this (its Ω seed is
    the stream's offset when it was built), so only the layers before a
    performer must count right. A port whose mixlab init differs (parameters
    set from formulas, not drawn; several fills of one tensor; draws that make
    no parameter) defines init_draws() -> the counters its mixlab constructor
    takes. Measured: a performer after shortconv, mha, mla, longformer,
    linformer, linear_attn, moe/mlp/swiglu and every recurrent port (those
    of torch_recurrent.py define init_draws(), except retnet and baseconv)
    matches; check_ports.py's "performer after ..." cases test it."""
    if hasattr(module, "init_draws"):
        return module.init_draws()
    if isinstance(module, (nn.LayerNorm, nn.RMSNorm)):
        return 0
    if isinstance(module, nn.Linear):
        return module.weight.numel()
    own = sum(p.numel() for p in module.parameters(recurse=False))
    return own + getattr(module, "init_draws_before", 0) + sum(init_draws(c) for c in module.children())


def seed_random_features(model, train_seed):
    """Gives every mixer that redraws random features from the init stream's
    position (performer's Ω) that position: the counters taken before it."""
    offset = 0

    def walk(module):
        nonlocal offset
        if hasattr(module, "set_seed"):
            module.set_seed(train_seed, offset)
            offset += init_draws(module)
            return
        if hasattr(module, "init_draws") or not any(True for _ in module.children()):
            offset += init_draws(module)
            return
        offset += sum(p.numel() for p in module.parameters(recurse=False))
        for child in module.children():
            walk(child)

    walk(model)


def load_model(run_dir):
    """The PyTorch model of a run directory, with its checkpoint loaded (float32,
    the checkpoint's dtype; ports may round derived tables to float32 as mixlab does)."""
    cfg = read_config(run_dir)
    model = build(cfg)
    state = {k: v for k, v in load_file(os.path.join(run_dir, "checkpoint.safetensors")).items()
             if not k.startswith("adamw.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise SystemExit(f"parameter names differ: missing {missing}, unexpected {unexpected}")
    seed_random_features(model, int(cfg["train"]["seed"]))
    return cfg, model.eval()


def compare(run_dir, mixlab, quiet=False):
    """Relative L2 difference of mixlab's logits from the PyTorch model's."""
    cfg, model = load_model(run_dir)
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
    if not quiet:
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
