"""Per-seed and mean Evaluator metrics of the two loss masks, from run.sh's results.tsv, as a Markdown table."""
import csv
import json
import statistics
import sys

METRICS = ["tool_accuracy", "tc_cer", "exact_match", "argument_f1", "json_valid_rate", "schema_valid_rate", "call_rate"]
NAMES = ["tool acc", "TC-CER (lower better)", "exact match", "arg F1", "JSON valid", "schema valid", "call rate"]

rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
for r in rows:
    r["m"] = json.loads(r["metrics_json"])

print("| seed | loss on | rows | " + " | ".join(NAMES) + " | train+eval s |")
print("|---|---|---|" + "---|" * len(NAMES) + "---|")
for r in rows:
    m = r["m"]
    print(f"| {r['seed']} | {r['loss_on']} | {m.get('rows', 0)} | " + " | ".join(f"{m.get(k, 0.0):.3f}" for k in METRICS)
          + f" | {r['train_s']} |")
for arm in ("full", "completion"):
    ms = [r["m"] for r in rows if r["loss_on"] == arm]
    if not ms:
        continue
    cells = []
    for k in METRICS:
        v = [m.get(k, 0.0) for m in ms]
        sd = statistics.stdev(v) if len(v) > 1 else 0.0
        cells.append(f"{statistics.mean(v):.3f} ± {sd:.3f}")
    print(f"| **mean ± sd** | **{arm}** | | " + " | ".join(cells) + " | |")
