"""Proves the Registry's Hugging Face-compatible read API with the real clients (huggingface_hub, transformers).

  python3 hf_check.py make DIR           # a tiny random Gemma3 model + tokenizer + chat template + generation config
  HF_ENDPOINT=http://127.0.0.1:PORT HF_HOME=/tmp/x python3 hf_check.py check DIR REPO
      # loads REPO from the Registry and compares it with DIR; prints one JSON object, exits 1 on any failure
"""
import hashlib
import json
import os
import sys


def make(directory):
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig, GenerationConfig
    try:
        from transformers import PreTrainedTokenizerFast
    except ImportError:  # transformers 5 naming
        from transformers import TokenizersBackend as PreTrainedTokenizerFast

    words = "<pad> <eos> <bos> <unk> <start_of_turn> <end_of_turn> user model call get_weather city paris the weather in is what".split()
    vocab = {w: i for i, w in enumerate(words)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>", unk_token="<unk>")
    fast.chat_template = "{{ bos_token }}{% for m in messages %}<start_of_turn> {{ m['role'] }} {{ m['content'] }} <end_of_turn> {% endfor %}{% if add_generation_prompt %}<start_of_turn> model {% endif %}"
    fast.save_pretrained(directory)

    config = Gemma3TextConfig(vocab_size=len(words), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                              num_attention_heads=2, num_key_value_heads=1, head_dim=32, max_position_embeddings=256,
                              sliding_window=64, pad_token_id=0, eos_token_id=1, bos_token_id=2)
    torch.manual_seed(0)
    Gemma3ForCausalLM(config).save_pretrained(directory)
    GenerationConfig(do_sample=False, max_new_tokens=8, eos_token_id=1, pad_token_id=0, bos_token_id=2).save_pretrained(directory)
    print(json.dumps({"made": sorted(os.listdir(directory))}))


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check(directory, repo):
    import torch
    import huggingface_hub
    import transformers
    from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url, model_info, snapshot_download
    from transformers import AutoModelForCausalLM, AutoTokenizer

    result = {"endpoint": os.environ.get("HF_ENDPOINT"), "huggingface_hub": huggingface_hub.__version__,
              "transformers": transformers.__version__, "torch": torch.__version__, "checks": {}}
    ok = True

    def record(name, fn):
        nonlocal ok
        try:
            value = fn()
            result["checks"][name] = {"ok": True, "value": value}
        except Exception as e:  # noqa: BLE001 - every failure is reported, none stops the others
            ok = False
            result["checks"][name] = {"ok": False, "error": f"{type(e).__name__}: {e}"[:600]}

    def metadata():
        m = get_hf_file_metadata(hf_hub_url(repo, "model.safetensors"))
        local = sha256(os.path.join(directory, "model.safetensors"))
        assert m.etag == local, (m.etag, local)
        assert m.size == os.path.getsize(os.path.join(directory, "model.safetensors"))
        return {"commit_hash": m.commit_hash, "etag": m.etag, "size": m.size}
    record("get_hf_file_metadata", metadata)

    def info():
        i = model_info(repo, revision="production")
        return {"sha": i.sha, "siblings": sorted(s.rfilename for s in i.siblings)}
    record("model_info(revision=production)", info)

    def snapshot():
        path = snapshot_download(repo, revision="production")
        files = sorted(f for f in os.listdir(path))
        for f in files:
            assert sha256(os.path.join(path, f)) == sha256(os.path.join(directory, f)), f
        return {"path": path, "files": files}
    record("snapshot_download(revision=production) bytes equal", snapshot)

    def expect_error(kind, **kwargs):
        def run():
            try:
                hf_hub_download(**kwargs)
            except Exception as e:  # noqa: BLE001
                assert kind in type(e).__name__ or any(kind in c.__name__ for c in type(e).__mro__), type(e).__mro__
                return type(e).__name__
            raise AssertionError("no error")
        return run
    record("missing file -> EntryNotFound", expect_error("EntryNotFound", repo_id=repo, filename="nope.bin"))
    record("missing revision -> RevisionNotFound", expect_error("RevisionNotFound", repo_id=repo, filename="config.json", revision="no-such-alias"))
    record("missing repo -> RepositoryNotFound", expect_error("RepositoryNotFound", repo_id="acme/nobody", filename="config.json"))

    device = "cuda" if torch.cuda.is_available() else "cpu"
    result["device"] = torch.cuda.get_device_name(0) if device == "cuda" else "cpu"

    def load_and_generate():
        remote = AutoModelForCausalLM.from_pretrained(repo).to(device).eval()
        local = AutoModelForCausalLM.from_pretrained(directory).to(device).eval()
        rs, ls = remote.state_dict(), local.state_dict()
        assert rs.keys() == ls.keys()
        for k in rs:
            assert torch.equal(rs[k], ls[k]), k
        tokenizer = AutoTokenizer.from_pretrained(repo, revision="production")
        prompt = tokenizer.apply_chat_template([{"role": "user", "content": "what is the weather in paris"}], tokenize=False, add_generation_prompt=True)
        ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).input_ids.to(device)
        with torch.no_grad():
            a = remote.generate(ids, max_new_tokens=8, do_sample=False)
            b = local.generate(ids, max_new_tokens=8, do_sample=False)
        assert torch.equal(a, b)
        return {"class": type(remote).__name__, "tensors": len(rs), "prompt": prompt,
                "generated": tokenizer.decode(a[0][ids.shape[1]:]), "generation_config_max_new_tokens": remote.generation_config.max_new_tokens}
    record("AutoModelForCausalLM/AutoTokenizer.from_pretrained + generate on " + device, load_and_generate)

    result["ok"] = ok
    print(json.dumps(result, indent=1))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        check(sys.argv[2], sys.argv[3])
