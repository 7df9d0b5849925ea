"""Expected cleaning outcome of every row of samples/hermes-sample.jsonl, by the reference Python rules.

    python3 tests/DataPrep.Tests/Fixtures/make_sample_expected.py > tests/DataPrep.Tests/Fixtures/sample_expected.jsonl

The rules are the plain-Python implementation of recipe.md kept by the Core tests
(tests/FunctionGemma.Core.Tests/Fixtures/make_clean_fixtures.py); this script only applies them to the sample.
One line per sample row, in file order: {"source_row", "kept", "user_content", "tool_name", "tool_arguments", "tools"}
(tools = the normalized list) or {"source_row", "kept": false, "drop"}.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
RULES = os.path.join(ROOT, "tests", "FunctionGemma.Core.Tests", "Fixtures", "make_clean_fixtures.py")

sys.path.insert(0, os.path.dirname(RULES))
from make_clean_fixtures import clean  # noqa: E402

with open(os.path.join(ROOT, "samples", "hermes-sample.jsonl"), encoding="utf-8") as f:
    for index, line in enumerate(l for l in f if l.strip()):
        outcome = clean(json.loads(line))
        if outcome["kept"]:
            out = {"source_row": index, "kept": True, "user_content": outcome["user_content"], "tool_name": outcome["tool_name"],
                   "tool_arguments": outcome["tool_arguments"], "tools": json.loads(outcome["tools_json"])}
        else:
            out = {"source_row": index, "kept": False, "drop": outcome["drop"]}
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")

# sample-written-by-pyarrow.parquet (beside this script) is the sample as pyarrow 25 writes it with the Hub dataset's
# schema (conversations: list<struct<from, value>>, string columns, 64-row row groups), made on a machine with pyarrow:
#   table = pa.Table.from_pylist(rows_with_tools_as_json_text, schema=...); pq.write_table(table, path, row_group_size=64)
# It proves HermesFiles reads parquet as Hugging Face writes it, not only as Parquet.Net writes it.
