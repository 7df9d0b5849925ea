"""CER fixtures: what evaluate.load("cer").compute(predictions, references) returns with jiwer >= 4.

    python3 make_cer_fixtures.py > cer_cases.json

jiwer is not installed anywhere we run, so this is a faithful plain-Python copy of its arithmetic:
evaluate's cer.py (no jiwer.compute_measures) sums, per pair, S+D+I and S+D+H of
jiwer.process_characters(reference, prediction); the default transform cer_default is Strip() then
ReduceToListOfListOfChars() (str.strip(), then list(s) = code points). S+D+I of rapidfuzz's optimal
alignment is the unit-cost Levenshtein distance; S+D+H is len(reference). jiwer raises ValueError when a
reference is empty, or empty after stripping: such cases are stored with "error": true.
"""
import json
import random
import sys


def levenshtein(a, b):
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1]))
        prev = cur
    return prev[len(b)]


def cer(references, predictions):
    incorrect = total = 0
    for prediction, reference in zip(predictions, references):
        if len(reference) == 0:
            raise ValueError("one or more references are empty strings")
        ref, hyp = list(reference.strip()), list(prediction.strip())
        if not ref:
            raise ValueError("After applying the transformation, each reference should be a non-empty list of strings")
        incorrect += levenshtein(ref, hyp)
        total += len(ref)
    return incorrect / total


G = '<start_function_call>call:get_weather{args:<escape>{"city": "Paris"}<escape>}<end_function_call>'
cases = [
    ("evaluate_docstring_example", ["this is the reference", "there is another one"], ["this is the prediction", "there is an other sample"]),
    ("identical", [G], [G]),
    ("empty_prediction", [G], [""]),
    ("whitespace_stripped_both_sides", ["  abc \n"], ["\tabc"]),
    ("inner_spaces_kept", ["a b"], ["a    b"]),
    ("unicode_code_points", ["München 東京 🌧"], ["Munchen 東京 ☀"]),
    ("astral_counts_one", ["🌧🌧"], ["🌧"]),
    ("combining_marks", ["e\u0301"], ["é"]),
    ("insertions_exceed_one", ["ab"], ["abcdefgh"]),
    ("corpus_not_mean", ["a", "abcdefghij"], ["b", "abcdefghij"]),
    ("tool_calls", [G, G.replace("Paris", "Rome")], [G.replace("Paris", "Pariss"), '<start_function_call>call:get_weather{city:<escape>Rome<escape>}<end_function_call>']),
    ("unicode_whitespace_strip", ["\u3000abc\u00a0"], ["abc"]),
    ("empty_reference", [""], ["abc"]),
    ("whitespace_only_reference", ["  \n"], ["abc"]),
]
rnd = random.Random(7)
alphabet = "ab{}:<>\"_ é東🌧"
for k in range(20):
    refs = ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 30))).strip() or "x" for _ in range(rnd.randint(1, 5))]
    preds = ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 30))) for _ in refs]
    cases.append((f"random_{k}", refs, preds))

out = []
for name, refs, preds in cases:
    try:
        out.append({"name": name, "references": refs, "predictions": preds, "error": False, "cer": cer(refs, preds)})
    except ValueError as e:
        out.append({"name": name, "references": refs, "predictions": preds, "error": True, "cer": None, "message": str(e)})
json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
