"""PythonJson/PythonText fixtures: json.dumps(ensure_ascii=False), str() and repr() of values parsed by json.loads.

    python3 make_json_fixtures.py > json_cases.json

Each case keeps the JSON source text; the C# side parses the same text and must print the same bytes.
"""
import json
import random
import struct
import sys

sources = [
    '1.0', '1e-5', '1E16', '1e15', '123456789012345678901234567890', '-0', '-0.0', '0.1', '1.5e300', '2.5E-7', '100.0', '1e22',
    '123456789.123456789', '0.0001', '0.00001', '1e16', '9999999999999998', '1e400', '-1e400', '5e-324', '1.7976931348623157e308',
    '0.30000000000000004', '12345678901234567', '1234567890123456.7', '3.14159', '-2.5e-5', '1e+2', '1.000', '-12',
    'true', 'false', 'null', '""', '"a\\"b\\\\c"', '"\\u0000\\u0001\\b\\f\\n\\r\\t\\u001f\\u007f\\u0080\\u2028\\u2029\\ufeff"',
    '"München 東京 🌧 \\ud83d\\ude00"', '"it\'s"', '"both \' and \\""', '"\\u00a0nbsp \\u3000 ideographic"',
    '[]', '{}', '[1, [2, [3, {}]]]', '{"b": 1, "a": [1.5, "x", null, true], "c": {"d": {}}}', '{"k": 1, "k": 2}',
    '{"é": "\\u00e9", "🔑": ["\\u200b"]}',
    'NaN', 'Infinity', '-Infinity', '[NaN, {"a": -Infinity}]', ' \t\n\r [1 , 2 ]\n', '"\\/"', '-0.0e0', '1E+0', '0e-0',
]
rnd = random.Random(11)
for _ in range(300):
    bits = rnd.getrandbits(64)
    d = struct.unpack("<d", struct.pack("<Q", bits))[0]
    if d == d and d not in (float("inf"), float("-inf")):
        sources.append(repr(d))
for _ in range(100):
    sources.append(repr(rnd.uniform(-1e6, 1e6)))
    sources.append(repr(rnd.random() * 10 ** rnd.randint(-30, 30)))

out = []
for s in sources:
    v = json.loads(s)
    out.append({"source": s, "dumps": json.dumps(v, ensure_ascii=False), "str": str(v), "repr": repr(v)})
json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
