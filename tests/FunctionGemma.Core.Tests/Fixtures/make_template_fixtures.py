"""Chat-template fixtures: FunctionGemma's Jinja chat template rendered as transformers' apply_chat_template renders it.

    python3 make_template_fixtures.py [path/to/functiongemma-chat-template.jinja] > template_cases.json

The template is read from /work/shared/reference (reference data, not part of the project) and is used only here.
jinja2 is set up like transformers: ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols,
a raise_exception global, bos_token "<bos>". Cases that make the template raise are stored with "error": true.
"""
import json
import sys

import jinja2
import jinja2.ext
from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

path = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/reference/functiongemma-chat-template.jinja"


def raise_exception(message):
    raise TemplateError(message)


env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
env.globals["raise_exception"] = raise_exception
template = env.from_string(open(path, encoding="utf-8").read())


# ---- seeded random cases: schema and value shapes the hand-written cases do not reach ------------------------------
import random  # noqa: E402

KEYS = ["a", "B", "b", "_x", "Zeta", "zeta", "ä", "Ä", "İx", "ix", "ΣΑΣ", "σας", "é", "E", "東", "🌧", "a1", "A1", "k9",
        "description", "type", "required", "properties", "nullable", "enum", "items", "default", "format"]
TYPES = ["string", "STRING", "object", "array", "integer", "number", "boolean", "dict", "int", "str", None, "missing",
         ["string", "null"], "Object", "ARRAY", "straße", 7]
STRINGS = ["", "x", "Paris, FR", "a,b}{:\"", "quote ' and \"", "München 東京 🌧", "line1\nline2", "  padded  ", "None", "<b>", "ΣΑΣ"]
FLOATS = [0.5, 3.0, 1e-05, 1e16, 0.1, -2.5, 1e22, 123456789.125, 5e-324, -0.0, 0.0001, 1.5e300]


def rand_value(r, depth):
    kind = r.randrange(9 if depth > 0 else 6)
    if kind == 0:
        return r.choice(STRINGS)
    if kind == 1:
        return r.choice([0, 1, -7, 42, 2**53 + 1, 123456789012345678901234567890, -(2**70)])
    if kind == 2:
        return r.choice(FLOATS + [r.uniform(-1e6, 1e6), r.random() * 10 ** r.randint(-30, 30)])
    if kind == 3:
        return r.choice([True, False])
    if kind in (4, 5):
        return None if kind == 4 else r.choice(STRINGS)
    if kind in (6, 7):
        return [rand_value(r, depth - 1) for _ in range(r.randrange(4))]
    return {r.choice(KEYS): rand_value(r, depth - 1) for _ in range(r.randrange(4))}


def rand_schema(r, depth):
    s = {}
    if r.random() < 0.7:
        s["description"] = r.choice(STRINGS + [None, 5])
    t = r.choice(TYPES)
    if t != "missing":
        s["type"] = t
    if r.random() < 0.3:
        s["enum"] = r.choice([[], ["a", "b"], [1, "x", None], "abc"])
    if depth > 0 and r.random() < 0.5:
        s["properties"] = {r.choice(KEYS): rand_schema(r, depth - 1) for _ in range(r.randrange(4))}
    if r.random() < 0.4:
        s["required"] = r.choice([[], ["a", "b"], "ab", ["東"]])
    if depth > 0 and r.random() < 0.4:
        s["items"] = r.choice([{}, None, [1], rand_schema(r, depth - 1), {"type": r.choice(TYPES[:-1] + [["integer", "null"]]), "x": rand_value(r, 1), "description": None}])
    for extra in ("nullable", "default", "format"):
        if r.random() < 0.15:
            s[extra] = rand_value(r, 1)
    return s


def add_random_cases(add):
    r = random.Random(20261125)
    for n in range(120):
        tools = []
        for _ in range(r.randrange(0, 3)):
            params = r.choice([None, {}, {"type": "object", "properties": {r.choice(KEYS): rand_schema(r, 2) for _ in range(r.randrange(1, 6))}, "required": ["a"]},
                               rand_schema(r, 3)])
            f = {"name": r.choice(["f", "get_weather", "Tool_1"]), "description": r.choice(STRINGS)}
            if params is not None:
                f["parameters"] = params
            tools.append({"type": "function", "function": f})
        messages = []
        if r.random() < 0.5:
            messages.append({"role": r.choice(["system", "developer"]), "content": r.choice(STRINGS)})
        for _ in range(r.randrange(1, 5)):
            kind = r.randrange(5)
            if kind == 0:
                messages.append({"role": "user", "content": r.choice(STRINGS)})
            elif kind == 1:
                messages.append({"role": "assistant", "content": r.choice(STRINGS)})
            elif kind == 2:
                calls = [{"type": "function", "function": {"name": r.choice(["f", "g"]), "arguments": {r.choice(KEYS): rand_value(r, 2) for _ in range(r.randrange(4))}}}
                         for _ in range(r.randrange(1, 3))]
                messages.append({"role": "assistant", "tool_calls": calls})
            elif kind == 3:
                messages.append({"role": "tool", "content": {"name": r.choice(["f", " g "]), "response": {r.choice(KEYS): rand_value(r, 2) for _ in range(r.randrange(3))}}})
            else:
                messages.append({"role": "tool", "name": "f", "content": r.choice([r.choice(STRINGS), [{r.choice(KEYS): rand_value(r, 1)}]])})
        add(f"random_{n}", messages, tools or None, r.random() < 0.5)


def main():
    def fn(name, description, parameters=None, **extra):
        f = {"name": name, "description": description}
        if parameters is not None:
            f["parameters"] = parameters
        f.update(extra)
        return {"type": "function", "function": f}


    def obj(properties, required=None, **extra):
        p = {"type": "object", "properties": properties}
        if required is not None:
            p["required"] = required
        p.update(extra)
        return p


    DEV = {"role": "developer", "content": "You are a model that can do function calling with the following functions"}
    weather = fn("get_current_weather", "Gets the current weather in a given location.", obj({
        "location": {"type": "string", "description": "The city and state, e.g. \"San Francisco, CA\" or \"Tokyo, JP\""},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "The unit to return the temperature in."}}, ["location"]),
        **{"return": {"type": "string"}})
    rich = fn("create_order", "Create an order {with} braces, commas: and \"quotes\"", obj({
        "Zeta": {"type": "string", "description": "capital Z sorts case-insensitively"},
        "alpha": {"type": "integer", "description": "an int", "minimum": 0, "default": 3},
        "address": {"type": "object", "description": "Shipping address", "properties": {
            "zip": {"type": "string", "description": "ZIP"}, "city": {"type": "string", "description": "City"}}, "required": ["city"]},
        "lines": {"type": "array", "description": "Lines", "items": {"type": "object", "properties": {
            "sku": {"type": "string", "description": "SKU"}, "n": {"type": "integer", "description": "count"}}, "required": ["sku"]}},
        "tags": {"type": "array", "description": "Tags", "items": {"type": "string"}},
        "matrix": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
        "mode": {"type": "string", "enum": ["fast", "slow"], "nullable": True},
        "ratio": {"type": "number", "description": "a float", "enum": [0.5, 1.0]},
        "flag": {"type": "boolean", "description": "b"},
        "opt": {"type": ["string", "null"], "description": "list type"},
        "description": {"type": "string", "description": "skipped: standard key name"},
        "type": {"type": "string"}, "required": {"type": "string"}, "properties": {"type": "string"}, "nullable": {"type": "string"},
        "meta": {"type": "object", "description": "no properties", "additionalProperties": {"type": "string"}, "default": {"a": 1}},
        "anything": {"description": "missing type"},
        "empty_items": {"type": "array", "items": {}},
        "items_with_null": {"type": "array", "items": {"type": "string", "description": None, "enum": ["x"]}},
        "items_list_type": {"type": "array", "items": {"type": ["integer", "null"], "format": "int64"}},
        "dict_type": {"type": "dict", "properties": {"a": {"type": "int"}}},
        "unicode_ключ": {"type": "string", "description": "Größe ß 東京 🌧"},
        "_under": {"type": "string"}, "Upper": {"type": "string"}, "upper": {"type": "STRING"},
    }, ["alpha", "address"]))
    noparams = fn("noparams", "No params")
    emptyprops = fn("turn_on_flashlight", "Turns the flashlight on.", {"type": "object", "properties": {}})
    notype = fn("notype", "", {"properties": {"a": {"type": "string"}}})
    dicttype = fn("find_hotel", "Find hotels", {"type": "dict", "properties": {"city": {"type": "string", "description": "City"}, "stars": {"type": "int"}}, "required": ["city"]})
    nodesc = {"type": "function", "function": {"name": "nodesc", "parameters": obj({"q": {"type": "string"}})}}
    required_only = fn("required_only", "r", {"type": "object", "required": ["a", "b"]})
    nested_obj_no_props = fn("nested", "n", obj({"outer": {"type": "object", "description": "o", "properties": {
        "inner": {"type": "object", "properties": {"leaf": {"type": "boolean"}}, "required": ["leaf"]}}}}))
    search_kb = fn("search_knowledge_base", "Search internal company documents, policies and project data.", obj({"query": {"type": "string", "description": "query string"}}, ["query"]))
    search_google = fn("search_google", "Search public information.", obj({"query": {"type": "string", "description": "query string"}}, ["query"]))


    def tc(name, arguments):
        return {"type": "function", "function": {"name": name, "arguments": arguments}}


    cases = []


    def add(name, messages, tools=None, add_generation_prompt=False):
        cases.append({"name": name, "messages": messages, "tools": tools, "add_generation_prompt": add_generation_prompt})


    u = {"role": "user", "content": "Hey, what's the weather in Tokyo right now?"}
    add("cookbook_full_sequence", [DEV, u, {"role": "assistant", "tool_calls": [tc("get_current_weather", {"location": "Tokyo, Japan"})]},
        {"role": "tool", "content": [{"name": "get_current_weather", "response": {"temperature": 15, "weather": "sunny"}}]},
        {"role": "assistant", "content": "The current weather in Tokyo is sunny with a temperature of 15 degrees Celsius."}], [weather])
    add("finetune_last_message_tool_call", [DEV, {"role": "user", "content": "What is the reimbursement limit for travel meals?"},
        {"role": "assistant", "tool_calls": [tc("search_knowledge_base", {"query": "travel meal reimbursement limit policy"})]}], [search_kb, search_google])
    add("reference_prompt_generation", [DEV, {"role": "user", "content": "Can you provide the current water quality at Zuma Beach?"}],
        [fn("get_water_quality", "Retrieve water quality information", {"type": "object", "properties": {"location": {"description": "The location", "type": "string"}}, "required": ["location"]})], True)
    add("default_developer_text_when_no_system", [{"role": "user", "content": "  Weather in Paris?  \n"}], [weather], True)
    add("system_role_becomes_developer", [{"role": "system", "content": "  Be brief.\n"}, {"role": "user", "content": "Hi"}], None, True)
    add("system_no_tools_no_generation", [{"role": "system", "content": "S"}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}])
    add("no_tools_no_system", [{"role": "user", "content": "Hi"}], None, True)
    add("empty_tools_list", [{"role": "user", "content": "Hi"}], [], True)
    add("developer_list_content", [{"role": "developer", "content": [{"type": "text", "text": " A "}, {"type": "image"}, {"type": "text", "text": "B\n"}]}, {"role": "user", "content": "Q"}], [noparams], True)
    add("rich_schema", [DEV, {"role": "user", "content": "Order"}], [rich], True)
    add("many_tool_shapes", [{"role": "user", "content": "x"}], [noparams, emptyprops, notype, dicttype, nodesc, required_only, nested_obj_no_props], True)
    add("parallel_calls", [DEV, {"role": "user", "content": "Floor plan?"}, {"role": "assistant", "tool_calls": [
        tc("search_knowledge_base", {"query": "Floor plan for Building B"}), tc("search_google", {"query": "Floor plan for Building B"})]}], [search_kb, search_google])
    add("call_args_value_types", [DEV, {"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [tc("f", {
        "s": "a,b}{:\"", "i": 42, "neg": -7, "big": 123456789012345678901234567890, "f": 0.5, "whole": 3.0, "tiny": 1e-05, "huge": 1e16,
        "t": True, "fa": False, "n": None, "list": [1, "two", [3.5, None], {"K": True}], "obj": {"b": 1, "A": {"z": "deep", "y": []}},
        "empty_obj": {}, "empty_list": [], "Zed": "caps", "uni": "München 東京 🌧", "nl": "line1\nline2"})]}], [noparams])
    add("call_empty_args_and_missing_args", [DEV, {"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [
        tc("g", {}), {"type": "function", "function": {"name": "h"}}]}, {"role": "tool", "name": "g", "content": "ok"}], [noparams], True)
    add("call_args_json_string_quirk", [{"role": "user", "content": "Weather in Paris?"}, {"role": "assistant", "tool_calls": [tc("get_weather", "{\"city\":\"Paris\"}")]},
        {"role": "tool", "name": "get_weather", "content": "sunny"}, {"role": "assistant", "content": "It is sunny."}, {"role": "user", "content": "And Rome?"}],
        [fn("get_weather", "Get weather", {"type": "object", "properties": {"city": {"type": "string"}}})], True)
    add("call_args_list_renders_nothing", [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [tc("f", [1, 2])]}], None)
    add("content_and_tool_calls", [DEV, {"role": "user", "content": "x"}, {"role": "assistant", "content": " Let me check. ", "tool_calls": [tc("f", {"a": 1})]},
        {"role": "tool", "content": {"name": "f", "response": {"ok": True}}}], [noparams], True)
    add("tool_response_shapes", [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [tc("f", {}), tc("g", {})]},
        {"role": "tool", "content": [{"name": "f", "response": {"items": ["a", "b"], "nested": {"x": None}, "ok": True, "ratio": 0.25}}]},
        {"role": "tool", "name": " g ", "content": "done"},
        {"role": "tool", "name": "h", "content": {"Temp": 1, "a": "b"}},
        {"role": "tool", "name": "k", "content": [{"x": 1}, {"name": "m", "response": {"y": 2}}]},
        {"role": "tool", "content": ""},
        {"role": "assistant", "content": "Summary."}], None, True)
    add("tool_response_then_generation_prompt_suppressed", [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [tc("f", {"a": "b"})]},
        {"role": "tool", "content": {"name": "f", "response": {"v": 1}}}], None, True)
    add("tool_call_last_with_generation_prompt_quirk", [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [tc("f", {"a": "b"})]}], None, True)
    add("multi_turn_conversation", [DEV, {"role": "user", "content": "Q1"}, {"role": "assistant", "content": "A1"}, {"role": "user", "content": "Q2"},
        {"role": "assistant", "tool_calls": [tc("f", {"q": "Q2"})]}, {"role": "tool", "name": "f", "content": "R"}, {"role": "assistant", "content": "A2"},
        {"role": "user", "content": "Q3"}], [noparams], True)
    add("mid_conversation_system_role_verbatim", [{"role": "user", "content": "a"}, {"role": "system", "content": "b"}, {"role": "assistant", "content": None}], None, True)
    add("user_list_content_with_image", [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": " Describe "}, "stray string", {"type": "text", "text": "it"}]}], None, True)
    add("unicode_whitespace_trim", [{"role": "developer", "content": "\u3000dev\u00a0"}, {"role": "user", "content": "\x1c\tq\u2028"}], None, True)
    add("assistant_empty_tool_calls_list", [{"role": "user", "content": "x"}, {"role": "assistant", "content": "plain", "tool_calls": []}], None, True)
    add("tool_name_none_and_description_none", [{"role": "user", "content": "x"}], [{"type": "function", "function": {"name": None, "description": None, "parameters": obj({"a": {"type": "string", "description": None}})}}], True)
    add("enum_with_non_strings_and_falsy", [{"role": "user", "content": "x"}], [fn("e", "d", obj({"a": {"type": "string", "enum": []}, "b": {"type": "string", "enum": [1, True, None, "x", {"k": "v"}]}}))], True)
    add("hermes_normalized_tools", [DEV, {"role": "user", "content": "Sum"}], [
        {"type": "function", "function": {"name": "calc", "description": "Calculate", "parameters": {"type": "object", "properties": {
            "nums": {"type": "array", "items": {"type": "integer"}, "description": "Numbers"}, "mapping": {"type": "object", "additionalProperties": {"type": "integer"}},
            "matrix": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}}, "opt": {"type": "string", "description": "Optional"}},
            "required": ["nums", "mapping", "matrix", "opt"]}}}], True)
    add("error_tool_without_name_in_message", [{"role": "user", "content": "x"}, {"role": "tool", "content": "r"}], None)
    add("error_number_content", [{"role": "user", "content": 5}], None)

    add_random_cases(add)

    out = []
    for c in cases:
        try:
            rendered = template.render(messages=c["messages"], tools=c["tools"], add_generation_prompt=c["add_generation_prompt"], bos_token="<bos>")
            out.append({**c, "error": False, "expected": rendered})
        except Exception as e:  # the C# renderer must refuse these too
            out.append({**c, "error": True, "expected": f"{type(e).__name__}: {e}"})
    json.dump({"jinja2": jinja2.__version__, "cases": out}, sys.stdout, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
