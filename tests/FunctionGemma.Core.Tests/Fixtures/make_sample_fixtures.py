"""End-to-end fixtures on the repository's sample rows: Python reference cleaning (make_clean_fixtures.py) and the
real Jinja chat template (make_template_fixtures.py) give each kept row's full training text, prompt + target.

    python3 make_sample_fixtures.py [samples/hermes-sample.jsonl] > sample_cases.json

Rows are copied into the fixture so it does not change when the sample file does.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_clean_fixtures import clean  # noqa: E402
from make_template_fixtures import template  # noqa: E402

DEVELOPER = "You are a model that can do function calling with the following functions"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "..", "samples", "hermes-sample.jsonl")
    out = []
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if not line.strip():
                continue
            row = json.loads(line)
            expected = clean(row)
            if expected["kept"]:
                tools = json.loads(expected["tools_json"])
                messages = [{"role": "developer", "content": DEVELOPER}, {"role": "user", "content": expected["user_content"]}]
                prompt = template.render(messages=messages, tools=tools, add_generation_prompt=True, bos_token="<bos>")
                target = ("<start_function_call>call:" + expected["tool_name"] + "{args:<escape>" + expected["tool_arguments"]
                          + "<escape>}<end_function_call>")
                expected["text"] = prompt + target
            out.append({"line": i, "row_json": line.rstrip("\n"), "expected": expected})
    # one case per line keeps diffs readable
    sys.stdout.write("[\n" + ",\n".join(json.dumps(c, ensure_ascii=False) for c in out) + "\n]\n")


if __name__ == "__main__":
    main()
