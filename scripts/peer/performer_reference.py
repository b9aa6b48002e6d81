#!/usr/bin/env python3
"""Reference outputs of FAVOR+ attention for one small fixed input, pinned in
tests/layers/test_performer_reference.cpp.

Written from the equations of performer-pytorch (lucidrains,
performer_pytorch/performer_pytorch.py: softmax_kernel, generalized_kernel,
linear_attention, causal_linear_attention) and the FAVOR+ paper (Choromanski
et al. 2021), in plain Python floats (IEEE double), so it needs nothing but
the standard library and shares no code with mixlab. Run it and paste its
output into the test when the conventions below change on purpose:

  softmax kernel, x̂ = d^(-1/4) x, p = x̂ Ωᵀ, h = |x̂|²/2, ratio = M^(-1/2):
    query  φ(q) = ratio (exp(p - h - max_r p_r) + feature_eps)   (max over its own features)
    key    φ(k) = ratio (exp(p - h - c) + feature_eps)           (c = max of p over tokens and features)
  relu kernel: φ(x) = relu(p) + 0.001
  bidirectional: o_t = Σ_s (φq_t·φk_s) v_s / Σ_s φq_t·φk_s          (no denominator eps)
  causal:        o_t = Σ_{s≤t} (φq_t·φk_s) v_s / φq_t·(Σ_{s≤t} φk_s + eps)
  y = W_o o + b_o, q/k/v = W x + b.

performer-pytorch's causal form takes c over the whole sequence it is given;
its generation reruns the model on the prefix, so the output at position t of
a sequence it generates is the causal form run on tokens 0..t. That (c over
the prefix) is what `causal_prefix` computes and what mixlab's causal
performer reproduces; `causal_whole` is the training forward with c over all
tokens, printed for comparison.
"""
import math

D, T, M = 4, 5, 3  # one head: d = D
FEATURE_EPS, EPS = 1e-4, 1e-6


def table(rows, cols, scale, freq, phase, fn=math.sin):
    return [[scale * fn(freq * (r * cols + c) + phase) for c in range(cols)] for r in range(rows)]


# The fixed input; tests/layers/test_performer_reference.cpp builds the same.
X = table(T, D, 1.0, 1.3, 0.5)
WQ, BQ = table(D, D, 0.6, 0.9, 1.1), table(1, D, 0.1, 1.0, 0.2, math.cos)[0]
WK, BK = table(D, D, 2.0, 0.8, 2.3), table(1, D, 0.1, 1.0, 0.9, math.cos)[0]  # large keys, as trained ones
WV, BV = table(D, D, 0.7, 1.7, 0.3, math.cos), table(1, D, 0.1, 1.0, 1.6, math.cos)[0]
WO, BO = table(D, D, 0.5, 2.1, 0.7), table(1, D, 0.1, 1.0, 2.4, math.cos)[0]
OMEGA = table(M, D, 1.2, 1.9, 0.4)


def linear(w, b, x):
    return [sum(w[o][i] * x[i] for i in range(len(x))) + b[o] for o in range(len(w))]


def projected(x):
    xs = [v * D ** -0.25 for v in x]
    p = [sum(OMEGA[r][i] * xs[i] for i in range(D)) for r in range(M)]
    return p, sum(v * v for v in xs) / 2


def softmax_features(rows, is_query):
    proj = [projected(x) for x in rows]
    ratio = M ** -0.5
    if is_query:
        return [[ratio * (math.exp(p[r] - h - max(p)) + FEATURE_EPS) for r in range(M)] for p, h in proj]
    c = max(max(p) for p, _ in proj)
    return [[ratio * (math.exp(p[r] - h - c) + FEATURE_EPS) for r in range(M)] for p, h in proj]


def relu_features(rows):
    return [[max(v, 0.0) + 1e-3 for v in projected(x)[0]] for x in rows]


def attend(fq, fk, v, causal):
    out = []
    for t in range(len(fq)):
        last = t + 1 if causal else len(fk)
        num, den = [0.0] * D, 0.0
        for s in range(last):
            a = sum(fq[t][r] * fk[s][r] for r in range(M))
            num = [num[i] + a * v[s][i] for i in range(D)]
            den += a
        if causal:
            den += EPS * sum(fq[t])
        out.append([n / den for n in num])
    return out


def mixer(xs, kernel, causal):
    q = [linear(WQ, BQ, x) for x in xs]
    k = [linear(WK, BK, x) for x in xs]
    v = [linear(WV, BV, x) for x in xs]
    if kernel == "softmax":
        fq, fk = softmax_features(q, True), softmax_features(k, False)
    else:
        fq, fk = relu_features(q), relu_features(k)
    return [linear(WO, BO, o) for o in attend(fq, fk, v, causal)]


def causal_prefix(kernel):
    return [mixer(X[: t + 1], kernel, True)[t] for t in range(T)]


def show(name, rows):
    flat = ", ".join(repr(v) for row in rows for v in row)
    print(f"// {name}\n{{{flat}}}")


show("softmax, causal (key max over the prefix)", causal_prefix("softmax"))
show("softmax, bidirectional", mixer(X, "softmax", False))
show("relu, causal", causal_prefix("relu"))
show("relu, bidirectional", mixer(X, "relu", False))
whole, prefix = mixer(X, "softmax", True), causal_prefix("softmax")
diff = math.sqrt(sum((a - b) ** 2 for r, s in zip(whole, prefix) for a, b in zip(r, s)))
size = math.sqrt(sum(a * a for r in prefix for a in r))
show("softmax, causal with the key max over the whole sequence (performer-pytorch's training forward)", whole)
print(f"// relative difference whole-sequence vs prefix key max: {diff / size:.3g}")
