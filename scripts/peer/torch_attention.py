"""PyTorch ports of mixlab's attention mixers for scripts/peer/torch_model.py:
MIXERS maps a mixer name to port(cfg, section, d_model, max_len) -> nn.Module
whose parameter (and buffer) names are the checkpoint's, registered in
mixlab's order. CASES lists the runs scripts/peer/check_ports.py trains with
mixlab and compares: (label, model.pattern, extra mixlab CLI arguments).

Each port is written from the equations in the mixer's header comment
(layers/mixers/<mixer>.cpp) and docs/mixers.md, as plain dense PyTorch (T×T
scores and masks), not from mixlab's kernels: mha (GQA/MQA, sliding window,
RoPE none/ntk/yarn with both ramps, ALiBi), mla, longformer (causal and
encoder form, the default global tokens), linformer, performer (Ω redrawn
from mixlab's Philox stream, see PerformerFeatures) and linear_attn (elu,
relu, identity, taylor; normaliser or per-head RMSNorm)."""
import math

import torch
import torch.nn as nn


def flag(v):
    return v.strip().lower() in ("1", "true", "yes", "on")


def linear(d_in, d_out, bias):
    return nn.Linear(d_in, d_out, bias=bias)


def softmax_attention(q, k, v, scale, visible, bias=None):
    """q (B,H,Tq,d), k/v (B,H,Tk,d), visible (..., Tq, Tk) bool -> (B,H,Tq,dv)."""
    s = (q @ k.transpose(-1, -2)) * scale
    if bias is not None:
        s = s + bias
    s = s.masked_fill(~visible, float("-inf"))
    return torch.softmax(s, dim=-1) @ v


def causal_visible(T, window=0, device=None):
    """(T, T): key j visible to query i iff j <= i (and i − j < window when window > 0)."""
    i = torch.arange(T, device=device).unsqueeze(1)
    j = torch.arange(T, device=device).unsqueeze(0)
    vis = j <= i
    return vis & (i - j < window) if window > 0 else vis


# ---- positions (layers/positions.cpp) ---------------------------------------

class Rope:
    """Half-split RoPE: dim i rotates with i + d/2 by pos·θ_i; ntk and yarn scaling."""

    def __init__(self, base=10000.0, scaling="none", factor=1.0, original_length=2048, ramp="reference",
                 beta_fast=32.0, beta_slow=1.0):
        self.base, self.scaling, self.factor = base, scaling, factor
        self.original_length, self.ramp = original_length, ramp
        self.beta_fast, self.beta_slow = beta_fast, beta_slow

    def frequencies(self, d):
        b = self.base * self.factor ** (d / (d - 2)) if self.scaling == "ntk" else self.base
        theta = [b ** (-2.0 * i / d) for i in range(d // 2)]
        if self.scaling != "yarn":
            return theta
        if self.ramp == "continuous":  # the paper: linear in the rotations r_i over the original context
            w = [min(max((self.original_length * t / (2 * math.pi) - self.beta_slow) /
                         (self.beta_fast - self.beta_slow), 0.0), 1.0) for t in theta]
        else:  # the YaRN reference / HF: linear in the pair index between rounded ends
            pair_at = lambda rot: d * math.log(self.original_length / (rot * 2 * math.pi)) / (2 * math.log(self.base))
            low = max(math.floor(pair_at(self.beta_fast)), 0.0)
            high = min(math.ceil(pair_at(self.beta_slow)), float(d - 1))
            if low == high:
                high += 0.001
            w = [1.0 - min(max((i - low) / (high - low), 0.0), 1.0) for i in range(d // 2)]
        return [(1 - wi) * t / self.factor + wi * t for wi, t in zip(w, theta)]

    def magnitude(self):
        return 0.1 * math.log(self.factor) + 1.0 if self.scaling == "yarn" else 1.0

    def apply(self, x):
        """x (..., T, d) at positions 0..T-1 -> rotated and scaled by magnitude()."""
        T, d = x.shape[-2], x.shape[-1]
        theta = torch.tensor(self.frequencies(d), dtype=torch.float64)
        angle = torch.arange(T, dtype=torch.float64).unsqueeze(1) * theta  # (T, d/2)
        cos = (torch.cat([angle.cos(), angle.cos()], -1) * self.magnitude()).to(x.dtype)
        sin = (torch.cat([angle.sin(), angle.sin()], -1) * self.magnitude()).to(x.dtype)
        rotated = torch.cat([-x[..., d // 2:], x[..., : d // 2]], -1)
        return x * cos + rotated * sin


def alibi_slopes(n):
    """2^(−8h/H) for H a power of two; else the largest power below, then every other of twice that."""
    def power_of_two(h):
        return [2.0 ** (-8.0 * (i + 1) / h) for i in range(h)]
    p = 1
    while p * 2 <= n:
        p *= 2
    m = power_of_two(p)
    extra = power_of_two(2 * p)
    i = 0
    while len(m) < n:
        m.append(extra[i])
        i += 2
    return m


# ---- mha --------------------------------------------------------------------

class MHA(nn.Module):
    def __init__(self, d, heads, kv_heads, bias, window=0, rope=None, alibi=False):
        super().__init__()
        self.h, self.hkv, self.d, self.window, self.rope = heads, kv_heads or heads, d // heads, window, rope
        self.slopes = alibi_slopes(heads) if alibi else None
        kv_dim = self.hkv * self.d
        self.q_proj, self.k_proj = linear(d, d, bias), linear(d, kv_dim, bias)
        self.v_proj, self.out_proj = linear(d, kv_dim, bias), linear(d, d, bias)

    def forward(self, x):
        B, T, D = x.shape
        split = lambda y, h: y.view(B, T, h, self.d).transpose(1, 2)
        # query head h reads KV head h // (H / Hkv), as mixlab (HF repeat_kv)
        grow = lambda y: y.repeat_interleave(self.h // self.hkv, dim=1)
        q, k = split(self.q_proj(x), self.h), split(self.k_proj(x), self.hkv)
        if self.rope is not None:
            q, k = self.rope.apply(q), self.rope.apply(k)
        k, v = grow(k), grow(split(self.v_proj(x), self.hkv))
        bias = None
        if self.slopes is not None:  # −m_h·(i − j)
            dist = torch.arange(T).unsqueeze(1) - torch.arange(T).unsqueeze(0)
            bias = -torch.tensor(self.slopes, dtype=x.dtype).view(self.h, 1, 1) * dist.to(x.dtype)
        o = softmax_attention(q, k, v, 1 / math.sqrt(self.d), causal_visible(T, self.window), bias)
        return self.out_proj(o.transpose(1, 2).reshape(B, T, D))


def mha_port(cfg, name, d, max_len):
    c = cfg[name]
    rope = None
    if c["positions"] == "rope":
        rope = Rope(float(c["rope_base"]), c["rope_scaling"], float(c["rope_factor"]), int(c["rope_original_length"]),
                    c["rope_yarn_ramp"])
    return MHA(d, int(c["n_heads"]), int(c["n_kv_heads"]), flag(c["bias"]), int(c["window"]), rope,
               c["positions"] == "alibi")


# ---- mla --------------------------------------------------------------------

class MLA(nn.Module):
    def __init__(self, d, heads, q_lora, kv_lora, d_nope, d_rope, d_v, base, eps):
        super().__init__()
        self.h, self.q_lora, self.kv_lora, self.dn, self.dr, self.dv = heads, q_lora, kv_lora, d_nope, d_rope, d_v
        self.rope = Rope(base)
        dq = d_nope + d_rope
        if q_lora > 0:
            self.q_a_proj = linear(d, q_lora, False)
            self.q_a_layernorm = nn.RMSNorm(q_lora, eps=eps)
            self.q_b_proj = linear(q_lora, heads * dq, False)
        else:
            self.q_proj = linear(d, heads * dq, False)
        self.kv_a_proj_with_mqa = linear(d, kv_lora + d_rope, False)
        self.kv_a_layernorm = nn.RMSNorm(kv_lora, eps=eps)
        self.kv_b_proj = linear(kv_lora, heads * (d_nope + d_v), False)
        self.o_proj = linear(heads * d_v, d, False)

    def forward(self, x):
        B, T, _ = x.shape
        q = self.q_b_proj(self.q_a_layernorm(self.q_a_proj(x))) if self.q_lora > 0 else self.q_proj(x)
        q = q.view(B, T, self.h, self.dn + self.dr).transpose(1, 2)
        q = torch.cat([q[..., : self.dn], self.rope.apply(q[..., self.dn:])], -1)
        kva = self.kv_a_proj_with_mqa(x)
        c = self.kv_a_layernorm(kva[..., : self.kv_lora])
        k_pe = self.rope.apply(kva[..., self.kv_lora:]).unsqueeze(1).expand(B, self.h, T, self.dr)  # one shared head
        kv = self.kv_b_proj(c).view(B, T, self.h, self.dn + self.dv).transpose(1, 2)
        k = torch.cat([kv[..., : self.dn], k_pe], -1)
        o = softmax_attention(q, k, kv[..., self.dn:], 1 / math.sqrt(self.dn + self.dr), causal_visible(T))
        return self.o_proj(o.transpose(1, 2).reshape(B, T, self.h * self.dv))


def mla_port(cfg, name, d, max_len):
    c = cfg[name]
    return MLA(d, *(int(c[k]) for k in ("n_heads", "q_lora_rank", "kv_lora_rank", "qk_nope_dim", "qk_rope_dim",
                                        "v_head_dim")), float(c["rope_base"]), float(c["norm_eps"]))


# ---- longformer -------------------------------------------------------------

class Longformer(nn.Module):
    """Local rows: one softmax over the global keys and the window (both through
    the local projections); global rows (the first n_global positions, mixlab's
    default mask) over every (past) key with the global projections."""

    def __init__(self, d, heads, window, n_global, causal, bias):
        super().__init__()
        self.h, self.d, self.w, self.g, self.causal = heads, d // heads, window, n_global, causal
        self.q_proj, self.k_proj, self.v_proj = linear(d, d, bias), linear(d, d, False), linear(d, d, bias)
        if n_global > 0:
            self.q_global_proj, self.k_global_proj = linear(d, d, bias), linear(d, d, False)
            self.v_global_proj = linear(d, d, bias)
        self.out_proj = linear(d, d, bias)

    def forward(self, x):
        B, T, D = x.shape
        split = lambda y: y.view(B, T, self.h, self.d).transpose(1, 2)
        i, j = torch.arange(T).unsqueeze(1), torch.arange(T).unsqueeze(0)
        past = j <= i if self.causal else torch.ones(T, T, dtype=torch.bool)
        is_global = torch.arange(T) < self.g
        near = (i - j <= self.w) if self.causal else ((i - j).abs() <= self.w)
        scale = 1 / math.sqrt(self.d)
        o = softmax_attention(split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x)), scale,
                              past & (near | is_global.unsqueeze(0)))
        if self.g > 0:
            og = softmax_attention(split(self.q_global_proj(x)), split(self.k_global_proj(x)),
                                   split(self.v_global_proj(x)), scale, past)
            o = torch.where(is_global.view(1, 1, T, 1), og, o)
        return self.out_proj(o.transpose(1, 2).reshape(B, T, D))


def longformer_port(cfg, name, d, max_len):
    c = cfg[name]
    return Longformer(d, int(c["n_heads"]), int(c["window"]), int(c["n_global"]), flag(c["causal"]),
                      flag(c["bias"]))


# ---- linformer --------------------------------------------------------------

class Linformer(nn.Module):
    def __init__(self, d, heads, k, max_len, share_kv, one_kv_head):
        super().__init__()
        self.h, self.d, self.share_kv = heads, d // heads, share_kv
        self.hkv = 1 if one_kv_head else heads
        self.to_q, self.to_k = linear(d, d, False), linear(d, self.hkv * self.d, False)
        if not share_kv:
            self.to_v = linear(d, self.hkv * self.d, False)
        self.proj_k = nn.Parameter(torch.empty(max_len, k))
        if not share_kv:
            self.proj_v = nn.Parameter(torch.empty(max_len, k))
        self.to_out = linear(d, d, True)

    def forward(self, x):
        B, T, D = x.shape
        keys = self.to_k(x)
        values = keys if self.share_kv else self.to_v(x)
        F_ = self.proj_k if self.share_kv else self.proj_v
        # K' = E[:T]ᵀ K: (B, k, Hkv·d) -> (B, Hkv, k, d), repeated over the query heads
        squeeze = lambda P, y: (P[:T].T @ y).view(B, -1, self.hkv, self.d).transpose(1, 2).expand(
            B, self.h, -1, self.d)
        q = self.to_q(x).view(B, T, self.h, self.d).transpose(1, 2)
        kc, vc = squeeze(self.proj_k, keys), squeeze(F_, values)
        o = softmax_attention(q, kc, vc, 1 / math.sqrt(self.d), torch.ones(T, kc.shape[2], dtype=torch.bool))
        return self.to_out(o.transpose(1, 2).reshape(B, T, D))


def linformer_port(cfg, name, d, max_len):
    c = cfg[name]
    return Linformer(d, int(c["n_heads"]), int(c["k"]), max_len, flag(c["share_kv"]), flag(c["one_kv_head"]))


# ---- linear_attn ------------------------------------------------------------

class LinearAttention(nn.Module):
    def __init__(self, d, heads, feature_dim, feature_map, normalize, eps):
        super().__init__()
        self.h, self.dv = heads, d // heads
        self.dk = feature_dim or self.dv
        self.map, self.normalize, self.eps = feature_map, normalize, eps
        self.q_proj, self.k_proj = linear(d, heads * self.dk, False), linear(d, heads * self.dk, False)
        self.v_proj, self.out_proj = linear(d, d, False), linear(d, d, False)

    def feature(self, u):
        if self.map == "elu":
            return torch.nn.functional.elu(u) + 1
        if self.map == "relu":
            return torch.relu(u)
        if self.map == "identity":
            return u
        # taylor (Based): [1, u/d^(1/4), vec(u⊗u)/(√2·√d)]
        dk = self.dk
        outer = (u.unsqueeze(-1) * u.unsqueeze(-2)).flatten(-2)
        return torch.cat([torch.ones_like(u[..., :1]), u / dk ** 0.25, outer / (math.sqrt(2) * math.sqrt(dk))], -1)

    def forward(self, x):
        B, T, D = x.shape
        split = lambda y, w: y.view(B, T, self.h, w).transpose(1, 2)
        fq, fk = self.feature(split(self.q_proj(x), self.dk)), self.feature(split(self.k_proj(x), self.dk))
        A = (fq @ fk.transpose(-1, -2)) * causal_visible(T).to(x.dtype)
        o = A @ split(self.v_proj(x), self.dv)
        if self.normalize:
            o = o / (A.sum(-1, keepdim=True) + self.eps)
        else:  # per-head RMSNorm over d_v, no affine, eps 1e-5
            o = o * torch.rsqrt(o.pow(2).mean(-1, keepdim=True) + 1e-5)
        return self.out_proj(o.transpose(1, 2).reshape(B, T, D))


def linear_attn_port(cfg, name, d, max_len):
    c = cfg[name]
    return LinearAttention(d, int(c["n_heads"]), int(c["feature_dim"]), c["feature_map"], flag(c["normalize"]),
                           float(c["eps"]))


# ---- performer --------------------------------------------------------------

MASK64 = (1 << 64) - 1


def philox_normal(seed, first, n):
    """mixlab's standard normals (kernels/philox.h): Philox4x32-10 keyed by the
    seed at counter first + i, Box-Muller on lanes 0 and 1. float64 (n,)."""
    import numpy as np
    ctr = (np.uint64(first) + np.arange(n, dtype=np.uint64)).astype(np.uint64)
    c0, c1 = (ctr & np.uint64(0xFFFFFFFF)), (ctr >> np.uint64(32))
    c2, c3 = np.zeros(n, np.uint64), np.zeros(n, np.uint64)
    k0, k1 = seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF
    m32 = np.uint64(0xFFFFFFFF)
    for _ in range(10):
        p0, p1 = np.uint64(0xD2511F53) * c0, np.uint64(0xCD9E8D57) * c2  # < 2^64: exact in uint64
        hi0, lo0, hi1, lo1 = p0 >> np.uint64(32), p0 & m32, p1 >> np.uint64(32), p1 & m32
        c0, c1, c2, c3 = hi1 ^ c1 ^ np.uint64(k0), lo1, hi0 ^ c3 ^ np.uint64(k1), lo0
        k0, k1 = (k0 + 0x9E3779B9) & 0xFFFFFFFF, (k1 + 0xBB67AE85) & 0xFFFFFFFF
    u1 = (c0.astype(np.float64) + 0.5) / 4294967296.0
    u2 = (c1.astype(np.float64) + 0.5) / 4294967296.0
    return torch.from_numpy(np.sqrt(-2.0 * np.log(u1)) * np.cos(6.283185307179586476925 * u2))


class Performer(nn.Module):
    """FAVOR+ as layers/mixers/performer.cpp: softmax kernel (causal keys
    stabilised by the prefix max) or relu kernel, causal or bidirectional.
    Ω is not in the checkpoint: mixlab redraws it from a seed made of train.seed
    and the init stream's offset when the mixer was built, and the draw number
    in the `redraws` buffer; torch_model.py calls set_seed() with both."""

    def __init__(self, d, heads, nb_features, kernel, ortho_scaling, causal, feature_eps, eps):
        super().__init__()
        self.h, self.d = heads, d // heads
        self.M = nb_features if nb_features > 0 else max(1, int(self.d * math.log(self.d)))
        self.relu, self.sqrt_d, self.causal = kernel == "relu", ortho_scaling == "sqrt_d", causal
        self.feature_eps, self.eps = feature_eps, eps
        self.to_q, self.to_k, self.to_v, self.to_out = (linear(d, d, True) for _ in range(4))
        self.register_buffer("redraws", torch.zeros(2, dtype=torch.int64))
        self.seed = None

    # Draws taken from the model's init stream before the mixer's parameters.
    init_draws_before = 1

    def set_seed(self, train_seed, offset):
        self.seed = (train_seed * 0x9E3779B97F4A7C15 + offset + 1) & MASK64

    def features(self):
        """Ω (M, d) for the buffer's draw number: Gram-Schmidt on the rows of
        Gaussian d×d blocks, rows scaled by Gaussian norms (or √d)."""
        if self.seed is None:
            raise SystemExit("torch_attention.py: performer's Ω needs set_seed() (torch_model.py does it)")
        d, M = self.d, self.M
        seed = (self.seed + int(self.redraws[0]) * 0xD1B54A32D192ED03) & MASK64
        offset, rows = 0, []
        while len(rows) < M:
            block = philox_normal(seed, offset, d * d).view(d, d).clone()
            offset += d * d
            for r in range(d):
                for p in range(r):
                    block[r] -= (block[r] @ block[p]) * block[p]
                block[r] /= block[r].norm()
            rows.extend(block[: min(d, M - len(rows))])
        omega = torch.stack(rows)
        gauss = philox_normal(seed, offset, M * d).view(M, d)
        scale = torch.full((M, 1), math.sqrt(d), dtype=torch.float64) if self.sqrt_d else gauss.norm(dim=1,
                                                                                                      keepdim=True)
        return (omega * scale).float()  # mixlab keeps Ω in the parameters' dtype (f32)

    def forward(self, x):
        B, T, D = x.shape
        split = lambda y: y.view(B, T, self.h, self.d).transpose(1, 2)
        omega = self.features().to(x.dtype)
        ratio = 1 / math.sqrt(self.M)

        def project(u):
            us = u * self.d ** -0.25
            return us @ omega.T, (us * us).sum(-1, keepdim=True) / 2

        q, k, v = split(self.to_q(x)), split(self.to_k(x)), split(self.to_v(x))
        pq, hq = project(q)
        pk, hk = project(k)
        if self.relu:
            fq, fk = torch.relu(pq) + 1e-3, torch.relu(pk) + 1e-3
        else:
            fq = ratio * (torch.exp(pq - hq - pq.amax(-1, keepdim=True)) + self.feature_eps)
        if not self.causal:
            if not self.relu:
                fk = ratio * (torch.exp(pk - hk - pk.amax(dim=(-1, -2), keepdim=True)) + self.feature_eps)
            num = fq @ (fk.transpose(-1, -2) @ v)
            return self.finish(num / (fq @ fk.sum(-2, keepdim=True).transpose(-1, -2)), B, T)
        # causal: query t reads keys s <= t, each key stabilised by the prefix max c_t
        mask = causal_visible(T).to(x.dtype)
        if self.relu:
            A = (fq @ fk.transpose(-1, -2)) * mask
            num, den = A @ v, A.sum(-1, keepdim=True)
        else:
            c = torch.cummax(pk.amax(-1), dim=-1).values.unsqueeze(-1)  # (B,H,T,1)
            # φ(k_s) under c_t: ratio·(exp(p_s − h_s − c_t) + feature_eps); the exp part splits as
            # exp(p_s − h_s) · exp(−c_t) but is formed per (t, s) to stay finite.
            e = torch.exp((pk - hk).unsqueeze(2) - c.unsqueeze(3))  # (B,H,t,s,M)
            phi = ratio * (e + self.feature_eps) * mask.unsqueeze(-1)
            A = torch.einsum("bhtm,bhtsm->bhts", fq, phi)
            num, den = A @ v, A.sum(-1, keepdim=True)
        den = den + self.eps * fq.sum(-1, keepdim=True)  # eps on every feature of the key sums
        return self.finish(num / den, B, T)

    def finish(self, o, B, T):
        return self.to_out(o.transpose(1, 2).reshape(B, T, self.h * self.d))


def performer_port(cfg, name, d, max_len):
    c = cfg[name]
    return Performer(d, int(c["n_heads"]), int(c["nb_features"]), c["kernel"], c["ortho_scaling"], flag(c["causal"]),
                     float(c["feature_eps"]), float(c["eps"]))


MIXERS = {"mha": mha_port, "mla": mla_port, "longformer": longformer_port, "linformer": linformer_port,
          "linear_attn": linear_attn_port, "performer": performer_port}

# (label, model.pattern, extra mixlab arguments): each is trained for a few steps
# and its logits compared (scripts/peer/check_ports.py). Non-causal mixers run
# on masked_recall.
BIDIRECTIONAL = ["--task.name", "masked_recall"]
CASES = [
    ("mha", "mha", ["--mha.n_heads", "2"]),
    ("mha nobias", "mha", ["--mha.n_heads", "4", "--mha.bias", "false"]),
    ("mha gqa", "mha", ["--mha.n_heads", "4", "--mha.n_kv_heads", "2"]),
    ("mha mqa window", "mha", ["--mha.n_heads", "4", "--mha.n_kv_heads", "1", "--mha.window", "5"]),
    ("swa preset", "swa", ["--swa.window", "6", "--swa.n_heads", "2"]),
    ("mha rope", "mha", ["--mha.n_heads", "2", "--mha.positions", "rope", "--mha.rope_base", "500"]),
    ("mha rope ntk gqa", "mha", ["--mha.n_heads", "4", "--mha.n_kv_heads", "2", "--mha.positions", "rope",
                                 "--mha.rope_scaling", "ntk", "--mha.rope_factor", "4", "--mha.rope_base", "500"]),
    ("mha rope yarn reference", "mha", ["--mha.n_heads", "2", "--mha.positions", "rope", "--mha.rope_scaling", "yarn",
                                        "--mha.rope_factor", "4", "--mha.rope_original_length", "12"]),
    ("mha rope yarn continuous", "mha", ["--mha.n_heads", "2", "--mha.positions", "rope", "--mha.rope_scaling",
                                         "yarn", "--mha.rope_factor", "4", "--mha.rope_original_length", "40",
                                         "--mha.rope_yarn_ramp", "continuous"]),
    ("mha alibi", "mha", ["--mha.n_heads", "4", "--mha.positions", "alibi", "--model.positions", "none"]),
    ("mha alibi 3 heads window", "mha", ["--mha.n_heads", "3", "--mha.positions", "alibi", "--mha.window", "7",
                                         "--model.d_model", "36"]),
    ("mha kernel plain", "mha", ["--mha.n_heads", "2", "--mha.kernel", "plain"]),
    ("mla", "mla", ["--mla.kv_lora_rank", "8", "--mla.qk_nope_dim", "4", "--mla.qk_rope_dim", "4",
                    "--mla.v_head_dim", "8"]),
    ("mla q_lora", "mla", ["--mla.n_heads", "3", "--mla.q_lora_rank", "6", "--mla.kv_lora_rank", "5",
                           "--mla.qk_nope_dim", "3", "--mla.qk_rope_dim", "4", "--mla.v_head_dim", "5",
                           "--mla.rope_base", "100", "--mla.norm_eps", "1e-3"]),
    ("longformer causal", "longformer", ["--longformer.n_heads", "2", "--longformer.window", "3",
                                         "--longformer.block_size", "4"]),
    ("longformer causal no global", "longformer", ["--longformer.window", "5", "--longformer.n_global", "0",
                                                   "--longformer.bias", "false"]),
    ("longformer encoder", "shortconv, longformer", ["--longformer.causal", "false", "--longformer.n_heads", "2",
                                                     "--longformer.window", "4", "--longformer.n_global", "3"]
     + BIDIRECTIONAL),
    ("linformer", "shortconv, linformer", ["--linformer.k", "8", "--linformer.n_heads", "2"] + BIDIRECTIONAL),
    ("linformer share_kv one_kv_head", "linformer", ["--linformer.k", "5", "--linformer.n_heads", "4",
                                                     "--linformer.share_kv", "true", "--linformer.one_kv_head",
                                                     "true"] + BIDIRECTIONAL),
    ("linear_attn elu", "linear_attn", ["--linear_attn.n_heads", "2", "--linear_attn.chunk_size", "8",
                                        "--linear_attn.eps", "1e-3"]),
    ("linear_attn relu", "linear_attn", ["--linear_attn.feature_map", "relu", "--linear_attn.form", "parallel"]),
    ("linear_attn identity rmsnorm", "linear_attn", ["--linear_attn.feature_map", "identity",
                                                     "--linear_attn.normalize", "false", "--linear_attn.n_heads", "2"]),
    ("linear_attn taylor (Based)", "linear_attn", ["--linear_attn.feature_map", "taylor", "--linear_attn.feature_dim",
                                                   "4", "--linear_attn.n_heads", "2", "--linear_attn.form",
                                                   "recurrent"]),
    ("performer softmax causal", "performer", ["--performer.n_heads", "2", "--performer.redraw_interval", "7",
                                               "--performer.chunk_size", "8"]),
    # Ω's seed counts every random parameter before the mixer: put each port before one.
    ("performer after every port", "shortconv, mla, longformer, linear_attn, mha, performer",
     ["--model.n_layers", "7", "--model.ffn", "moe", "--moe.n_experts", "2", "--mla.q_lora_rank", "4",
      "--mla.kv_lora_rank", "8", "--mla.qk_nope_dim", "4", "--mla.qk_rope_dim", "4", "--mla.v_head_dim", "8",
      "--linear_attn.feature_map", "taylor", "--linear_attn.feature_dim", "4", "--performer.nb_features", "12"]),
    ("performer after linformer", "linformer, performer", ["--linformer.k", "6", "--performer.causal", "false"]
     + BIDIRECTIONAL),
    ("performer relu sqrt_d", "shortconv, performer", ["--performer.kernel", "relu", "--performer.ortho_scaling",
                                                       "sqrt_d", "--performer.nb_features", "20"]),
    ("performer bidirectional", "performer", ["--performer.causal", "false", "--performer.nb_features", "40",
                                               "--performer.feature_eps", "1e-3"]
     + BIDIRECTIONAL),
]
