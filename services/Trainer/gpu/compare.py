import json, sys
def load(p):
    m = {}
    for line in open(p):
        line = line.strip()
        if not line.startswith("{"): continue
        e = json.loads(line)
        if "metrics" in e: m[int(e["metrics"]["step"])] = e["metrics"]
    return m
a, b = load(sys.argv[1]), load(sys.argv[2])
def tps(m, skip=10):
    steps = [s for s in sorted(m) if s > skip]
    tok = sum(int(m[s].get("tokens", 0)) for s in steps); sec = sum(m[s].get("seconds", 0) for s in steps)
    return tok / sec if sec else 0, (sum(m[s].get("mfu", 0) for s in steps) / len(steps) if steps else 0)
ta, ma = tps(a); tb, mb = tps(b)
print(f"1 GPU: {ta:,.0f} tok/s (MFU {ma:.3f}); 2 GPUs: {tb:,.0f} tok/s (MFU/GPU {mb:.3f}); scaling {tb/ta if ta else 0:.3f}x")
common = sorted(set(a) & set(b))
diffs = [abs(a[s]["loss"] - b[s]["loss"]) for s in common]
for s in common:
    print(f"step {s:3d}  loss 1gpu {a[s]['loss']:.4f}  2gpu {b[s]['loss']:.4f}  diff {a[s]['loss']-b[s]['loss']:+.4f}  gn {a[s].get('grad_norm',0):.3f}/{b[s].get('grad_norm',0):.3f}")
if diffs: print(f"max |loss diff| {max(diffs):.4f}, mean {sum(diffs)/len(diffs):.4f} over {len(diffs)} steps")
