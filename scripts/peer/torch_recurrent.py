"""PyTorch ports of mixlab's recurrent and long-convolution mixers for
scripts/peer/torch_model.py: MIXERS maps a mixer name to
port(cfg, section, d_model, max_len) -> nn.Module whose parameter names are
the mixer's checkpoint names, and CASES lists (label, model.pattern, extra
mixlab CLI args) runs whose logits a checker compares with `mixlab forward`.

Every port is plain PyTorch written from the mixer's header comment in
layers/mixers/*.cpp and docs/mixers.md (not from the C++ code paths), in the
simplest exact form: a token-by-token recurrence for the scans, direct
causal sums for the long convolutions. Speed is no goal; each port must equal
mixlab's forward to F32 rounding.

Common to all ports: only the forward is ported (mixlab forward runs the
whole sequence from a zero state); decode/prefill states and the
initialisations are not, since every weight comes from the checkpoint. What
is ported of the initialisation is its draw count: init_draws() returns the
init-stream counters the mixlab constructor takes (torch_model.init_draws),
which a later performer's Ω seed depends on; the "performer after ..."
CASES check it. A
mixer's `form` (chunked / parallel / recurrent / fused / composed), its
chunk sizes and `conv` (auto / fft / direct) choose how mixlab computes one
function, so one port serves every form; CASES runs the forms with several
chunks per sequence so that each mixlab code path meets the same port.

Ports (what each follows; what is left out):
- retnet (retnet.cpp header): q, k rotated on interleaved pairs by
  t·theta_i, theta = 1/10000^linspace(0, 1, dk/2), k scaled by dk^-1/2,
  S_n = gamma_h S_{n-1} + k_n v_n^T with gamma_h = 1 - 2^(-e-h), rows divided
  by sqrt(sum_{m<=n} gamma^m), RMSNorm per head without affine, swish gate,
  out_proj. torchscale's extra clamp(sum |A|, 1, 5e4) row scale is not in
  mixlab (its header says why), so not here either.
- mamba2 (mamba2.cpp header): in_proj split z | xBC | dt, depthwise causal
  conv + SiLU, dt = softplus(dt + dt_bias), per-head decay exp(dt·A),
  A = -exp(A_log), head h reading group h / (H/G), D skip, gate before an
  RMSNorm per group (eps 1e-5), out_proj.
- rwkv6 (rwkv6.cpp header, RWKV-LM x060): token shift with zeros before the
  sequence, ddlerp LoRA over the targets in the order w, k, v, r, g, decay LoRA,
  log decay -exp(w_raw), WKV with the bonus u = time_faaaa read before the
  state update, no scale, GroupNorm per head (eps norm_eps) with the affine
  ln_x, silu gate, output; with channel_mix the mixer returns
  tm + cmix(LN2(x + tm)), LN2 eps 1e-5, cmix = sigmoid(receptance) · value(relu(key)^2)
  over its own token shift. ffn_hidden 0 = max(32, int(3.5·C) // 32 · 32).
- gla (gla.cpp header, fla GatedLinearAttention defaults): widths
  floor(expand_k·D), floor(expand_v·D); log alpha = logsigmoid(z)/tau with
  z = gk_proj.1(gk_proj.0(x)); feature map none/relu/swish on q and k;
  o = dk^-1/2 S_t^T q_t; per-head rms or layer norm (affine dv-wide weight
  shared by heads, bias only for layer; none with norm_affine false), optional
  swish output gate (bias with gate_bias), o_proj.
- rwkv7 (rwkv7.cpp header, RWKV-LM x070 time-mix): static lerps r, w, k, v,
  a, g; log decay -e^(-1/2)·sigmoid(w0 + tanh(x_w w1) w2); a = sigmoid(a0 +
  x_a a1 a2); g = sigmoid(x_g g1) g2; kappa = L2-normalised (k ⊙ k_k) per head
  (eps 1e-12 as sqrt(|kappa|^2 + eps^2)); k~ = k ⊙ (1 + (a - 1) ⊙ k_a);
  S_t = (diag(d_t) - (a ⊙ kappa) kappa^T) S_{t-1} + k~ v^T, o = S^T r;
  GroupNorm + ln_x affine, plus (sum r ⊙ k~ ⊙ r_k per head) v, times g, output.
  LoRA ranks 0 = max(32, round(k·sqrt(C)/32)·32), k = 2.5, 2.5, 5. The
  official value residual (v_first) is not in mixlab's rwkv7, so not here.
- deltanet, gated_deltanet (delta_net.cpp header, fla DeltaNet /
  GatedDeltaNet): q, k, v projections through one depthwise causal conv
  (width conv_size, optional bias; off when short_conv is false or
  conv_size = 1) and SiLU, q, k L2-normalised per head as x/sqrt(|x|^2 + 1e-6),
  beta = sigmoid(b_proj x) (1 without use_beta, x2 with allow_neg_eigval),
  gated: alpha = exp(-exp(A_log)·softplus(a_proj x + dt_bias));
  S_t = alpha (I - beta k k^T) S_{t-1} + beta k v^T, o = S^T q / sqrt(dk);
  RMSNorm per head (eps 1e-5, dv-wide o_norm_weight), then the optional
  silu(g_proj x) gate, o_proj.
- baseconv (baseconv.cpp header, Zoology base_conv.py): y = (h * u + u) ⊙
  (W u + b) + u (the inner "+ u" with conv_skip, the outer with residual),
  h the first T taps of the explicit (D, l_max) filter or of the implicit
  W2 relu(W1 z_s + b1) + b2 over Zoology's positional features z. The
  features are a checkpoint buffer; the port rebuilds them from their formula
  (long_filters.h) and stops if the checkpoint's differ.
- h3 (h3.cpp header, Zoology h3.py): shift filter S[c, j] = sum_m B[c, m]
  C[c, m + j] over the first min(N, T) taps plus D_k ⊙ k; kv outer product per
  head; diagonal bilinear S4D kernel K_h[l] = 2 Re sum_n C dB dA^l evaluated in
  complex128 by direct powers (mixlab builds the powers by repeated doubling in
  the run's dtype), D skip; read-out in Zoology's (d2, h) channel order,
  output_linear.
- hyena (hyena.cpp header, Zoology hyena.py): in_proj, depthwise short conv,
  split x1 | x2 | v, z = x2 ⊙ (h * (x1 ⊙ v) + beta ⊙ x1 ⊙ v) with the filter
  FFN ffn_in, ffn_i (sin(freq ⊙ ·) after each), ffn_out, times
  exp(-t_s |delta_c|) with modulate; out_proj. Fixed buffers (times, decay,
  and positions when train_positions is false) are rebuilt and checked as in
  baseconv.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def flag(v):
    return v.strip().lower() in ("1", "true", "yes", "on")


def param(*shape):
    """A parameter to be filled from the checkpoint (shape as mixlab stores it)."""
    return nn.Parameter(torch.empty(*shape))


def linear(d_in, d_out, bias=False):
    return nn.Linear(d_in, d_out, bias=bias)


def drawn(*tensors):
    """Init-stream counters a mixlab constructor takes to fill these tensors
    (one per element, autograd/tensor.cpp's randn/uniform): the parts of a
    port's init_draws(). Linear layers draw their weight only (bias zeros,
    layers/linear.cpp); CausalConv1d its weight and bias (both uniform,
    layers/causal_conv.cpp)."""
    return sum(t.numel() for t in tensors if t is not None)


class CausalConv(nn.Module):
    """mixlab's CausalConv1d: depthwise, weight (C, K) (torch's (C, 1, K)),
    y_t = b + sum_j w[:, j] x_{t-K+1+j}, zeros before the sequence."""

    def __init__(self, channels, k, bias=True):
        super().__init__()
        self.k = k
        self.weight = param(channels, k)
        self.bias = param(channels) if bias else None

    def forward(self, x):  # (B, T, C)
        T = x.shape[1]
        y = F.conv1d(x.transpose(1, 2), self.weight.unsqueeze(1), self.bias, padding=self.k - 1,
                     groups=x.shape[-1])
        return y[..., :T].transpose(1, 2)


def rms(x, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)


def heads(y, h):
    """(B, T, H*d) -> (B, H, T, d)"""
    B, T, _ = y.shape
    return y.view(B, T, h, -1).transpose(1, 2)


def merge(y):
    """(B, H, T, d) -> (B, T, H*d)"""
    B, H, T, d = y.shape
    return y.transpose(1, 2).reshape(B, T, H * d)


def scan(q, k, v, log_decay, bonus=None):
    """S_t = diag(exp(g_t)) S_{t-1} + k_t v_t^T, o_t = S_t^T q_t, token by
    token; q, k (B, H, T, dk), v (B, H, T, dv), log_decay broadcastable to
    (B, H, T, dk). With `bonus` u (H, dk): RWKV-6's o_t = q_t^T (S_{t-1} +
    diag(u) k_t v_t^T) instead."""
    B, H, T, dk = k.shape
    g = log_decay.expand(B, H, T, dk)
    S = k.new_zeros(B, H, dk, v.shape[-1])
    out = []
    for t in range(T):
        kv = k[:, :, t, :, None] * v[:, :, t, None, :]
        if bonus is not None:
            out.append(torch.einsum("bhk,bhkv->bhv", q[:, :, t], S + bonus[None, :, :, None] * kv))
        S = torch.exp(g[:, :, t, :, None]) * S + kv
        if bonus is None:
            out.append(torch.einsum("bhk,bhkv->bhv", q[:, :, t], S))
    return torch.stack(out, 2)


# ---------------------------------------------------------------- retnet

class RetNet(nn.Module):
    def __init__(self, c, d):
        super().__init__()
        self.h = int(c["n_heads"])
        self.eps = float(c["norm_eps"])
        dv = int(c["value_factor"]) * d
        self.dk = d // self.h
        e = float(c["decay_exponent"])
        self.log_gamma = [math.log1p(-2.0 ** (-e - h)) for h in range(self.h)]
        half = self.dk // 2
        self.theta = [1.0 / 10000.0 ** (i / (half - 1) if half > 1 else 0.0) for i in range(half)]
        self.q_proj, self.k_proj = linear(d, d), linear(d, d)
        self.v_proj, self.g_proj, self.out_proj = linear(d, dv), linear(d, dv), linear(dv, d)

    def rotate(self, x):  # (B, H, T, dk), interleaved pairs (2i, 2i+1) by t*theta_i
        T = x.shape[2]
        ang = torch.arange(T, dtype=torch.float64)[:, None] * torch.tensor(self.theta, dtype=torch.float64)
        c = torch.cos(ang).repeat_interleave(2, -1).to(x.dtype)
        s = torch.sin(ang).repeat_interleave(2, -1).to(x.dtype)
        pairs = x.unflatten(-1, (-1, 2))
        swapped = torch.stack((-pairs[..., 1], pairs[..., 0]), -1).flatten(-2)
        return x * c + swapped * s

    def forward(self, x):
        T = x.shape[1]
        q = self.rotate(heads(self.q_proj(x), self.h))
        k = self.rotate(heads(self.k_proj(x), self.h) / math.sqrt(self.dk))
        v = heads(self.v_proj(x), self.h)
        lg = torch.tensor(self.log_gamma, dtype=x.dtype).view(1, self.h, 1, 1)
        o = scan(q, k, v, lg.expand(1, self.h, T, 1))
        # row n divided by sqrt(s_n), s_n = sum_{m<=n} gamma^m
        n = torch.arange(T, dtype=torch.float64)
        lg64 = torch.tensor(self.log_gamma, dtype=torch.float64)[:, None]
        s = torch.expm1((n + 1) * lg64) / torch.expm1(lg64)
        o = o / torch.sqrt(s).to(x.dtype)[None, :, :, None]
        o = merge(rms(o, self.eps))
        return self.out_proj(F.silu(self.g_proj(x)) * o)


def retnet_port(cfg, name, d, max_len):
    return RetNet(cfg[name], d)


# ---------------------------------------------------------------- mamba2

class Mamba2(nn.Module):
    def __init__(self, c, d):
        super().__init__()
        self.N, self.P, self.G = int(c["d_state"]), int(c["headdim"]), int(c["ngroups"])
        self.d_in = int(c["expand"]) * d
        self.H = self.d_in // self.P
        conv_dim = self.d_in + 2 * self.G * self.N
        self.in_proj = linear(d, 2 * self.d_in + 2 * self.G * self.N + self.H)
        self.conv1d = CausalConv(conv_dim, int(c["d_conv"]))
        self.dt_bias, self.A_log, self.D = param(self.H), param(self.H), param(self.H)
        self.norm_weight = param(self.d_in)
        self.out_proj = linear(self.d_in, d)

    def init_draws(self):
        """mamba2.cpp: in_proj, conv1d (weight, bias), one U(0, 1) per head for
        dt_bias and one U(A_init_min, A_init_max) per head for A_log, out_proj;
        D and norm_weight are ones."""
        return drawn(self.in_proj.weight, self.conv1d.weight, self.conv1d.bias, self.dt_bias, self.A_log,
                     self.out_proj.weight)

    def forward(self, u):
        B, T, _ = u.shape
        d_in, GN, H, G, N, P = self.d_in, self.G * self.N, self.H, self.G, self.N, self.P
        z, xbc, dt = self.in_proj(u).split([d_in, d_in + 2 * GN, H], -1)
        x, Bm, Cm = F.silu(self.conv1d(xbc)).split([d_in, GN, GN], -1)
        dt = F.softplus(dt + self.dt_bias)                       # (B, T, H)
        log_decay = (dt * -torch.exp(self.A_log)).transpose(1, 2)[..., None]  # (B, H, T, 1)
        grp = torch.arange(H) // (H // G)                        # head h reads group h / (H/G)
        q = heads(Cm, G)[:, grp]
        k = heads(Bm, G)[:, grp]
        xh = heads(x, H)
        y = scan(q, k, xh * dt.transpose(1, 2)[..., None], log_decay)
        y = merge(y + xh * self.D.view(1, H, 1, 1))
        gated = (y * F.silu(z)).view(B, T, G, d_in // G)        # gate, then RMSNorm per group
        return self.out_proj(rms(gated, 1e-5).view(B, T, d_in) * self.norm_weight)


def mamba2_port(cfg, name, d, max_len):
    return Mamba2(cfg[name], d)


# ---------------------------------------------------------------- rwkv6

def token_shift(x):
    """x_{t-1}, zeros at t = 0."""
    return F.pad(x, (0, 0, 1, 0))[:, :-1]


class Rwkv6ChannelMix(nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.time_maa_k, self.time_maa_r = param(d), param(d)
        self.key, self.receptance, self.value = linear(d, hidden), linear(d, d), linear(hidden, d)

    def init_draws(self):
        """rwkv6_channel_mix.cpp: the three Linear weights; the lerps are ramps."""
        return drawn(self.key.weight, self.receptance.weight, self.value.weight)

    def forward(self, u):
        xx = token_shift(u) - u
        k = F.relu(self.key(u + xx * self.time_maa_k)).square()
        return torch.sigmoid(self.receptance(u + xx * self.time_maa_r)) * self.value(k)


class Rwkv6(nn.Module):
    MIXES = ("w", "k", "v", "r", "g")  # the official ddlerp order

    def __init__(self, c, d):
        super().__init__()
        self.S = int(c["head_size"]) or min(64, d)
        self.H = d // self.S
        self.r, self.eps = int(c["mix_lora"]), float(c["norm_eps"])
        dl = int(c["decay_lora"])
        self.time_maa_x = param(d)
        for m in self.MIXES:
            setattr(self, "time_maa_" + m, param(d))
        self.time_maa_w1, self.time_maa_w2 = param(d, 5 * self.r), param(5, self.r, d)
        self.time_decay, self.time_decay_w1, self.time_decay_w2 = param(d), param(d, dl), param(dl, d)
        self.time_faaaa = param(self.H, self.S)
        self.receptance, self.key, self.value = linear(d, d), linear(d, d), linear(d, d)
        self.gate, self.output = linear(d, d), linear(d, d)
        self.ln_x = nn.Module()
        self.ln_x.weight, self.ln_x.bias = param(d), param(d)
        self.channel_mix = flag(c["channel_mix"])
        if self.channel_mix:
            hidden = int(c["ffn_hidden"]) or max(32, int(3.5 * d) // 32 * 32)
            self.ln2 = nn.LayerNorm(d, eps=1e-5)
            self.ffn = Rwkv6ChannelMix(d, hidden)

    def init_draws(self):
        """rwkv6.cpp: U(±0.01) for time_maa_w2 and time_decay_w2 (their w1 are
        zeros), the five Linear weights, then the channel mix; the lerps, decay,
        bonus and ln_x come from formulas."""
        own = drawn(self.time_maa_w2, self.time_decay_w2, self.receptance.weight, self.key.weight,
                    self.value.weight, self.gate.weight, self.output.weight)
        return own + (self.ffn.init_draws() if self.channel_mix else 0)

    def forward(self, x):
        B, T, C = x.shape
        xx = token_shift(x) - x
        hidden = torch.tanh((x + xx * self.time_maa_x) @ self.time_maa_w1)      # (B, T, 5r)
        offsets = torch.einsum("btjr,jrc->jbtc", hidden.view(B, T, 5, self.r), self.time_maa_w2)
        xw, xk, xv, xr, xg = (x + xx * (getattr(self, "time_maa_" + m) + offsets[j])
                              for j, m in enumerate(self.MIXES))
        r, k, v = heads(self.receptance(xr), self.H), heads(self.key(xk), self.H), heads(self.value(xv), self.H)
        g = F.silu(self.gate(xg))
        w_raw = self.time_decay + torch.tanh(xw @ self.time_decay_w1) @ self.time_decay_w2
        o = scan(r, k, v, heads(-torch.exp(w_raw), self.H), bonus=self.time_faaaa)
        o = F.layer_norm(o, (self.S,), eps=self.eps)                          # GroupNorm, one group per head
        tm = self.output((merge(o) * self.ln_x.weight + self.ln_x.bias) * g)
        if not self.channel_mix:
            return tm
        return tm + self.ffn(self.ln2(x + tm))


def rwkv6_port(cfg, name, d, max_len):
    return Rwkv6(cfg[name], d)

# ---------------------------------------------------------------- gla

class Gla(nn.Module):
    def __init__(self, c, d):
        super().__init__()
        self.h = int(c["n_heads"])
        dk_all, dv_all = int(float(c["expand_k"]) * d), int(float(c["expand_v"]) * d)
        self.dk, self.dv = dk_all // self.h, dv_all // self.h
        self.tau, self.eps = float(c["gate_logit_normalizer"]), float(c["norm_eps"])
        self.feature_map, self.norm = c["feature_map"], c["norm"]
        self.q_proj, self.k_proj, self.v_proj = linear(d, dk_all), linear(d, dk_all), linear(d, dv_all)
        self.output_gate = flag(c["output_gate"])
        if self.output_gate:
            self.g_proj = linear(d, dv_all, bias=flag(c["gate_bias"]))
        r = int(c["gate_low_rank_dim"])
        self.gk_proj = nn.ModuleList([linear(d, r), linear(r, dk_all, bias=True)])
        self.o_proj = linear(dv_all, d)
        self.g_norm = None
        if flag(c["norm_affine"]):
            self.g_norm = nn.Module()
            self.g_norm.weight = param(self.dv)
            self.g_norm.bias = param(self.dv) if self.norm == "layer" else None

    def init_draws(self):
        """gla.cpp: every Linear weight (g_proj only with output_gate; the
        gk_proj.1 bias is zeros); g_norm is ones and zeros."""
        return drawn(self.q_proj.weight, self.k_proj.weight, self.v_proj.weight,
                     self.g_proj.weight if self.output_gate else None, self.gk_proj[0].weight,
                     self.gk_proj[1].weight, self.o_proj.weight)

    def feature(self, t):
        return {"none": t, "relu": F.relu(t), "swish": F.silu(t)}[self.feature_map]

    def forward(self, x):
        q = self.feature(heads(self.q_proj(x), self.h))
        k = self.feature(heads(self.k_proj(x), self.h))
        v = heads(self.v_proj(x), self.h)
        log_alpha = -F.softplus(-self.gk_proj[1](self.gk_proj[0](x))) / self.tau   # logsigmoid(z) / tau
        o = scan(q, k, v, heads(log_alpha, self.h)) / math.sqrt(self.dk)
        w = self.g_norm.weight if self.g_norm is not None else None
        if self.norm == "rms":
            o = rms(o, self.eps) * (w if w is not None else 1.0)
        else:
            o = F.layer_norm(o, (self.dv,), w, self.g_norm.bias if self.g_norm is not None else None, self.eps)
        o = merge(o)
        if self.output_gate:
            o = o * F.silu(self.g_proj(x))
        return self.o_proj(o)


def gla_port(cfg, name, d, max_len):
    return Gla(cfg[name], d)


# ---------------------------------------------------------------- rwkv7

def rwkv7_rank(k, C, given):
    """rwkv7's LoRA rank: the option, or the official max(32, round(k sqrt(C) / 32) * 32)."""
    return given or max(32, int(round(k * math.sqrt(C) / 32.0)) * 32)


class Rwkv7(nn.Module):
    SHIFTS = ("x_r", "x_w", "x_k", "x_v", "x_a", "x_g")

    def __init__(self, c, d):
        super().__init__()
        self.N = int(c["head_size"]) or min(64, d)
        self.H, self.eps = d // self.N, float(c["norm_eps"])
        dw, da = rwkv7_rank(2.5, d, int(c["decay_lora"])), rwkv7_rank(2.5, d, int(c["a_lora"]))
        dg = rwkv7_rank(5.0, d, int(c["gate_lora"]))
        for m in self.SHIFTS:
            setattr(self, m, param(d))
        self.w0, self.w1, self.w2 = param(d), param(d, dw), param(dw, d)
        self.a0, self.a1, self.a2 = param(d), param(d, da), param(da, d)
        self.g1, self.g2 = param(d, dg), param(dg, d)
        self.k_k, self.k_a, self.r_k = param(d), param(d), param(self.H, self.N)
        self.receptance, self.key, self.value, self.output = (linear(d, d) for _ in range(4))
        self.ln_x = nn.Module()
        self.ln_x.weight, self.ln_x.bias = param(d), param(d)

    def init_draws(self):
        """rwkv7.cpp: normal w2, a2, g2 (the LoRA downs w1, a1, g1 are zeros),
        the four Linear weights, then receptance, key and value refilled
        uniformly, drawing their weights a second time; the lerps, w0, a0, k_k,
        k_a, r_k and ln_x come from formulas."""
        return drawn(self.w2, self.a2, self.g2, self.receptance.weight, self.key.weight, self.value.weight,
                     self.output.weight, self.receptance.weight, self.key.weight, self.value.weight)

    def forward(self, x):
        H, N = self.H, self.N
        xx = token_shift(x) - x
        xr, xw, xk, xv, xa, xg = (x + xx * getattr(self, m) for m in self.SHIFTS)
        r, k, v = self.receptance(xr), self.key(xk), self.value(xv)
        w_raw = self.w0 + torch.tanh(xw @ self.w1) @ self.w2
        log_decay = -math.exp(-0.5) * torch.sigmoid(w_raw)
        a = torch.sigmoid(self.a0 + (xa @ self.a1) @ self.a2)
        g = torch.sigmoid(xg @ self.g1) @ self.g2
        kappa = heads(k * self.k_k, H)
        kappa_hat = kappa * torch.rsqrt(kappa.square().sum(-1, keepdim=True) + 1e-24)   # L2 per head
        k_new = k * (1 + (a - 1) * self.k_a)
        rh, kh, vh, ah, dh = heads(r, H), heads(k_new, H), heads(v, H), heads(a, H), heads(log_decay, H)
        # S_t = (diag(d_t) - (a_t * kappa_t) kappa_t^T) S_{t-1} + k~_t v_t^T, o_t = S_t^T r_t
        S = x.new_zeros(x.shape[0], H, N, N)
        out = []
        for t in range(x.shape[1]):
            kap = kappa_hat[:, :, t]
            removed = (ah[:, :, t] * kap)[..., None] * torch.einsum("bhk,bhkv->bhv", kap, S)[:, :, None, :]
            S = torch.exp(dh[:, :, t])[..., None] * S - removed + kh[:, :, t, :, None] * vh[:, :, t, None, :]
            out.append(torch.einsum("bhk,bhkv->bhv", rh[:, :, t], S))
        o = torch.stack(out, 2)
        o = merge(F.layer_norm(o, (N,), eps=self.eps)) * self.ln_x.weight + self.ln_x.bias
        bonus = (rh * kh * self.r_k[None, :, None, :]).sum(-1, keepdim=True) * vh
        return self.output((o + merge(bonus)) * g)


def rwkv7_port(cfg, name, d, max_len):
    return Rwkv7(cfg[name], d)

# ---------------------------------------------------------------- deltanet, gated_deltanet

class DeltaNet(nn.Module):
    def __init__(self, c, d, gated):
        super().__init__()
        self.gated, self.H = gated, int(c["n_heads"])
        self.dk = int(c["head_dim"]) or d // self.H
        self.dv = self.dk * int(c["expand_v"])
        key, value = self.H * self.dk, self.H * self.dv
        self.q_proj, self.k_proj, self.v_proj = linear(d, key), linear(d, key), linear(d, value)
        self.use_beta = flag(c.get("use_beta", "true")) or gated   # gated_deltanet always has b_proj
        if self.use_beta:
            self.b_proj = linear(d, self.H)
        self.neg_eig = flag(c["allow_neg_eigval"])
        K = int(c["conv_size"])
        self.short_conv = flag(c["short_conv"]) and K > 1
        if self.short_conv:
            self.conv1d = CausalConv(2 * key + value, K, bias=flag(c["conv_bias"]))
        if gated:
            self.a_proj = linear(d, self.H)
            self.A_log, self.dt_bias = param(self.H), param(self.H)
        self.use_gate = flag(c["use_gate"])
        if self.use_gate:
            self.g_proj = linear(d, value)
        self.o_norm_weight = param(self.dv)
        self.o_proj = linear(value, d)

    def init_draws(self):
        """delta_net.cpp: q, k, v, b_proj, conv1d (weight, bias if any), a_proj
        and a U(A_init_min, A_init_max) and a U(0, 1) per head for A_log and
        dt_bias (gated), g_proj, o_proj; o_norm_weight is ones."""
        total = drawn(self.q_proj.weight, self.k_proj.weight, self.v_proj.weight, self.o_proj.weight)
        if self.use_beta:
            total += drawn(self.b_proj.weight)
        if self.short_conv:
            total += drawn(self.conv1d.weight, self.conv1d.bias)
        if self.gated:
            total += drawn(self.a_proj.weight, self.A_log, self.dt_bias)
        if self.use_gate:
            total += drawn(self.g_proj.weight)
        return total

    def forward(self, x):
        B, T, _ = x.shape
        H, dk, dv = self.H, self.dk, self.dv
        qkv = torch.cat((self.q_proj(x), self.k_proj(x), self.v_proj(x)), -1)
        if self.short_conv:
            qkv = self.conv1d(qkv)
        q, k, v = F.silu(qkv).split([H * dk, H * dk, H * dv], -1)
        l2 = lambda t: t * torch.rsqrt(t.square().sum(-1, keepdim=True) + 1e-6)
        q, k, v = l2(heads(q, H)), l2(heads(k, H)), heads(v, H)
        beta = torch.sigmoid(self.b_proj(x)) if self.use_beta else x.new_ones(B, T, H)
        if self.neg_eig:
            beta = 2 * beta
        alpha = torch.ones_like(beta)
        if self.gated:
            alpha = torch.exp(-torch.exp(self.A_log) * F.softplus(self.a_proj(x) + self.dt_bias))
        beta, alpha = beta.transpose(1, 2), alpha.transpose(1, 2)   # (B, H, T)
        # S_t = alpha_t (I - beta_t k_t k_t^T) S_{t-1} + beta_t k_t v_t^T, o_t = S_t^T q_t / sqrt(dk)
        S = x.new_zeros(B, H, dk, dv)
        out = []
        for t in range(T):
            kt, bt, at = k[:, :, t], beta[:, :, t, None, None], alpha[:, :, t, None, None]
            kS = torch.einsum("bhk,bhkv->bhv", kt, S)
            S = at * (S - bt * kt[..., None] * kS[:, :, None, :]) + bt * kt[..., None] * v[:, :, t, None, :]
            out.append(torch.einsum("bhk,bhkv->bhv", q[:, :, t], S) / math.sqrt(dk))
        o = rms(torch.stack(out, 2).transpose(1, 2), 1e-5) * self.o_norm_weight   # (B, T, H, dv)
        if self.use_gate:
            o = o * F.silu(self.g_proj(x)).view(B, T, H, dv)
        return self.o_proj(o.reshape(B, T, H * dv))


def deltanet_port(cfg, name, d, max_len):
    return DeltaNet(cfg[name], d, gated=False)


def gated_deltanet_port(cfg, name, d, max_len):
    return DeltaNet(cfg[name], d, gated=True)

# ---------------------------------------------------------------- long convolutions: baseconv, h3, hyena

def long_conv(x, h):
    """y[b, t, c] = sum_{s <= min(t, K-1)} h[c, s] x[b, t - s, c]: x (B, T, C), h (C, K); taps past T unused."""
    T, K = x.shape[1], min(h.shape[1], x.shape[1])
    taps = h[:, :K].flip(-1).unsqueeze(1)                       # conv1d correlates: flip to convolve
    return F.conv1d(F.pad(x.transpose(1, 2), (K - 1, 0)), taps, groups=x.shape[-1]).transpose(1, 2)


def filter_positions(l_max, d_emb):
    """Zoology's positional features (l_max, d_emb), row s = [s/(l_max-1), cos(f_k w_s), -sin(f_k w_s)],
    w_s = 2 pi s / l_max, f = linspace(1e-4, bands-1, bands), bands = (d_emb-1)/2; in F64, stored F32."""
    bands = (d_emb - 1) // 2
    s = torch.arange(l_max, dtype=torch.float64)[:, None]
    t = s / (l_max - 1) if l_max > 1 else torch.zeros_like(s)
    f = torch.linspace(1e-4, bands - 1, bands, dtype=torch.float64) if bands > 1 else torch.tensor([1e-4], dtype=torch.float64)
    w = 2 * math.pi * s / l_max
    return torch.cat((t, torch.cos(f * w), -torch.sin(f * w)), 1).float()


class FixedBuffers(nn.Module):
    """Buffers that mixlab stores in the checkpoint but computes from fixed
    formulas: rebuilt here and checked against the loaded values."""

    def fixed(self, name, value):
        self.register_buffer(name, value.clone())
        self._expected = getattr(self, "_expected", {})
        self._expected[name] = value

    def check_fixed(self):
        for name, want in self._expected.items():
            got = getattr(self, name)
            if not torch.allclose(got, want.to(got.dtype), rtol=1e-6, atol=1e-7):
                raise SystemExit(f"torch_recurrent.py: checkpoint buffer {name} differs from its formula "
                                 f"(max |diff| {(got - want).abs().max().item():.3e})")


class BaseConv(FixedBuffers):
    def __init__(self, c, d, l_max):
        super().__init__()
        self.explicit = c["filter"] == "explicit"
        self.conv_skip, self.residual = flag(c["conv_skip"]), flag(c["residual"])
        self.projection = linear(d, d, bias=True)
        if self.explicit:
            self.filter = param(d, l_max)
        else:
            d_emb = int(c["d_emb"])
            self.fixed("positions", filter_positions(l_max, d_emb))
            self.mlp_in, self.mlp_out = linear(d_emb, int(c["d_hidden"]), True), linear(int(c["d_hidden"]), d, True)

    def forward(self, u):
        if self.explicit:
            h = self.filter
        else:
            self.check_fixed()
            h = self.mlp_out(F.relu(self.mlp_in(self.positions[: u.shape[1]]))).T   # (D, T)
        conv = long_conv(u, h) + (u if self.conv_skip else 0)
        y = conv * self.projection(u)
        return y + u if self.residual else y


def baseconv_port(cfg, name, d, max_len):
    return BaseConv(cfg[name], d, max_len)


class H3(nn.Module):
    def __init__(self, c, d):
        super().__init__()
        self.N, self.hd = int(c["d_state"]), int(c["head_dim"])
        self.H, N2 = d // self.hd, self.N // 2
        self.q_proj, self.k_proj, self.v_proj = (linear(d, d, True) for _ in range(3))
        self.shift_B, self.shift_C, self.ssm_k_D = param(d, self.N), param(d, self.N), param(d)
        self.log_dt = param(self.H)
        for n in ("inv_A_real", "A_imag", "B_re", "B_im", "C_re", "C_im"):
            setattr(self, n, param(self.H, N2))
        self.D = param(self.H)
        self.output_linear = linear(d, d, True)

    def init_draws(self):
        """h3.cpp: q, k, v weights, shift_C (uniform), ssm_k_D, log_dt, C_re,
        C_im, D (random), output_linear; shift_B, inv_A_real, A_imag, B_re and
        B_im come from formulas."""
        return drawn(self.q_proj.weight, self.k_proj.weight, self.v_proj.weight, self.shift_C, self.ssm_k_D,
                     self.log_dt, self.C_re, self.C_im, self.D, self.output_linear.weight)

    def shift_filter(self):
        """S[c, j] = sum_m B[c, m] C[c, m + j], j < N (C is zero past N)."""
        N = self.N
        Cp = F.pad(self.shift_C, (0, N))
        return torch.stack([(self.shift_B * Cp[:, j:j + N]).sum(-1) for j in range(N)], -1)

    def diag_kernel(self, T):
        """K_h[l] = 2 Re sum_n C_n dB_n dA_n^l, bilinear S4D in complex128: (H, T)."""
        dt = torch.exp(self.log_dt.double())[:, None]
        A = torch.complex(-torch.exp(self.inv_A_real.double()), self.A_imag.double())
        z = dt * A
        dA = (1 + z / 2) / (1 - z / 2)
        dB = dt * torch.complex(self.B_re.double(), self.B_im.double()) / (1 - z / 2)
        C = torch.complex(self.C_re.double(), self.C_im.double())
        powers = dA[..., None] ** torch.arange(T, dtype=torch.float64)
        return (2 * ((C * dB)[..., None] * powers).sum(1).real).to(self.log_dt.dtype)

    def forward(self, u):
        B, T, D = u.shape
        H, hd = self.H, self.hd
        q, k, v = self.q_proj(u), self.k_proj(u), self.v_proj(u)
        k = long_conv(k, self.shift_filter()) + k * self.ssm_k_D
        kv = k.view(B, T, H, hd, 1) * v.view(B, T, H, 1, hd)               # kv[h, d1, d2]
        kernel = self.diag_kernel(T).repeat_interleave(hd * hd, 0)         # one filter per kv channel
        y = long_conv(kv.reshape(B, T, H * hd * hd), kernel).view(B, T, H, hd, hd)
        y = y + kv * self.D.view(H, 1, 1)
        o = (q.view(B, T, H, hd, 1) * y).sum(-2)                           # (B, T, H, d2)
        return self.output_linear(o.transpose(-1, -2).reshape(B, T, D))    # channel d2*H + h


def h3_port(cfg, name, d, max_len):
    return H3(cfg[name], d)


class Hyena(FixedBuffers):
    def __init__(self, c, d, l_max):
        super().__init__()
        N, e = int(c["filter_order"]), int(c["emb_dim"])
        self.modulate = flag(c["modulate"])
        self.in_proj, self.out_proj = linear(d, 3 * d, True), linear(d, d, True)
        self.short_filter = CausalConv(3 * d, int(c["short_filter_order"]))
        if flag(c["train_positions"]):
            self.positions = param(l_max, e)
        else:
            self.fixed("positions", filter_positions(l_max, e))
        t = torch.arange(l_max, dtype=torch.float64)[:, None] / max(l_max - 1, 1)
        self.fixed("times", t.float())
        lo, hi = math.log(1e-2) / 1.5, math.log(1e-2) / 0.3
        self.fixed("decay", torch.linspace(lo, hi, d, dtype=torch.float64).abs()[None].float() if d > 1
                   else torch.tensor([[abs(lo)]]).float())
        self.ffn_in = linear(e, N, True)
        self.inner = int(c["num_inner_mlps"])
        for i in range(self.inner):
            setattr(self, f"ffn_{i}", linear(N, N, True))
        self.ffn_out = linear(N, d)
        self.freq, self.bias = param(1, N), param(d)

    def init_draws(self):
        """hyena.cpp: in_proj, out_proj, short_filter (weight, bias), the filter
        FFN's weights, the skip bias (normal); positions (also when trained)
        and freq come from formulas."""
        ffn = [self.ffn_in] + [getattr(self, f"ffn_{i}") for i in range(self.inner)] + [self.ffn_out]
        return drawn(self.in_proj.weight, self.out_proj.weight, self.short_filter.weight, self.short_filter.bias,
                     *(layer.weight for layer in ffn), self.bias)

    def filter(self, T):
        h = self.positions[:T]
        for layer in [self.ffn_in] + [getattr(self, f"ffn_{i}") for i in range(self.inner)]:
            h = torch.sin(layer(h) * self.freq)
        h = self.ffn_out(h)
        if self.modulate:
            h = h * torch.exp(-self.times[:T] * self.decay)
        return h.T

    def forward(self, u):
        self.check_fixed()
        D = u.shape[-1]
        x1, x2, v = self.short_filter(self.in_proj(u)).split(D, -1)
        gated = v * x1
        z = long_conv(gated, self.filter(u.shape[1])) + gated * self.bias
        return self.out_proj(z * x2)


def hyena_port(cfg, name, d, max_len):
    return Hyena(cfg[name], d, max_len)


MIXERS = {

"retnet": retnet_port, "mamba2": mamba2_port, "rwkv6": rwkv6_port, "gla": gla_port, "rwkv7": rwkv7_port,
          "deltanet": deltanet_port, "gated_deltanet": gated_deltanet_port,
          "baseconv": baseconv_port, "h3": h3_port, "hyena": hyena_port}

CASES = [
    ("retnet", "retnet", []),
    ("retnet 4 heads, value_factor 1, decay_exponent 1", "retnet",
     ["--retnet.n_heads", "4", "--retnet.value_factor", "1", "--retnet.decay_exponent", "1"]),
    ("mamba2", "mamba2", []),
    ("mamba2 ngroups 2, d_conv 2", "mamba2",
     ["--mamba2.ngroups", "2", "--mamba2.d_state", "8", "--mamba2.headdim", "8", "--mamba2.d_conv", "2"]),
    ("rwkv6", "rwkv6", []),
    ("rwkv6 no channel mix, 4 heads", "rwkv6", ["--rwkv6.channel_mix", "false", "--rwkv6.head_size", "8"]),
    ("gla", "gla", []),
    ("gla paper: layer norm, gate bias, relu features", "gla",
     ["--gla.norm", "layer", "--gla.gate_bias", "true", "--gla.feature_map", "relu", "--gla.n_heads", "2",
      "--gla.expand_k", "1"]),
    ("gla swish features, no output gate, no norm affine", "gla",
     ["--gla.feature_map", "swish", "--gla.output_gate", "false", "--gla.norm_affine", "false",
      "--gla.gate_logit_normalizer", "2"]),
    ("gla layer norm without affine, expand_v 2", "gla",
     ["--gla.norm", "layer", "--gla.norm_affine", "false", "--gla.n_heads", "1", "--gla.expand_v", "2"]),
    ("rwkv7", "rwkv7", []),
    ("rwkv7 4 heads, small LoRAs", "rwkv7",
     ["--rwkv7.head_size", "8", "--rwkv7.decay_lora", "4", "--rwkv7.a_lora", "3", "--rwkv7.gate_lora", "5"]),
    ("deltanet", "deltanet", []),
    ("deltanet gate, conv bias, conv 2", "deltanet",
     ["--deltanet.use_gate", "true", "--deltanet.conv_bias", "true", "--deltanet.conv_size", "2"]),
    ("deltanet no short conv, no beta, negative eigenvalues, expand_v 2", "deltanet",
     ["--deltanet.short_conv", "false", "--deltanet.use_beta", "false", "--deltanet.allow_neg_eigval", "true",
      "--deltanet.n_heads", "2", "--deltanet.expand_v", "2"]),
    ("deltanet head_dim 3", "deltanet", ["--deltanet.head_dim", "3", "--deltanet.n_heads", "2"]),
    ("gated_deltanet", "gated_deltanet", []),
    ("gated_deltanet no gate, no short conv", "gated_deltanet",
     ["--gated_deltanet.use_gate", "false", "--gated_deltanet.short_conv", "false"]),
    ("gated_deltanet negative eigenvalues, conv bias, conv 3, A in [1, 2]", "gated_deltanet",
     ["--gated_deltanet.allow_neg_eigval", "true", "--gated_deltanet.conv_bias", "true",
      "--gated_deltanet.conv_size", "3", "--gated_deltanet.A_init_min", "1", "--gated_deltanet.A_init_max", "2"]),
    ("baseconv (implicit filter)", "baseconv", []),
    ("baseconv explicit filter", "baseconv", ["--baseconv.filter", "explicit"]),
    ("baseconv no conv skip, no residual, direct", "baseconv",
     ["--baseconv.conv_skip", "false", "--baseconv.residual", "false", "--baseconv.conv", "direct"]),
    ("baseconv d_emb 5, d_hidden 4, fft", "baseconv",
     ["--baseconv.d_emb", "5", "--baseconv.d_hidden", "4", "--baseconv.conv", "fft"]),
    ("h3", "h3", []),
    ("h3 head_dim 2, fft", "h3", ["--h3.head_dim", "2", "--h3.conv", "fft"]),
    ("h3 d_state 5, head_dim 4", "h3", ["--h3.d_state", "5", "--h3.head_dim", "4"]),
    ("hyena", "hyena", []),
    ("hyena no modulation, fft", "hyena", ["--hyena.modulate", "false", "--hyena.conv", "fft"]),
    ("hyena fixed positions, short filter 1, direct", "hyena",
     ["--hyena.train_positions", "false", "--hyena.short_filter_order", "1", "--hyena.conv", "direct"]),
    ("hyena filter_order 5, no inner MLPs, emb_dim 5, frequency 3", "hyena",
     ["--hyena.filter_order", "5", "--hyena.num_inner_mlps", "0", "--hyena.emb_dim", "5",
      "--hyena.frequency", "3"]),
    # The other forms and several chunks (T = 32 fits in one default 64-token chunk): one function each
    # in mixlab, computed by other code, so every form is held to the same port.
    ("retnet parallel form", "retnet", ["--retnet.form", "parallel"]),
    ("retnet recurrent form", "retnet", ["--retnet.form", "recurrent"]),
    ("retnet chunks of 5", "retnet", ["--retnet.chunk_size", "5"]),
    ("mamba2 recurrent form", "mamba2", ["--mamba2.form", "recurrent"]),
    ("mamba2 chunks of 7", "mamba2", ["--mamba2.chunk_size", "7"]),
    ("rwkv6 chunked form, chunks of 8 in sub-chunks of 4", "rwkv6",
     ["--rwkv6.form", "chunked", "--rwkv6.chunk_size", "8", "--rwkv6.sub_chunk", "4"]),
    ("rwkv6 recurrent form, small LoRAs, ffn_hidden 40", "rwkv6",
     ["--rwkv6.form", "recurrent", "--rwkv6.mix_lora", "3", "--rwkv6.decay_lora", "5", "--rwkv6.ffn_hidden", "40"]),
    ("rwkv6 fused, chunks of 8", "rwkv6", ["--rwkv6.chunk_size", "8"]),
    ("gla recurrent form", "gla", ["--gla.form", "recurrent"]),
    ("gla chunks of 5", "gla", ["--gla.chunk_size", "5"]),
    ("rwkv7 recurrent form", "rwkv7", ["--rwkv7.form", "recurrent"]),
    ("rwkv7 fused, chunks of 5", "rwkv7", ["--rwkv7.chunk_size", "5"]),
    ("deltanet recurrent form", "deltanet", ["--deltanet.form", "recurrent"]),
    ("deltanet composed form, chunks of 5", "deltanet", ["--deltanet.form", "composed", "--deltanet.chunk_size", "5"]),
    ("deltanet chunks of 6", "deltanet", ["--deltanet.chunk_size", "6"]),
    ("gated_deltanet recurrent form", "gated_deltanet", ["--gated_deltanet.form", "recurrent"]),
    ("gated_deltanet composed form, chunks of 5", "gated_deltanet",
     ["--gated_deltanet.form", "composed", "--gated_deltanet.chunk_size", "5"]),
    ("gated_deltanet chunks of 6", "gated_deltanet", ["--gated_deltanet.chunk_size", "6"]),
    # performer's Ω seed is the init stream's offset when it is built (torch_model.init_draws): each
    # port's init_draws() must count its mixlab constructor's draws, every drawing branch switched on.
    ("performer after mamba2", "mamba2, performer",
     ["--mamba2.ngroups", "2", "--mamba2.d_state", "8", "--mamba2.headdim", "8", "--performer.nb_features", "12"]),
    ("performer after rwkv6 (channel mix)", "rwkv6, performer",
     ["--rwkv6.head_size", "8", "--rwkv6.mix_lora", "3", "--rwkv6.decay_lora", "5", "--rwkv6.ffn_hidden", "40",
      "--performer.nb_features", "12"]),
    ("performer after rwkv6 without channel mix", "rwkv6, performer",
     ["--rwkv6.channel_mix", "false", "--rwkv6.mix_lora", "4", "--rwkv6.decay_lora", "6",
      "--performer.nb_features", "12"]),
    ("performer after gla (layer norm, gate bias)", "gla, performer",
     ["--gla.norm", "layer", "--gla.gate_bias", "true", "--gla.n_heads", "2", "--gla.gate_low_rank_dim", "4",
      "--performer.nb_features", "12"]),
    ("performer after gla without output gate", "gla, performer",
     ["--gla.output_gate", "false", "--gla.gate_low_rank_dim", "4", "--performer.nb_features", "12"]),
    ("performer after rwkv7", "rwkv7, performer",
     ["--rwkv7.head_size", "8", "--rwkv7.decay_lora", "4", "--rwkv7.a_lora", "3", "--rwkv7.gate_lora", "5",
      "--performer.nb_features", "12"]),
    ("performer after deltanet (gate, conv bias)", "deltanet, performer",
     ["--deltanet.use_gate", "true", "--deltanet.conv_bias", "true", "--deltanet.n_heads", "2",
      "--performer.nb_features", "12"]),
    ("performer after deltanet, no beta, no conv", "deltanet, performer",
     ["--deltanet.use_beta", "false", "--deltanet.short_conv", "false", "--performer.nb_features", "12"]),
    ("performer after gated_deltanet (conv bias)", "gated_deltanet, performer",
     ["--gated_deltanet.conv_bias", "true", "--gated_deltanet.n_heads", "2", "--performer.nb_features", "12"]),
    ("performer after gated_deltanet, no gate/conv", "gated_deltanet, performer",
     ["--gated_deltanet.use_gate", "false", "--gated_deltanet.short_conv", "false",
      "--performer.nb_features", "12"]),
    ("performer after h3", "h3, performer", ["--h3.d_state", "6", "--h3.head_dim", "4", "--performer.nb_features", "12"]),
    ("performer after hyena (trained positions)", "hyena, performer",
     ["--hyena.filter_order", "8", "--hyena.num_inner_mlps", "1", "--hyena.emb_dim", "5",
      "--performer.nb_features", "12"]),
    ("performer after hyena (fixed positions)", "hyena, performer",
     ["--hyena.filter_order", "6", "--hyena.train_positions", "false", "--hyena.short_filter_order", "2",
      "--performer.nb_features", "12"]),
    ("performer after retnet, baseconv", "retnet, baseconv, performer",
     ["--model.n_layers", "3", "--retnet.n_heads", "2", "--baseconv.filter", "explicit",
      "--performer.nb_features", "12"]),
]
