"""Writes samples/hermes-sample.jsonl: ~200 Hermes rows in the exact column format of
interstellarninja/hermes_reasoning_tool_use (conversations, tools, task, category, source, scenario_category),
written by us, covering every variant the reference cleaning rules handle. Deterministic: same script, same bytes.

    python3 samples/make_hermes_sample.py            # writes samples/hermes-sample.jsonl
    fg data to-parquet samples/hermes-sample.jsonl --out samples/hermes-sample.parquet
"""
import json
import os
import random

rng = random.Random(20261125)

SYSTEM = (
    "You are a deep thinking AI, you may use extremely long chains of thought to deeply consider the problem and "
    "deliberate with yourself via systematic reasoning processes to help come to a correct solution prior to answering. "
    "You should enclose your thoughts and internal monologue inside <think> </think> tags, and then provide your "
    "solution or response to the problem.\n\nYou are a function calling AI model. You are provided with function "
    "signatures within <tools> </tools> XML tags. You may call one or more functions to assist with the user query. "
    "Don't make assumptions about what values to plug into functions.\nHere are the available tools:\n<tools>\n{tools}\n"
    "</tools>\nFor each function call return a json object with function name and arguments within <tool_call> "
    "</tool_call> tags with the following schema:\n<tool_call>\n{{\"name\": <function-name>, \"arguments\": <args-dict>}}\n</tool_call>"
)

# ---- tools in the dataset's three shapes -----------------------------------------------------------------------
# JSON-Schema tools (Glaive / Nous-Hermes style).
SCHEMA_TOOLS = [
    {"name": "get_weather", "description": "Get the current weather for a city",
     "parameters": {"type": "object", "properties": {
         "city": {"type": "string", "description": "City name"},
         "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Temperature unit"}},
         "required": ["city"]}},
    {"name": "convert_currency", "description": "Convert an amount between currencies",
     "parameters": {"type": "object", "properties": {
         "amount": {"type": "number", "description": "Amount to convert"},
         "from_currency": {"type": "string", "description": "ISO code to convert from"},
         "to_currency": {"type": "string", "description": "ISO code to convert to"}},
         "required": ["amount", "from_currency", "to_currency"]}},
    {"name": "search_recipes", "description": "Search recipes by ingredients",
     "parameters": {"type": "object", "properties": {
         "ingredients": {"type": "array", "items": {"type": "string"}, "description": "Ingredients to include"},
         "max_results": {"type": "integer"}}}},  # no "required": the rules add required: []
    {"name": "get_water_quality", "description": "Retrieve water quality information",
     "parameters": {"type": "object", "properties": {
         "location": {"type": "string", "description": "The location for which you want to get the water quality (e.g., river, lake, beach)"}},
         "required": ["location"]}},
]
# Per-argument tools (Salesforce-Xlam style), with informal types.
XLAM_TOOLS = [
    {"name": "find_max_subarray_sum", "description": "Finds the maximum sum of a contiguous subarray.",
     "parameters": {"nums": {"description": "The input list of integers.", "type": "List[int]"}}},
    {"name": "matrix_multiply", "description": "Multiplies two matrices.",
     "parameters": {"matrix_a": {"description": "The first matrix.", "type": "List[List[float]]"},
                    "matrix_b": {"description": "The second matrix.", "type": "List[List[float]]"}}},
    {"name": "word_frequency", "description": "Counts word frequencies in a text.",
     "parameters": {"text": {"description": "The input text.", "type": "str"},
                    "weights": {"description": "Per-word weights.", "type": "Dict[str, float]"},
                    "top_k": {"description": "How many words to return.", "type": "int, optional", "default": 10}}},
    {"name": "is_valid_email", "description": "Checks if an email address is valid.",
     "parameters": {"email": {"description": "The email address to validate.", "type": "str"},
                    "strict": {"description": "Strict mode.", "type": "bool", "default": False}}},
    {"name": "calculate_grade", "description": "Computes a weighted average grade.",
     "parameters": {"scores": {"description": "Scores.", "type": "List[float]"},
                    "weights": {"description": "Weights.", "type": "List[float]"},
                    "rounding": {"type": "Integer"},            # no description
                    "notes": None,                               # null spec
                    "mode": "fast",                              # non-dict spec
                    "options": {"description": "Extra options", "type": {"type": "object", "properties": {}}},
                    "tags": {"description": "Tags", "type": ["a", "b"]},
                    "unknown": {"description": "Odd type", "type": "Tuple[int]"}}},
]
# ToolACE style: "dict" typed JSON schema, tool-level "required": null.
TOOLACE_TOOLS = [
    {"name": "Get_Stock_Price", "description": "Fetch the latest price of a stock.",
     "parameters": {"type": "dict", "properties": {
         "symbol": {"type": "string", "description": "Ticker symbol"},
         "exchange": {"type": "string", "description": "Exchange code"}}, "required": ["symbol"]}, "required": None},
    {"name": "List_Holidays", "description": "List public holidays of a country.",
     "parameters": {"type": "dict", "properties": {
         "country": {"type": "string", "description": "Country code"},
         "year": {"type": "int", "description": "Year"}}, "required": []}, "required": None},
]
# No-parameter tool: arguments become {}.
NO_PARAM_TOOLS = [{"name": "get_random_joke", "description": "Get a random joke", "parameters": {}}]
# OpenAI-wrapped tools: the reference rules read "name" at the top level, so these rows are dropped.
WRAPPED_TOOLS = [{"type": "function", "function": t} for t in SCHEMA_TOOLS[:2]]

CITIES = ["Paris", "Zuma Beach", "Lake Tahoe", "Oslo", "Kyoto", "São Paulo", "Zürich", "Reykjavík", "Cairo", "Austin"]
CURRENCIES = [("USD", "EUR"), ("GBP", "JPY"), ("EUR", "CHF"), ("INR", "USD")]
SOURCES = ["Glaive", "Nous-Hermes", "ToolAce", "Salesforce-Xlam", "Xlam-Salesforce", "Nvidia-When2Call"]


def tools_text(tools, style):
    """The tools column is a JSON string in the dataset; we vary the spacing as the sources do."""
    if style == "compact":
        return json.dumps(tools, separators=(",", ":"), ensure_ascii=False)
    return json.dumps(tools, ensure_ascii=False)


def think(text):
    return f"<think>\n{text}\n</think>\n"


def call_block(name, args, compact=True):
    body = json.dumps({"name": name, "arguments": args}, separators=(",", ":") if compact else (", ", ": "), ensure_ascii=False)
    return f"<tool_call>\n{body}\n</tool_call>"


def response(name, content):
    return "<tool_response>\n" + json.dumps({"tool_call_id": f"call_{rng.randrange(10**6):06d}", "name": name, "content": content}, ensure_ascii=False) + "\n</tool_response>"


def row(turns, tools, task, category, source, scenario, system_tools=None):
    conv = [{"from": "system", "value": SYSTEM.format(tools=system_tools if system_tools is not None else (tools if isinstance(tools, str) else json.dumps(tools)))}]
    conv += [{"from": f, "value": v} for f, v in turns]
    return {"conversations": conv, "tools": tools, "task": task, "category": category, "source": source, "scenario_category": scenario}


# ---- row makers, one per variant -------------------------------------------------------------------------------
def weather_single(i):
    city = CITIES[i % len(CITIES)]
    task = f"What's the weather like in {city} right now?"
    args = {"city": city} if i % 2 else {"city": city, "unit": "celsius"}
    return row([("human", task + "\n\n"),
                ("gpt", think(f"The user wants the weather in {city}; get_weather fits.") + call_block("get_weather", args, compact=i % 3 != 0)),
                ("tool", response("get_weather", {"temp": 18 + i % 10, "sky": "clear"})),
                ("gpt", think("Summarize.") + f"It is {18 + i % 10}° and clear in {city}.")],
               tools_text(SCHEMA_TOOLS, "spaced" if i % 2 else "compact"), task, "Weather", "Glaive", "single")


def currency_single(i):
    a, b = CURRENCIES[i % len(CURRENCIES)]
    amount = [100, 250.5, 1e3, 0.75][i % 4]
    task = f"Convert {amount} {a} to {b}."
    return row([("human", task), ("gpt", think("Use convert_currency.") + call_block("convert_currency", {"amount": amount, "from_currency": a, "to_currency": b}))],
               tools_text(SCHEMA_TOOLS, "spaced"), task, "Finance", "Nous-Hermes", "single")


def no_required_params(i):
    task = f"Find me {i % 4 + 2} recipes with chicken and rice."
    # search_recipes has no required list: the rules empty the arguments.
    return row([("human", task), ("gpt", think("search_recipes it is.") + call_block("search_recipes", {"ingredients": ["chicken", "rice"], "max_results": i % 4 + 2}))],
               tools_text(SCHEMA_TOOLS, "compact"), task, "Cooking", "Glaive", "single")


def no_param_tool(i):
    task = "Tell me a random joke, please."
    return row([("human", task), ("gpt", think("A joke tool exists.") + call_block("get_random_joke", {}))],
               tools_text(NO_PARAM_TOOLS + SCHEMA_TOOLS[:1], "spaced"), task, "Entertainment", "Glaive", "single")


def xlam_list_int(i):
    nums = [rng.randint(-9, 9) for _ in range(5 + i % 3)]
    task = f"Find the maximum subarray sum of {nums}."
    return row([("human", task), ("gpt", think("find_max_subarray_sum.") + call_block("find_max_subarray_sum", {"nums": nums}))],
               tools_text(XLAM_TOOLS, "spaced"), task, "Math", "Salesforce-Xlam", "single")


def xlam_nested_lists(i):
    a = [[1.0, 2.0], [3.0, 4.5]]
    b = [[0.5, 0.0], [0.0, 2.0]]
    task = f"Multiply the matrices {a} and {b}."
    return row([("human", task), ("gpt", think("matrix_multiply with two List[List[float]].") + call_block("matrix_multiply", {"matrix_a": a, "matrix_b": b}))],
               tools_text(XLAM_TOOLS, "spaced"), task, "Math", "Salesforce-Xlam", "single")


def xlam_dict_and_optional(i):
    text = ["the cat and the hat", "to be or not to be", "ein Hund und eine Katze"][i % 3]
    task = f"Count word frequencies in '{text}'."
    args = {"text": text, "weights": {"the": 0.5, "to": 1.5}, "top_k": 3} if i % 2 else {"text": text}
    return row([("human", task), ("gpt", think("word_frequency.") + call_block("word_frequency", args))],
               tools_text(XLAM_TOOLS, "compact"), task, "Text", "Salesforce-Xlam", "single")


def xlam_odd_specs(i):
    task = "Compute the weighted grade for scores 90, 80 with weights 0.6, 0.4."
    return row([("human", task), ("gpt", think("calculate_grade.") + call_block("calculate_grade", {"scores": [90, 80], "weights": [0.6, 0.4], "rounding": 1}))],
               tools_text(XLAM_TOOLS, "spaced"), task, "Education", "Salesforce-Xlam", "single")


def xlam_string_arguments(i):
    # Xlam-Salesforce rows sometimes encode arguments as a JSON string: not an object, so arguments become {}.
    email = ["a@b.co", "bad@", "x.y@example.org"][i % 3]
    task = f"Is {email} a valid email address?"
    body = json.dumps({"name": "is_valid_email", "arguments": json.dumps({"email": email})})
    return row([("human", task), ("gpt", think("is_valid_email.") + f"<tool_call>\n{body}\n</tool_call>")],
               tools_text(XLAM_TOOLS, "spaced"), task, "Validation", "Xlam-Salesforce", "single")


def non_dict_arguments(i):
    city = CITIES[i % len(CITIES)]
    task = f"Weather for {city}?"
    arguments = [[city], None, 42, "city=" + city][i % 4]
    body = json.dumps({"name": "get_weather", "arguments": arguments}, ensure_ascii=False)
    return row([("human", task), ("gpt", think("odd arguments") + f"<tool_call>\n{body}\n</tool_call>")],
               tools_text(SCHEMA_TOOLS, "spaced"), task, "Weather", "Glaive", "single")


def toolace(i):
    sym = ["AAPL", "MSFT", "NVDA"][i % 3]
    if i % 2:
        task = f"What's the latest price of {sym}?"
        gold = call_block("Get_Stock_Price", {"symbol": sym, "exchange": "NASDAQ"})
    else:
        task = "List the public holidays in Germany for 2025."
        gold = call_block("List_Holidays", {"country": "DE", "year": 2025})  # required: [] → arguments emptied
    return row([("human", task), ("gpt", think("ToolACE tool.") + gold)], tools_text(TOOLACE_TOOLS, "spaced"), task, "Finance", "ToolAce", "single")


def tools_as_list(i):
    city = CITIES[(i + 3) % len(CITIES)]
    task = f"Check the water quality at {city}."
    return row([("human", task), ("gpt", think("get_water_quality") + call_block("get_water_quality", {"location": city}))],
               SCHEMA_TOOLS, task, "Environment", "Nous-Hermes", "single")


def tools_empty(i):
    task = f"What's the weather in {CITIES[i % len(CITIES)]}?"
    tools = ["", "   ", "[]", None][i % 4]
    r = row([("human", task), ("gpt", think("call anyway") + call_block("get_weather", {"city": CITIES[i % len(CITIES)]}))],
            tools, task, "Weather", "Glaive", "single", system_tools="")
    if tools is None:
        del r["tools"]  # a missing column value
    return r


def tools_malformed(i):
    task = f"Convert 5 USD to EUR ({i})."
    tools = ['[{"name": "convert_currency", "description": "Convert"', "{not json}", json.dumps(SCHEMA_TOOLS[1]), "42", "[1, \"two\", null]"][i % 5]
    return row([("human", task), ("gpt", think("convert") + call_block("convert_currency", {"amount": 5, "from_currency": "USD", "to_currency": "EUR"}))],
               tools, task, "Finance", "Glaive", "single")


def non_object_tool_entries(i):
    task = f"Weather in {CITIES[i % len(CITIES)]}, please."
    tools = json.dumps(["get_weather", 7, None] + SCHEMA_TOOLS[:1])
    return row([("human", task), ("gpt", call_block("get_weather", {"city": CITIES[i % len(CITIES)]}))], tools, task, "Weather", "Glaive", "single")


def openai_wrapped(i):
    task = f"What's the weather in {CITIES[i % len(CITIES)]}?"
    return row([("human", task), ("gpt", think("wrapped tools") + call_block("get_weather", {"city": CITIES[i % len(CITIES)]}))],
               tools_text(WRAPPED_TOOLS, "spaced"), task, "Weather", "ToolAce", "single")


def gold_tool_missing(i):
    task = f"Book a table for {i % 5 + 2} at an Italian restaurant."
    return row([("human", task), ("gpt", think("There is no booking tool but I'll try.") + call_block("book_table", {"party_size": i % 5 + 2, "cuisine": "Italian"}))],
               tools_text(SCHEMA_TOOLS, "spaced"), task, "Food", "Nvidia-When2Call", "single")


def relevance(i):
    task = ["Can you book me a flight to Rome?", "What's the meaning of life?", "Order a pizza for me."][i % 3]
    return row([("human", task), ("gpt", think("None of the tools can do this.") + "I'm sorry, none of my tools can help with that. Could you tell me more?")],
               tools_text(SCHEMA_TOOLS, "spaced"), task, "Relevance", "Nvidia-When2Call", "relevance")


def bad_json_first_block(i):
    city = CITIES[i % len(CITIES)]
    task = f"Weather in {city} in fahrenheit."
    bad = '<tool_call>\n{"name": "get_weather", "arguments": {"city": ' + json.dumps(city, ensure_ascii=False) + ', }\n</tool_call>'
    turns = [("human", task), ("gpt", think("first try") + bad)]
    if i % 2:  # the good call comes in a later assistant turn
        turns += [("tool", response("get_weather", "error: malformed call")),
                  ("gpt", think("retry") + call_block("get_weather", {"city": city, "unit": "fahrenheit"}))]
    return row(turns, tools_text(SCHEMA_TOOLS, "spaced"), task, "Weather", "Glaive", "single")


def parallel_calls(i):
    c1, c2 = CITIES[i % len(CITIES)], CITIES[(i + 1) % len(CITIES)]
    task = f"Compare the weather in {c1} and {c2}."
    return row([("human", task), ("gpt", think(f"Two calls; the first is the gold one. Note: <tool_call> tags follow.") +
                call_block("get_weather", {"city": c1}) + "\n" + call_block("get_weather", {"city": c2}))],
               tools_text(SCHEMA_TOOLS, "compact"), task, "Weather", "Nous-Hermes", "multistep")


def multiturn(i):
    c1, c2 = CITIES[i % len(CITIES)], CITIES[(i + 4) % len(CITIES)]
    first = f"What's the weather in {c1}?"
    second = f"And how much is 20 USD in EUR for my trip to {c2}?"
    task = second if i % 2 else first
    turns = [("human", first), ("gpt", think("weather") + call_block("get_weather", {"city": c1})),
             ("tool", response("get_weather", {"temp": 21})), ("gpt", "It's 21° there."),
             ("human", second), ("gpt", think("currency") + call_block("convert_currency", {"amount": 20, "from_currency": "USD", "to_currency": "EUR"})),
             ("tool", response("convert_currency", {"result": 18.4})), ("gpt", "That's about 18.40 EUR.")]
    return row(turns, tools_text(SCHEMA_TOOLS, "spaced"), task, "Travel", "Nous-Hermes", "multiturn")


def multistep(i):
    city = CITIES[i % len(CITIES)]
    task = f"Check the water quality at {city} and then the weather there."
    turns = [("human", task), ("gpt", think("step 1") + call_block("get_water_quality", {"location": city})),
             ("tool", response("get_water_quality", {"quality": "good"})),
             ("gpt", think("step 2") + call_block("get_weather", {"city": city})),
             ("tool", response("get_weather", {"temp": 25})), ("gpt", "Water is good and it's 25°.")]
    return row(turns, tools_text(SCHEMA_TOOLS, "spaced"), task, "Environment", "Nous-Hermes", "multistep")


def task_not_found(i):
    # The task text appears in no human turn: the rules fall back to the last human turn.
    c1, c2 = CITIES[i % len(CITIES)], CITIES[(i + 2) % len(CITIES)]
    turns = [("human", f"Weather in {c1}?"), ("gpt", call_block("get_weather", {"city": c1})),
             ("human", f"Now {c2}, in celsius."), ("gpt", call_block("get_weather", {"city": c2, "unit": "celsius"}))]
    task = ["Tell me about the climate.", ""][i % 2]
    return row(turns, tools_text(SCHEMA_TOOLS, "spaced"), task, "Weather", "Glaive", "multiturn")


def non_ascii(i):
    texts = [("Quel temps fait-il à Zürich ? ☀️", "Zürich"), ("東京の天気は？", "東京"), ("Какая погода в Москве?", "Москва"),
             ("¿Qué tiempo hace en São Paulo?", "São Paulo"), ("Wie ist das Wetter in Köln? «bitte» — danke", "Köln")]
    task, city = texts[i % len(texts)]
    return row([("human", task), ("gpt", think("Non-ASCII city.") + call_block("get_weather", {"city": city, "unit": "celsius"}))],
               tools_text(SCHEMA_TOOLS, "spaced"), task, "Weather", "Glaive", "single")


def numbers(i):
    task = f"Convert {i}.50 GBP to JPY."
    body = '{"name":"convert_currency","arguments":{"amount":' + ["1.0", "1e-5", "12.50", "100", "2.5E+3", "0.1"][i % 6] + ',"from_currency":"GBP","to_currency":"JPY"}}'
    return row([("human", task), ("gpt", think("number spelling") + f"<tool_call>\n{body}\n</tool_call>")],
               tools_text(SCHEMA_TOOLS, "spaced"), task, "Finance", "Glaive", "single")


def no_call_after_task(i):
    # A call exists only before the task's turn: not task-aligned, so no gold call.
    turns = [("human", "Weather in Oslo?"), ("gpt", call_block("get_weather", {"city": "Oslo"})), ("human", "Thanks! That's all."), ("gpt", "You're welcome!")]
    return row(turns, tools_text(SCHEMA_TOOLS, "spaced"), "Thanks! That's all.", "Weather", "Glaive", "multiturn")


MAKERS = [
    (weather_single, 16), (currency_single, 8), (no_required_params, 6), (no_param_tool, 3),
    (xlam_list_int, 8), (xlam_nested_lists, 4), (xlam_dict_and_optional, 6), (xlam_odd_specs, 3), (xlam_string_arguments, 6),
    (non_dict_arguments, 8), (toolace, 8), (tools_as_list, 6), (tools_empty, 8), (tools_malformed, 10), (non_object_tool_entries, 4),
    (openai_wrapped, 12), (gold_tool_missing, 8), (relevance, 18), (bad_json_first_block, 8), (parallel_calls, 6),
    (multiturn, 12), (multistep, 8), (task_not_found, 6), (non_ascii, 10), (numbers, 6), (no_call_after_task, 4),
]


def main():
    rows = [make(i) for make, count in MAKERS for i in range(count)]
    rng.shuffle(rows)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hermes-sample.jsonl")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} rows to {path}")


if __name__ == "__main__":
    main()
