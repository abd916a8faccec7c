# mypy: disable-error-code="import-not-found,import-untyped,no-untyped-call,no-any-return,misc"
# (It runs in the engines' own venv, with torch and transformers; the project's venv has neither.)
"""Build a tiny Qwen2-architecture causal LM + locally trained byte-level BPE tokenizer.

Nothing is downloaded.  The weights are *hand-set* (not trained) so that greedy
decoding is deterministic and useful for protocol tests:

  * without `tools` in the request  -> replies "Hello from the tiny test model." then <|im_end|>
  * with `tools` in the request     -> replies <tool_call>{"name": "get_weather", ...}</tool_call><|im_end|>

How: every layer's o_proj/down_proj is zero except one attention head in layer 0
that copies a "tools present" flag into the residual stream when the special
token <tools> occurs anywhere in the prompt (the chat template emits it when
`tools` are given).  lm_head is a bigram table over a handful of orthogonal token
embeddings (a "script"), keyed on the last token and that flag.

Usage: python build_tiny_model.py OUT_DIR
"""

import itertools
import os
import random
import sys
from typing import Any

import torch
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import GenerationConfig, PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

OUT = sys.argv[1] if len(sys.argv) > 1 else os.environ["ENGINES_HOME"] + "/tiny-model"
random.seed(0)
torch.manual_seed(0)

PLAIN_REPLY_WORDS = ["Hello", " from", " the", " tiny", " test", " model", "."]
TOOL_JSON = '{"name": "get_weather", "arguments": {"city": "Paris"}}'
# Split into pieces < 32 bytes: llama-cpp-python detokenizes with a 32-byte buffer per token.
TOOL_JSON_PARTS = ['{"name": "get_weather", ', '"arguments": ', '{"city": "Paris"}}']
assert "".join(TOOL_JSON_PARTS) == TOOL_JSON

# ---------------------------------------------------------------- tokenizer
filler = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "the",
    "lazy",
    "dog",
    "while",
    "a",
    "small",
    "test",
    "model",
    "answers",
    "questions",
    "about",
    "weather",
    "in",
    "Paris",
    "and",
    "London",
    "hello",
    "world",
    "this",
    "is",
    "a",
    "simple",
    "corpus",
    "used",
    "to",
    "train",
    "a",
    "byte",
    "level",
    "tokenizer",
    "for",
    "local",
    "protocol",
    "tests",
    "of",
    "chat",
    "completion",
    "servers",
    "user",
    "system",
    "assistant",
    "tool",
    "function",
    "name",
    "arguments",
    "city",
    "json",
    "call",
    "response",
    "you",
    "are",
    "a",
    "helpful",
    "assistant",
]
lines = []
for _ in range(3000):
    lines.append(" ".join(random.choice(filler) for _ in range(12)))
for _ in range(500):
    lines.append("Hello from the tiny test model.")
    lines.append("<|im_start|>assistant\nHello from the tiny test model.<|im_end|>\n")

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<tools>", "</tools>"]
tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tok.decoder = decoders.ByteLevel()
trainer = trainers.BpeTrainer(
    vocab_size=700,
    special_tokens=SPECIAL,
    initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    show_progress=False,
)
tok.train_from_iterator(lines, trainer=trainer)
# Non-special added tokens (like Qwen2.5's <tool_call>) so they survive skip_special_tokens decoding.
tok.add_tokens(
    [
        AddedToken("<tool_call>", special=False, normalized=False),
        AddedToken("</tool_call>", special=False, normalized=False),
    ]
    + [AddedToken(p, special=False, normalized=False) for p in TOOL_JSON_PARTS]
)

CHAT_TEMPLATE = r"""{%- macro render_content(content) -%}
{%- if content is string -%}{{ content }}
{%- elif content is iterable and content is not mapping -%}
{%- for part in content -%}{%- if part is mapping and part.get('type') == 'text' -%}{{ part['text'] }}{%- elif part is string -%}{{ part }}{%- endif -%}{%- endfor -%}
{%- elif content is none -%}
{%- else -%}{{ content }}
{%- endif -%}
{%- endmacro -%}
{%- if tools %}
{{- '<|im_start|>system\n' }}
{%- if messages[0]['role'] == 'system' %}{{- render_content(messages[0]['content']) }}{%- else %}{{- 'You are a helpful assistant.' }}{%- endif %}
{{- "\n\n# Tools\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
{%- for tool in tools %}{{- "\n" }}{{- tool | tojson }}{%- endfor %}
{{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags.<|im_end|>\n" }}
{%- else %}
{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\n' + render_content(messages[0]['content']) + '<|im_end|>\n' }}{%- endif %}
{%- endif %}
{%- for message in messages %}
{%- if message['role'] == 'system' and loop.first %}
{%- elif message['role'] == 'assistant' %}
{{- '<|im_start|>assistant\n' + render_content(message.get('content')) }}
{%- if message.get('tool_calls') %}{%- for tc in message['tool_calls'] %}
{%- set fn = tc['function'] if tc.get('function') else tc %}
{{- '<tool_call>{"name": "' + fn['name'] + '", "arguments": ' }}{%- if fn['arguments'] is string %}{{- fn['arguments'] }}{%- else %}{{- fn['arguments'] | tojson }}{%- endif %}{{- '}</tool_call>' }}
{%- endfor %}{%- endif %}
{{- '<|im_end|>\n' }}
{%- elif message['role'] == 'tool' %}
{{- '<|im_start|>user\n<tool_response>\n' + render_content(message.get('content')) + '\n</tool_response><|im_end|>\n' }}
{%- else %}
{{- '<|im_start|>' + message['role'] + '\n' + render_content(message.get('content')) + '<|im_end|>\n' }}
{%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}{%- endif %}"""

hf_tok = PreTrainedTokenizerFast(
    tokenizer_object=tok,
    eos_token="<|im_end|>",
    pad_token="<|endoftext|>",
    bos_token=None,
    unk_token=None,
    model_max_length=4096,
)
hf_tok.chat_template = CHAT_TEMPLATE

V = len(hf_tok)


def ids(token: str) -> int:
    found: int = hf_tok.convert_tokens_to_ids(token)
    return found


def single_id(text: str) -> int:
    enc = hf_tok.encode(text, add_special_tokens=False)
    assert len(enc) == 1, (text, enc, hf_tok.convert_ids_to_tokens(enc))
    return enc[0]


NL = single_id("\n")
IM_END = ids("<|im_end|>")
TOOLS_MARK = ids("<tools>")
plain_script = [NL] + [single_id(w) for w in PLAIN_REPLY_WORDS] + [IM_END]
tool_script = (
    [NL, ids("<tool_call>")] + [ids(p) for p in TOOL_JSON_PARTS] + [ids("</tool_call>"), IM_END]
)
# check generation prompt ends with NL as its own token
gp = hf_tok.apply_chat_template(
    [{"role": "user", "content": "hi"}], add_generation_prompt=True, tokenize=True
)
if isinstance(gp, dict) or hasattr(gp, "keys"):
    gp = gp["input_ids"]
assert gp[-1] == NL, hf_tok.convert_ids_to_tokens(gp)
script_tokens = sorted(set(plain_script[:-1] + tool_script[:-1]))
assert len(set(plain_script)) == len(plain_script) and len(set(tool_script)) == len(tool_script)

# ---------------------------------------------------------------- model
H, HEADS, HD = 64, 2, 32  # head_dim 32: vLLM CPU attention supports 32,64,80,...; 16 is rejected
cfg = Qwen2Config(
    vocab_size=V,
    hidden_size=H,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=HEADS,
    num_key_value_heads=HEADS,
    head_dim=HD,
    max_position_embeddings=4096,
    rope_parameters={"rope_type": "default", "rope_theta": 1.0e12},
    tie_word_embeddings=False,
    eos_token_id=IM_END,
    pad_token_id=ids("<|endoftext|>"),
    bos_token_id=None,
    torch_dtype="float32",
)
model = Qwen2ForCausalLM(cfg).eval()

G, F, M = 0, 1, 2  # constant dir, tools-flag dir, marker dir
script_dir = {t: 3 + i for i, t in enumerate(script_tokens)}
free = list(range(3 + len(script_tokens), H))

with torch.no_grad():
    for p in model.parameters():
        p.zero_()
    E = model.model.embed_tokens.weight
    for t in range(V):
        if t in script_dir:
            E[t, script_dir[t]] = 1.0
        elif t == TOOLS_MARK:
            E[t, M] = 1.0
        else:
            v = torch.randn(len(free))
            E[t, free] = v / v.norm()
        E[t, G] = 1.0
    for layer in model.model.layers:
        layer.input_layernorm.weight.fill_(1.0)
        layer.post_attention_layernorm.weight.fill_(1.0)
    model.model.norm.weight.fill_(1.0)
    # layer 0, head 0: attend to <tools> marker, copy flag into residual dir F
    a = model.model.layers[0].self_attn
    low = (
        HD // 2 - 1
    )  # lowest-frequency rotary pair (dims low, low+HD/2): ~no rotation with huge theta
    a.q_proj.weight[low, G] = 3.0
    a.k_proj.weight[low, M] = 1.0
    a.v_proj.weight[0, M] = 1.0
    # normalized marker embedding (m+g)/rms has m-component sqrt(H/2)
    a.o_proj.weight[F, 0] = 1.0 / (H / 2) ** 0.5
    # lm_head bigram table
    W = model.lm_head.weight
    alpha = 3.0
    K = 10.0  # the current-token term dominates; g/F terms only break the tie after the prompt's last '\n'
    for cur, nxt in itertools.pairwise(plain_script):
        W[nxt, script_dir[cur]] += K * alpha
        W[nxt, G] += alpha
    for cur, nxt in itertools.pairwise(tool_script):
        W[nxt, script_dir[cur]] += K * alpha
        W[nxt, F] += 2 * alpha

model.generation_config = GenerationConfig(
    do_sample=False,
    eos_token_id=IM_END,
    pad_token_id=ids("<|endoftext|>"),
    bos_token_id=None,
)


# ---------------------------------------------------------------- self-check
def greedy(
    messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None, n: int = 12
) -> str:
    enc = hf_tok.apply_chat_template(
        messages, tools=tools, add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    out = model.generate(**enc, max_new_tokens=n, do_sample=False)
    return hf_tok.decode(out[0, enc["input_ids"].shape[1] :])


msgs = [{"role": "user", "content": "What is the weather in Paris?"}]
tools = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]
r1 = greedy(msgs)
r2 = greedy(msgs, tools)
print("plain :", repr(r1))
print("tools :", repr(r2))
assert r1 == "Hello from the tiny test model.<|im_end|>", r1
assert r2 == "<tool_call>" + TOOL_JSON + "</tool_call><|im_end|>", r2

model.save_pretrained(OUT)
hf_tok.save_pretrained(OUT)
print("saved to", OUT, "vocab", V, "params", sum(p.numel() for p in model.parameters()))
