"""The engine's nn form against PyTorch CPU, in process, 1 thread: what the server runs for nn.Linear models.

Per-op timings (relu, cross_entropy, linear forward and forward+backward with (out, in) weights) and
training steps: Linear layers via ``engine.apply("linear", x, w, b)``, relu, cross_entropy, backward,
the server's Optimizer (SGD or Adam; OPTS="sgd adam"), against nn.Linear / F.cross_entropy / torch.optim.
Each line: min/median microseconds of engine and torch (interleaved), ratio of the minima; "engC" is
the engine with linear's small-batch F-ordered formulation turned off (nn._SMALL_BATCH = 0).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_engine_nn.py [micro] [BATCH ...] [digits] [cnn]
"""
import os, sys, time, statistics
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np, torch
torch.set_num_threads(1)
from gradwire_server.engine import Engine, no_grad
from gradwire_server.engine.optim import Optimizer, Group

def timeit(fns, repeats=15, inner=20):
    res = {k: [] for k in fns}
    for k, f in fns.items():
        for _ in range(3): f()
    for r in range(repeats):
        for k, f in (fns.items() if r % 2 == 0 else reversed(list(fns.items()))):
            t = time.perf_counter()
            for _ in range(inner): f()
            res[k].append((time.perf_counter() - t) / inner * 1e6)
    return {k: (min(v), statistics.median(v)) for k, v in res.items()}

def mlp(batch, sizes, opt="sgd", lr=0.01):
    eng = Engine(device="cpu")
    torch.manual_seed(0)
    layers = [torch.nn.Linear(a, b) for a, b in zip(sizes, sizes[1:])]
    model = torch.nn.Sequential(*sum(([l, torch.nn.ReLU()] for l in layers), [])[:-1])
    params = []
    for l in layers:
        params += [eng.tensor(l.weight.detach().numpy().copy(), requires_grad=True), eng.tensor(l.bias.detach().numpy().copy(), requires_grad=True)]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, sizes[0]), dtype=np.float32); y = rng.integers(0, sizes[-1], batch)
    xe, ye = eng.tensor(x), eng.tensor(y)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    o = Optimizer(opt, eng.xp)
    kw = dict(lr=lr) if opt == "sgd" else dict(lr=1e-3)
    topt = torch.optim.SGD(model.parameters(), lr=lr) if opt == "sgd" else torch.optim.Adam(model.parameters(), lr=1e-3)
    def estep():
        h = xe
        for i in range(0, len(params), 2):
            h = eng.apply("linear", h, params[i], params[i + 1])
            if i + 2 < len(params):
                h = eng.apply("relu", h)
        loss = eng.apply("cross_entropy", h, ye)
        loss.backward()
        o.step([Group(params=list(enumerate(params)), **kw)])
        for p in params: p.grad = None
        return loss.item()
    def tstep():
        loss = torch.nn.functional.cross_entropy(model(xt), yt)
        loss.backward(); topt.step(); topt.zero_grad(set_to_none=True)
        return loss.item()
    for _ in range(3):
        a, b = estep(), tstep()
        assert abs(a - b) < 1e-3 * max(1, abs(b)), (a, b)
    from gradwire_server.engine import nn as enn
    def estep_c():
        old = enn._SMALL_BATCH; enn._SMALL_BATCH = 0
        try: return estep()
        finally: enn._SMALL_BATCH = old
    fns = {"engine": estep, "torch": tstep}
    if hasattr(enn, "_SMALL_BATCH"): fns["engC"] = estep_c
    return timeit(fns, inner=max(2, 20 * 64 // batch))

def cnn(batch=32):
    """examples/train_digits.py's CNN (without dropout) on 8x8 images, Adam."""
    eng = Engine(device="cpu")
    torch.manual_seed(0)
    c1, c2, fc = torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.Linear(128, 10)
    model = torch.nn.Sequential(c1, torch.nn.ReLU(), torch.nn.MaxPool2d(2), c2, torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(), fc)
    params = [eng.tensor(p.detach().numpy().copy(), requires_grad=True) for p in model.parameters()]
    rng = np.random.default_rng(0)
    x = rng.random((batch, 1, 8, 8), dtype=np.float32); y = rng.integers(0, 10, batch)
    xe, ye, xt, yt = eng.tensor(x), eng.tensor(y), torch.from_numpy(x), torch.from_numpy(y)
    o, topt = Optimizer("adam", eng.xp), torch.optim.Adam(model.parameters(), lr=1e-3)
    def estep():
        h = eng.apply("conv2d", xe, params[0], params[1], padding=1)
        h = eng.apply("max_pool2d", eng.apply("relu", h), kernel_size=2)
        h = eng.apply("conv2d", h, params[2], params[3], padding=1)
        h = eng.apply("max_pool2d", eng.apply("relu", h), kernel_size=2)
        h = eng.apply("linear", h.reshape(batch, -1), params[4], params[5])
        loss = eng.apply("cross_entropy", h, ye)
        loss.backward()
        o.step([Group(params=list(enumerate(params)), lr=1e-3)])
        for p in params: p.grad = None
        return loss.item()
    def tstep():
        loss = torch.nn.functional.cross_entropy(model(xt), yt)
        loss.backward(); topt.step(); topt.zero_grad(set_to_none=True)
        return loss.item()
    for _ in range(3):
        a, b = estep(), tstep()
        assert abs(a - b) < 1e-3 * max(1, abs(b)), (a, b)
    return timeit({"engine": estep, "torch": tstep}, inner=20)


def micro():
    eng = Engine(device="cpu")
    rng = np.random.default_rng(0)
    out = {}
    a = rng.standard_normal((64, 256), dtype=np.float32)
    ae = eng.tensor(a, requires_grad=True); at = torch.tensor(a, requires_grad=True)
    out["relu fwd (64,256)"] = timeit({"engine": lambda: eng.apply("relu", ae), "torch": lambda: torch.relu(at)}, inner=200)
    s = rng.standard_normal((64, 10), dtype=np.float32); y = rng.integers(0, 10, 64)
    se = eng.tensor(s, requires_grad=True); st = torch.tensor(s, requires_grad=True); ye = eng.tensor(y); yt = torch.from_numpy(y)
    out["cross_entropy fwd (64,10)"] = timeit({"engine": lambda: eng.apply("cross_entropy", se, ye), "torch": lambda: torch.nn.functional.cross_entropy(st, yt)}, inner=200)
    def ceb_e():
        eng.apply("cross_entropy", se, ye).backward(); se.grad = None
    def ceb_t():
        torch.nn.functional.cross_entropy(st, yt).backward(); st.grad = None
    out["cross_entropy fwd+bwd (64,10)"] = timeit({"engine": ceb_e, "torch": ceb_t}, inner=200)
    for (n, i, o) in [(32, 64, 256), (64, 784, 256), (64, 256, 256), (1024, 784, 256)]:
        x = rng.standard_normal((n, i), dtype=np.float32); w = rng.standard_normal((o, i), dtype=np.float32); b = rng.standard_normal(o, dtype=np.float32)
        xe, we, be = eng.tensor(x), eng.tensor(w, requires_grad=True), eng.tensor(b, requires_grad=True)
        xt, wt, bt = torch.from_numpy(x), torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)
        inner = max(2, 64 * 50 // n)
        out[f"linear fwd ({n},{i})x({o},{i})"] = timeit({"engine": lambda: eng.apply("linear", xe, we, be), "torch": lambda: torch.nn.functional.linear(xt, wt, bt)}, inner=inner)
        xe2, xt2 = eng.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        g = rng.standard_normal((n, o), dtype=np.float32)
        def lb_e():
            eng.apply("linear", xe2, we, be).backward(eng.tensor(g)); xe2.grad = we.grad = be.grad = None
        gt = torch.from_numpy(g)
        def lb_t():
            torch.nn.functional.linear(xt2, wt, bt).backward(gt); xt2.grad = wt.grad = bt.grad = None
        out[f"linear fwd+bwd ({n},{i})x({o},{i})"] = timeit({"engine": lb_e, "torch": lb_t}, inner=inner)
    return out

if __name__ == "__main__":
    what = sys.argv[1:] or ["micro", "64", "1024", "digits"]
    for w in what:
        if w == "micro":
            for k, v in micro().items():
                print(f"{k:40s} engine {v['engine'][0]:8.1f}/{v['engine'][1]:8.1f} us  torch {v['torch'][0]:8.1f}/{v['torch'][1]:8.1f} us  ratio(min) {v['engine'][0]/v['torch'][0]:.2f}")
        elif w == "cnn":
            v = cnn()
            print(f"{'digits cnn b32 adam':40s} engine {v['engine'][0]:8.1f}/{v['engine'][1]:8.1f} us  torch {v['torch'][0]:8.1f}/{v['torch'][1]:8.1f} us  ratio(min) {v['engine'][0]/v['torch'][0]:.2f}")
        elif w == "digits":
            v = mlp(32, [64, 256, 10], "adam")
            print(f"{'mlp 64-256-10 b32 adam':40s} engine {v['engine'][0]:8.1f}/{v['engine'][1]:8.1f} us  torch {v['torch'][0]:8.1f}/{v['torch'][1]:8.1f} us  ratio(min) {v['engine'][0]/v['torch'][0]:.2f}" + (f"  engC {v['engC'][0]:.1f}/{v['engC'][1]:.1f} ratio {v['engC'][0]/v['torch'][0]:.2f}" if 'engC' in v else ""))
        else:
            b = int(w)
            for opt in (os.environ.get("OPTS", "sgd").split()):
                v = mlp(b, [784, 256, 256, 10], opt)
                print(f"{f'mlp nn b{b} {opt}':40s} engine {v['engine'][0]:8.1f}/{v['engine'][1]:8.1f} us  torch {v['torch'][0]:8.1f}/{v['torch'][1]:8.1f} us  ratio(min) {v['engine'][0]/v['torch'][0]:.2f}" + (f"  engC {v['engC'][0]:.1f}/{v['engC'][1]:.1f} ratio {v['engC'][0]/v['torch'][0]:.2f}" if 'engC' in v else ""))
