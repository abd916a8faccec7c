# mypy: disable-error-code="import-not-found,import-untyped,no-untyped-call,misc"
# (It runs in the engines' own venv with llama.cpp's converter on the path; the project's venv has neither.)
"""Convert $ENGINES_HOME/tiny-model to GGUF with llama.cpp's own convert_hf_to_gguf.py (vendored in the
llama-cpp-python sdist).

Two patches: our locally trained BPE tokenizer is not in llama.cpp's pre-tokenizer hash table, so the
converter is told it is plain GPT-2 regex pre-tokenization (which it is: ByteLevel(use_regex=True)); and
there is no sentencepiece model, so Qwen2's vocabulary is read the GPT-2 way.
"""

import os
import sys

HOME = os.environ["ENGINES_HOME"]
LLAMA = os.environ.get("LLAMA_CPP_DIR", HOME + "/sdist/x/llama_cpp_python-0.3.36/vendor/llama.cpp")
sys.path.insert(0, LLAMA)
sys.path.insert(1, os.path.join(LLAMA, "gguf-py"))

import conversion.base as base  # noqa: E402  (found through the path set just above)
import conversion.qwen as qwen  # noqa: E402
import convert_hf_to_gguf  # noqa: E402

base.TextModel.get_vocab_base_pre = lambda self, tokenizer: "gpt-2"
qwen.Qwen2Model.set_vocab = lambda self: self._set_vocab_gpt2()
sys.argv = [
    "convert_hf_to_gguf.py",
    HOME + "/tiny-model",
    *("--outtype", "f32", "--outfile", HOME + "/tiny-model.gguf"),
]
convert_hf_to_gguf.main()
