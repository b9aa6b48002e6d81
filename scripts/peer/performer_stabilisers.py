#!/usr/bin/env python3
"""How well each causal FAVOR+ key stabiliser approximates exact causal
softmax attention as key norms grow (trained keys are large), in plain
Python floats. Prints the relative error ‖o − o_exact‖/‖o_exact‖ of
  reference: keys stabilised by the prefix max of p = Ω x̂ (performer-pytorch),
             feature_eps (1e-4) added unscaled, eps 1e-6 on the key sums
  shifted:   keys by the prefix max of p − ‖x̂‖²/2, each key's feature
             (feature_eps included) rescaled by exp(c_s − c_t)
for Gaussian q, k of standard deviation sigma (v Gaussian, d 16, M = int(d ln d),
T 64, orthogonal features with Gaussian-norm rows), averaged over seeds.
Quoted in docs/mixers.md (performer)."""
import math
import random

D, T = 16, 64
M = int(D * math.log(D))
FEPS, EPS = 1e-4, 1e-6


def orthogonal_features(rng):
    rows = []
    while len(rows) < M:
        block = []
        for _ in range(D):
            r = [rng.gauss(0, 1) for _ in range(D)]
            for b in block:
                dot = sum(x * y for x, y in zip(r, b))
                r = [x - dot * y for x, y in zip(r, b)]
            n = math.sqrt(sum(x * x for x in r))
            block.append([x / n for x in r])
        rows.extend(block[: M - len(rows)])
    out = []
    for r in rows:
        s = math.sqrt(sum(rng.gauss(0, 1) ** 2 for _ in range(D)))
        out.append([s * x for x in r])
    return out


def project(omega, x):
    xs = [v * D ** -0.25 for v in x]
    return [sum(w * y for w, y in zip(row, xs)) for row in omega], sum(y * y for y in xs) / 2


def favor(omega, q, k, v, shifted):
    ratio = M ** -0.5
    fq = []
    for x in q:
        p, h = project(omega, x)
        fq.append([ratio * (math.exp(pi - h - max(p)) + FEPS) for pi in p])
    pk = [project(omega, x) for x in k]
    out, c, running = [], -1e300, []
    for p, h in pk:
        c = max(c, max((pi - h) if shifted else pi for pi in p))
        running.append(c)
    for t in range(T):
        ct = running[t]
        num, den = [0.0] * D, 0.0
        for s in range(t + 1):
            p, h = pk[s]
            if shifted:
                f = [ratio * (math.exp(pi - h - running[s]) + FEPS) * math.exp(running[s] - ct) for pi in p]
            else:
                f = [ratio * (math.exp(pi - h - ct) + FEPS) for pi in p]
            a = sum(x * y for x, y in zip(fq[t], f))
            num = [n + a * y for n, y in zip(num, v[s])]
            den += a
        den += EPS * sum(fq[t])
        out.append([n / den for n in num])
    return out


def exact(q, k, v):
    out = []
    for t in range(T):
        s = [sum(x * y for x, y in zip(q[t], k[j])) / math.sqrt(D) for j in range(t + 1)]
        m = max(s)
        w = [math.exp(x - m) for x in s]
        z = sum(w)
        out.append([sum(w[j] * v[j][i] for j in range(t + 1)) / z for i in range(D)])
    return out


def rel(a, b):
    num = sum((x - y) ** 2 for r, s in zip(a, b) for x, y in zip(r, s))
    return math.sqrt(num / sum(y * y for s in b for y in s))


print(f"d {D}, M {M}, T {T}; relative error against exact causal softmax attention, mean of 3 seeds")
print("sigma  mean h  reference  shifted")
for sigma in [0.5, 1.0, 1.5, 2.0, 2.5]:
    errs = {False: 0.0, True: 0.0}
    hs = 0.0
    for seed in range(3):
        rng = random.Random(seed)
        omega = orthogonal_features(rng)
        q = [[rng.gauss(0, sigma) for _ in range(D)] for _ in range(T)]
        k = [[rng.gauss(0, sigma) for _ in range(D)] for _ in range(T)]
        v = [[rng.gauss(0, 1) for _ in range(D)] for _ in range(T)]
        hs += sum(project(omega, x)[1] for x in k) / T / 3
        o = exact(q, k, v)
        for shifted in (False, True):
            errs[shifted] += rel(favor(omega, q, k, v, shifted), o) / 3
    print(f"{sigma:5.1f}  {hs:6.2f}  {errs[False]:9.3f}  {errs[True]:7.3f}")
