"""Cleaning fixtures: a plain-Python implementation of recipe.md "Cleaning rules" run over adversarial Hermes rows.

    python3 make_clean_fixtures.py > clean_cases.json

Each case stores the raw row as JSON text (what HermesRow.FromJson reads) and the expected outcome:
{"kept": true, "user_content", "tool_name", "tool_arguments", "tools_json"} or {"kept": false, "drop": reason}.
"""
import json
import re
import sys

# ---- reference rules (recipe.md), written from its text -------------------------------------------------------


def tool_list(raw):
    """Rule 1."""
    if isinstance(raw, list):
        lst = raw
    elif isinstance(raw, str):
        s = raw.strip()
        if not s:
            return []
        try:
            parsed = json.loads(s)
        except ValueError:
            return []
        lst = parsed if isinstance(parsed, list) else []
    else:
        return []
    return [t for t in lst if isinstance(t, dict)]


def parse_type(t):
    """Rule 3."""
    if t is None:
        return {"type": "string"}
    if isinstance(t, dict):
        return t if "type" in t else {"type": "object"}
    if isinstance(t, list):
        return {"type": "array"}
    if not isinstance(t, str):
        return {"type": "string"}
    s = t.strip()
    low = s.lower()
    simple = {"str": "string", "string": "string", "int": "integer", "integer": "integer",
              "float": "number", "number": "number", "bool": "boolean", "boolean": "boolean",
              "dict": "object", "object": "object", "list": "array", "array": "array"}
    if low in simple:
        return {"type": simple[low]}
    m = re.match(r"^List\[(.+)\]$", s)
    if m:
        return {"type": "array", "items": parse_type(m.group(1))}
    m = re.match(r"^Dict\[(.+),\s*(.+)\]$", s)
    if m:
        return {"type": "object", "additionalProperties": parse_type(m.group(2))}
    return {"type": "string"}


def normalize_tool(t):
    """Rule 2."""
    params = t.get("parameters")
    if isinstance(params, dict) and "type" in params and "properties" in params:
        schema = dict(params)
        if "required" not in schema:
            schema["required"] = []
    else:
        props, required = {}, []
        if isinstance(params, dict):
            for pname, spec in params.items():
                if spec is None:
                    spec = {}
                if isinstance(spec, dict):
                    desc, typ = spec.get("description", ""), spec.get("type", "str")
                else:
                    desc, typ = "", "str"
                prop = dict(parse_type(typ))
                if desc:
                    prop["description"] = desc
                props[pname] = prop
                required.append(pname)
        schema = {"type": "object", "properties": props, "required": required}
    return {"type": "function", "function": {"name": t.get("name"), "description": t.get("description", ""), "parameters": schema}}


TOOL_CALL = re.compile(r"<tool_call>\s*(\{.*?\})\s*</tool_call>", re.S)


def role_of(turn):
    r = turn.get("from") if isinstance(turn, dict) else None
    return (r if isinstance(r, str) else "").strip().lower()


def value_of(turn):
    v = turn.get("value") if isinstance(turn, dict) else None
    return v if isinstance(v, str) else ""


def gold_call(turns, task):
    """Rule 4."""
    task = (task if isinstance(task, str) else "").strip()
    start = None
    if task:
        for i, t in enumerate(turns):
            if role_of(t) in ("human", "user"):
                v = value_of(t).strip()
                if v == task or task in v or v in task:
                    start = i
                    break
    if start is None:
        for i in range(len(turns) - 1, -1, -1):
            if role_of(turns[i]) in ("human", "user"):
                start = i
                break
    if start is None:
        return None
    for j in range(start + 1, len(turns)):
        r = role_of(turns[j])
        if r in ("human", "user"):
            break
        if r not in ("gpt", "assistant", "model"):
            continue
        m = TOOL_CALL.search(value_of(turns[j]))
        if not m:
            continue
        try:
            obj = json.loads(m.group(1))
        except ValueError:
            continue
        if isinstance(obj, dict) and "name" in obj and "arguments" in obj:
            return obj
    return None


def clean(row):
    """Rules 5-6."""
    turns = row.get("conversations")
    turns = turns if isinstance(turns, list) else []
    task = row.get("task")
    tools = [normalize_tool(t) for t in tool_list(row.get("tools"))]
    gold = gold_call(turns, task)
    if gold is None:
        return {"kept": False, "drop": "NoGoldCall"}
    if not tools:
        return {"kept": False, "drop": "NoTools"}
    matches = [t for t in tools if t["function"]["name"] == gold["name"]]
    if not matches:
        return {"kept": False, "drop": "GoldToolNotInTools"}
    args = gold["arguments"] if isinstance(gold["arguments"], dict) else {}
    if not matches[0]["function"]["parameters"].get("required"):
        args = {}
    return {"kept": True, "user_content": task if isinstance(task, str) else "", "tool_name": str(gold["name"]),
            "tool_arguments": json.dumps(args, ensure_ascii=False), "tools_json": json.dumps(tools, ensure_ascii=False)}


# ---- seeded random rows: shapes and text the hand-written rows do not reach ---------------------------------------
import random  # noqa: E402

NAMES = ["get_weather", "calc", "find_hotel", "f", "Get_Stock_Price", "", "東京"]
INFORMAL = ["str", "int", " Integer ", "float", "bool", "dict", "list", "List[int]", "List[List[float]]", "Dict[str, int]",
            "Dict[str,List[bool]]", "str, optional", "Optional[str]", "list[int]", "List[]", "OBJECT", "number", None, 5, True,
            ["a"], {"type": "number"}, {"kind": "x"}, "İnt", "ınt"]
SAFE = "ab x\n\t{}[]:,\"'\\é東🌧<>/"


def rtext(r, n=8):
    return "".join(r.choice(SAFE) for _ in range(r.randrange(n)))


def rscalar(r):
    return r.choice([rtext(r), r.randrange(-5, 5), 2**64 + r.randrange(9), r.choice([0.5, 3.0, 1e-05, 1e16, -0.0, 1e300]),
                     r.random() * 10 ** r.randint(-12, 20), True, False, None])


def rjson(r, depth):
    k = r.randrange(7 if depth > 0 else 4)
    if k < 4:
        return rscalar(r)
    if k < 5:
        return [rjson(r, depth - 1) for _ in range(r.randrange(4))]
    return {r.choice(["a", "city", "Z", "é", rtext(r, 4)]): rjson(r, depth - 1) for _ in range(r.randrange(4))}


def rtool(r):
    t = {}
    if r.random() < 0.9:
        t["name"] = r.choice(NAMES + [None, 3])
    if r.random() < 0.7:
        t["description"] = r.choice([rtext(r), "", None, 0, ["x"]])
    kind = r.randrange(6)
    if kind == 0:
        t["parameters"] = {"type": r.choice(["object", "dict"]), "properties": {r.choice(["a", "city", "n"]): {"type": r.choice(INFORMAL[:12])} for _ in range(r.randrange(3))},
                           **({"required": r.choice([[], ["a"], None, "a"])} if r.random() < 0.6 else {})}
    elif kind in (1, 2):
        t["parameters"] = {r.choice(["a", "city", "n", "type", "properties", rtext(r, 4)]):
                           r.choice([None, 5, "str", {"description": r.choice([rtext(r), "", 0, None]), "type": r.choice(INFORMAL)}, {"type": r.choice(INFORMAL)}, {}])
                           for _ in range(r.randrange(4))}
    elif kind == 3:
        t["parameters"] = r.choice([None, [], "x", 0, {}])
    elif kind == 4:
        t["function"] = {"name": r.choice(NAMES)}
    return t


def rcall(r):
    call = {}
    if r.random() < 0.9:
        call["name"] = r.choice(NAMES + [None, 7])
    if r.random() < 0.9:
        call["arguments"] = r.choice([rjson(r, 2), {"city": rtext(r)}, json.dumps({"a": 1}), None, []])
    body = json.dumps(call, ensure_ascii=r.random() < 0.3, separators=r.choice([(",", ":"), (", ", ": ")]))
    if r.random() < 0.15:
        body = body[: r.randrange(len(body) + 1)]
    return body


def rvalue(r, task):
    parts = []
    for _ in range(r.randrange(1, 5)):
        k = r.randrange(6)
        if k == 0:
            parts.append("<think>" + rtext(r) + r.choice(["", "<tool_call>", "</tool_call>"]) + "</think>")
        elif k in (1, 2):
            parts.append("<tool_call>" + r.choice(["\n", " ", "", "\u3000"]) + rcall(r) + r.choice(["\n", " ", ""]) + "</tool_call>")
        elif k == 3:
            parts.append(task)
        else:
            parts.append(rtext(r))
    return "".join(parts)


def random_rows(n, seed=20261125):
    r = random.Random(seed)
    rows = []
    for i in range(n):
        task = r.choice(["What's the weather?", "Sum 1 and 2", "", "  東京  ", rtext(r)])
        turns = []
        for _ in range(r.randrange(0, 7)):
            role = r.choice(["system", "human", "gpt", "tool", "user", "assistant", "model", " Human ", "GPT", "", None, 5])
            value = r.choice([rvalue(r, task), task, task + "\n\n", None, 3])
            turns.append({"from": role, "value": value} if r.random() < 0.95 else r.choice(["junk", 1, None, []]))
        tools = [rtool(r) for _ in range(r.randrange(0, 4))]
        if r.random() < 0.75:
            # a plausible row: the task's human turn, then an assistant turn calling one of the listed tools
            named = [t.get("name") for t in tools if isinstance(t.get("name"), str)]
            name = r.choice(named) if named and r.random() < 0.85 else r.choice(NAMES)
            args = r.choice([rjson(r, 2), {"city": rtext(r), "n": rscalar(r)}, {}, {"a": rjson(r, 3)}])
            call = json.dumps({"name": name, "arguments": args}, ensure_ascii=r.random() < 0.3, separators=r.choice([(",", ":"), (", ", ": ")]))
            plausible = [{"from": "system", "value": "<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-dict>}\n</tool_call>"},
                         {"from": r.choice(["human", "user"]), "value": task + r.choice(["", "\n\n"])},
                         {"from": r.choice(["gpt", "assistant"]), "value": "<think>\n" + rtext(r) + "\n</think>\n<tool_call>\n" + call + "\n</tool_call>"}]
            at = 0 if r.random() < 0.7 else r.randrange(len(turns) + 1)
            turns[at:at] = plausible
        tools_field = r.choice([json.dumps(tools, ensure_ascii=False)] * 4 + [json.dumps(tools), tools, "", "  ", "[", None, 5,
                                json.dumps(tools[0] if tools else {}), json.dumps(tools)[: r.randrange(1, 40)]])
        row = {"conversations": turns, "tools": tools_field, "task": r.choice([task] * 6 + [None, 7])}
        rows.append((f"random_{i}", row))
    return rows


def main():
    # ---- adversarial rows ------------------------------------------------------------------------------------------

    SYSTEM = ("You are a deep thinking AI... <tools>{tools}</tools> For each function call return a json object "
              "within <tool_call> </tool_call> tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-dict>}\n</tool_call>")


    def call(name, args, compact=True):
        body = json.dumps({"name": name, "arguments": args}, separators=(",", ":") if compact else None, ensure_ascii=False)
        return f"<think>\nI should call {name}. Maybe <tool_call> is right.\n</think>\n<tool_call>\n{body}\n</tool_call>"


    def row(tools, turns, task, **extra):
        r = {"conversations": [{"from": f, "value": v} for f, v in turns], "tools": tools, "task": task,
             "category": extra.get("category", "Tests"), "source": extra.get("source", "Adversarial"),
             "scenario_category": extra.get("scenario", "single")}
        return r


    weather_schema = [{"name": "get_weather", "description": "Get weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string", "description": "City"}, "unit": {"type": "string", "enum": ["c", "f"]}},
        "required": ["city"]}}]
    xlam = [{"name": "calc", "description": "Calculate things", "parameters": {
        "nums": {"description": "Numbers", "type": "List[int]"}, "matrix": {"description": "", "type": "List[List[float]]"},
        "mapping": {"description": "Map", "type": "Dict[str, int]"}, "weird": {"description": "x", "type": "Dict[str,List[int]]"},
        "opt": {"description": "Optional", "type": "str, optional", "default": "a"}, "flag": {"type": "BOOL"},
        "n": {"description": "count", "type": " Integer "}, "none_spec": None, "num_spec": 5, "list_type": {"type": ["a", "b"]},
        "obj_type": {"type": {"kind": "x"}}, "schema_type": {"type": {"type": "number", "minimum": 0}},
        "null_type": {"type": None}, "num_type": {"type": 7}, "dict_word": {"type": "DICT"}, "arr": {"type": "array"},
        "nested": {"type": "List[Dict[str, List[int]]]"}, "bad_list": {"type": "list[int]"}}}]
    toolace = [{"name": "find_hotel", "description": "Find hotels", "parameters": {"type": "dict", "properties": {
        "city": {"type": "string", "description": "City"}, "stars": {"type": "int", "description": "Stars"}}, "required": ["city"]}, "required": None}]
    noreq = [{"name": "list_items", "description": "List all", "parameters": {"type": "object", "properties": {"limit": {"type": "integer"}}}}]
    openai_wrapped = [{"type": "function", "function": {"name": "get_weather", "description": "w", "parameters": {"type": "object", "properties": {}}}}]

    rows = []
    add = lambda name, r: rows.append((name, r))

    t = "What's the weather in Paris?"
    add("schema_tools_json_string", row(json.dumps(weather_schema), [("system", SYSTEM), ("human", t + "\n\n"), ("gpt", call("get_weather", {"city": "Paris", "unit": "c"}))], t))
    add("schema_tools_as_list", row(weather_schema, [("system", SYSTEM), ("human", t), ("gpt", call("get_weather", {"city": "Paris"}, compact=False))], t))
    add("tools_empty_string", row("   ", [("human", t), ("gpt", call("get_weather", {"city": "Paris"}))], t))
    add("tools_malformed_json", row("[{\"name\": \"get_weather\",", [("human", t), ("gpt", call("get_weather", {"city": "Paris"}))], t))
    add("tools_json_object_not_list", row(json.dumps(weather_schema[0]), [("human", t), ("gpt", call("get_weather", {"city": "Paris"}))], t))
    add("tools_number", row(42, [("human", t), ("gpt", call("get_weather", {"city": "Paris"}))], t))
    add("tools_null", row(None, [("human", t), ("gpt", call("get_weather", {"city": "Paris"}))], t))
    add("tools_with_non_object_entries", row(json.dumps(["x", 3, None] + weather_schema), [("human", t), ("gpt", call("get_weather", {"city": "Paris"}))], t))
    add("per_argument_types", row(json.dumps(xlam), [("human", "Sum these"), ("gpt", call("calc", {"nums": [1, 2], "opt": "b"}))], "Sum these"))
    add("toolace_dict_type", row(json.dumps(toolace), [("system", SYSTEM), ("human", "Hotels in Rome with 4 stars"), ("gpt", call("find_hotel", {"city": "Rome", "stars": 4}))], "Hotels in Rome with 4 stars"))
    add("no_required_params_args_emptied", row(json.dumps(noreq), [("human", "List 5"), ("gpt", call("list_items", {"limit": 5}))], "List 5"))
    add("openai_wrapped_dropped", row(json.dumps(openai_wrapped), [("human", t), ("gpt", call("get_weather", {"city": "Paris"}))], t))
    add("gold_tool_missing", row(json.dumps(weather_schema), [("human", t), ("gpt", call("get_forecast", {"city": "Paris"}))], t))
    add("no_tool_call_relevance", row(json.dumps(weather_schema), [("system", SYSTEM), ("human", "Tell me a joke"), ("gpt", "<think>\nno tool\n</think>I can't.")], "Tell me a joke", scenario="relevance"))
    add("placeholder_only_in_system", row(json.dumps(weather_schema), [("system", SYSTEM), ("human", t), ("gpt", "<think>\nhmm\n</think>Which unit?")], t))
    add("bad_json_first_block_then_good_turn", row(json.dumps(weather_schema), [
        ("human", t), ("gpt", "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": }\n</tool_call>\n<tool_call>\n{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Lyon\"}}\n</tool_call>"),
        ("tool", "<tool_response>\n{}\n</tool_response>"), ("gpt", call("get_weather", {"city": "Nice"}))], t))
    add("block_missing_arguments_then_good", row(json.dumps(weather_schema), [
        ("human", t), ("gpt", "<tool_call>{\"name\": \"get_weather\"}</tool_call>"), ("gpt", call("get_weather", {"city": "Oslo"}))], t))
    add("parallel_calls_first_taken", row(json.dumps(weather_schema), [
        ("human", t), ("gpt", call("get_weather", {"city": "Paris"}) + "\n<tool_call>\n{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Rome\"}}\n</tool_call>")], t))
    add("multiturn_task_is_second_user", row(json.dumps(weather_schema), [
        ("system", SYSTEM), ("human", "Hi there"), ("gpt", "<think>x</think>Hello!"), ("human", "And in Berlin?"),
        ("gpt", call("get_weather", {"city": "Berlin"})), ("tool", "<tool_response>\n{\"name\": \"get_weather\", \"content\": 1}\n</tool_response>"),
        ("gpt", "It is sunny.")], "And in Berlin?", scenario="multiturn"))
    add("multiturn_call_only_after_later_user", row(json.dumps(weather_schema), [
        ("human", "Hi there"), ("gpt", "Hello"), ("human", "Weather in Oslo?"), ("gpt", call("get_weather", {"city": "Oslo"}))], "Hi there"))
    add("task_not_found_uses_last_user", row(json.dumps(weather_schema), [
        ("human", "First question"), ("gpt", call("get_weather", {"city": "A"})), ("human", "Second question"), ("gpt", call("get_weather", {"city": "B"}))], "Something else entirely"))
    add("task_contains_user_turn", row(json.dumps(weather_schema), [("human", "Paris?"), ("gpt", call("get_weather", {"city": "Paris"}))], "Weather in Paris? Please answer"))
    add("task_empty_uses_last_user", row(json.dumps(weather_schema), [("human", "Q1"), ("gpt", call("get_weather", {"city": "X"}))], ""))
    add("task_null", row(json.dumps(weather_schema), [("human", "Q1"), ("gpt", call("get_weather", {"city": "X"}))], None))
    add("empty_user_turn_matches_any_task", row(json.dumps(weather_schema), [("human", ""), ("gpt", call("get_weather", {"city": "E"})), ("human", t), ("gpt", call("get_weather", {"city": "P"}))], t))
    add("roles_case_and_space", row(json.dumps(weather_schema), [(" Human ", t), ("GPT", call("get_weather", {"city": "Paris"}))], t))
    add("roles_user_assistant_model", row(json.dumps(weather_schema), [("user", t), ("model", call("get_weather", {"city": "Paris"}))], t))
    add("no_user_turn", row(json.dumps(weather_schema), [("system", SYSTEM), ("gpt", call("get_weather", {"city": "Paris"}))], t))
    add("no_turns", row(json.dumps(weather_schema), [], t))
    add("arguments_json_string_xlam", row(json.dumps(weather_schema), [("human", t), ("gpt", "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": \"{\\\"city\\\": \\\"Paris\\\"}\"}\n</tool_call>")], t))
    add("arguments_list", row(json.dumps(weather_schema), [("human", t), ("gpt", "<tool_call>{\"name\": \"get_weather\", \"arguments\": [1, 2]}</tool_call>")], t))
    add("arguments_null", row(json.dumps(weather_schema), [("human", t), ("gpt", "<tool_call>{\"name\": \"get_weather\", \"arguments\": null}</tool_call>")], t))
    add("non_ascii_and_escapes", row(json.dumps(weather_schema, ensure_ascii=False), [("human", "Wetter in München? 東京 🌧"), ("gpt", "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"München \\u6771\\u4eac 🌧\", \"note\": \"tab\\there\\nnew \\\"q\\\" back\\\\slash \\u0001 \\u001f \\u007f \\u2028 é\"}}\n</tool_call>")], "Wetter in München? 東京 🌧"))
    add("floats_and_big_ints", row(json.dumps(weather_schema), [("human", t), ("gpt", "<tool_call>{\"name\":\"get_weather\",\"arguments\":{\"city\":\"X\",\"a\":1.0,\"b\":1e-5,\"c\":1E16,\"d\":123456789012345678901234567890,\"e\":-0,\"f\":-0.0,\"g\":0.1,\"h\":1.5e300,\"i\":2.5E-7,\"j\":100.0,\"k\":1e22,\"l\":123456789.123456789,\"m\":0.0001,\"n\":true,\"o\":null,\"p\":[1.10,{\"q\":{}}],\"r\":[],\"s\":1e400}}</tool_call>")], t))
    add("key_order_kept_and_duplicates", row(json.dumps(weather_schema), [("human", t), ("gpt", "<tool_call>{\"name\":\"get_weather\",\"arguments\":{\"z\":1,\"city\":\"X\",\"a\":2,\"z\":3}}</tool_call>")], t))
    add("tool_call_no_newlines_and_spaces", row(json.dumps(weather_schema), [("human", t), ("gpt", "text before <tool_call>   {\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}   </tool_call> after")], t))
    add("nested_braces_in_args", row(json.dumps(weather_schema), [("human", t), ("gpt", "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"P\", \"filter\": {\"a\": {\"b\": \"}\"}}}}\n</tool_call>")], t))
    add("think_mentions_tool_call_tag_with_brace", row(json.dumps(weather_schema), [("human", t), ("gpt", "<think>I will write <tool_call>{\"oops\": 1}</tool_call> later</think>\n<tool_call>\n{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Q\"}}\n</tool_call>")], t))
    add("tool_turn_between_not_scanned", row(json.dumps(weather_schema), [("human", t), ("tool", call("get_weather", {"city": "T"})), ("gpt", call("get_weather", {"city": "G"}))], t))
    add("tool_without_name", row(json.dumps([{"description": "nameless", "parameters": {}}] + weather_schema), [("human", t), ("gpt", call("get_weather", {"city": "Paris"}))], t))
    add("duplicate_tool_names_first_wins", row(json.dumps(noreq + [{"name": "list_items", "parameters": {"limit": {"type": "int"}}}]), [("human", "L"), ("gpt", call("list_items", {"limit": 1}))], "L"))
    add("tool_description_null_and_missing", row(json.dumps([{"name": "f", "description": None, "parameters": None}, {"name": "g"}]), [("human", "x"), ("gpt", call("g", {"a": 1}))], "x"))
    add("schema_with_required_null", row(json.dumps([{"name": "f", "parameters": {"type": "object", "properties": {"a": {"type": "string"}}, "required": None}}]), [("human", "x"), ("gpt", call("f", {"a": "1"}))], "x"))
    add("schema_params_without_properties_is_per_argument", row(json.dumps([{"name": "f", "parameters": {"type": "object", "a": {"type": "int"}}}]), [("human", "x"), ("gpt", call("f", {"a": 1}))], "x"))
    add("params_list_not_dict", row(json.dumps([{"name": "f", "parameters": ["a", "b"]}]), [("human", "x"), ("gpt", call("f", {"a": 1}))], "x"))
    add("gold_name_not_string", row(json.dumps(weather_schema), [("human", t), ("gpt", "<tool_call>{\"name\": 5, \"arguments\": {}}</tool_call>")], t))
    add("turn_values_not_strings", {"conversations": [{"from": "human", "value": 5}, {"from": None, "value": "x"}, "junk", {"from": "gpt", "value": call("get_weather", {"city": "P"})}], "tools": json.dumps(weather_schema), "task": "5"})
    add("description_falsy_values", row(json.dumps([{"name": "f", "parameters": {"a": {"description": 0, "type": "int"}, "b": {"description": [], "type": "str"}, "c": {"description": "  ", "type": "float"}, "d": {"description": None}}}]), [("human", "x"), ("gpt", call("f", {"a": 1}))], "x"))
    add("unicode_whitespace_task", row(json.dumps(weather_schema), [("human", "\u3000Weather?\u00a0\x1c"), ("gpt", call("get_weather", {"city": "W"}))], "Weather?"))
    add("deeply_nested_types", row(json.dumps([{"name": "f", "parameters": {"m": {"type": "Dict[str, Dict[str, List[bool]]]"}, "n": {"type": "List[ List[int] ]"}, "o": {"type": "Dict[int,  float]"}, "p": {"type": "List[]"}, "q": {"type": "Dict[x]"}}}]), [("human", "x"), ("gpt", call("f", {"m": {}}))], "x"))
    add("system_turn_contains_real_looking_call", row(json.dumps(weather_schema), [("system", "<tool_call>{\"name\":\"get_weather\",\"arguments\":{\"city\":\"S\"}}</tool_call>"), ("human", t), ("gpt", "No call")], t))
    add("gpt_before_user_ignored", row(json.dumps(weather_schema), [("gpt", call("get_weather", {"city": "Early"})), ("human", t), ("gpt", call("get_weather", {"city": "Late"}))], t))
    add("lone_surrogate_free_emoji_keys", row(json.dumps(weather_schema), [("human", t), ("gpt", "<tool_call>{\"name\":\"get_weather\",\"arguments\":{\"city\":\"x\",\"🔑\":\"\\ud83d\\ude00\",\"ключ\":\"значение\"}}</tool_call>")], t))

    rows.extend(random_rows(400))

    # kept rows also get their full training text from the real Jinja template (make_template_fixtures.py)
    import os
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from make_template_fixtures import template

    out = []
    for name, r in rows:
        text = json.dumps(r, ensure_ascii=False)
        expected = clean(json.loads(text))
        if expected["kept"]:
            messages = [{"role": "developer", "content": "You are a model that can do function calling with the following functions"},
                        {"role": "user", "content": expected["user_content"]}]
            try:
                prompt = template.render(messages=messages, tools=json.loads(expected["tools_json"]), add_generation_prompt=True, bos_token="<bos>")
                expected["text"] = (prompt + "<start_function_call>call:" + expected["tool_name"] + "{args:<escape>"
                                    + expected["tool_arguments"] + "<escape>}<end_function_call>")
            except Exception as e:  # noqa: BLE001 - the C# renderer must refuse too
                expected["text_error"] = f"{type(e).__name__}: {e}"
        out.append({"name": name, "row_json": text, "expected": expected})
    json.dump(out, sys.stdout, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
