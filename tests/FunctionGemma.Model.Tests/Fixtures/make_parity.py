#!/usr/bin/env python3
"""Reference outputs for the GPU parity tests (GpuParityTests.cs), made with Hugging Face transformers.

For a tiny config and the full FunctionGemma-270M config it creates a random-weight Gemma3ForCausalLM (fp32, eager
attention), saves it with save_pretrained, runs one fixed token batch and writes parity.safetensors beside it:
input_ids, labels (first 4 positions -100), logits, loss, the gradient of every parameter (the full model's embedding
gradient only for its first 4096 rows), and 32 greedy tokens continuing the first 8 ids of each row.

Usage: python3 make_parity.py OUT_DIR   (writes OUT_DIR/tiny and OUT_DIR/full)
"""
import json, os, sys
import torch
from safetensors.torch import save_file
from transformers import Gemma3TextConfig, Gemma3ForCausalLM


def configs():
    pattern = ["sliding_attention"] * 5 + ["full_attention"]
    full = dict(vocab_size=262144, hidden_size=640, intermediate_size=2048, num_hidden_layers=18,
                num_attention_heads=4, num_key_value_heads=1, head_dim=256, max_position_embeddings=32768,
                rms_norm_eps=1e-6, rope_theta=1_000_000.0, rope_local_base_freq=10_000.0,
                query_pre_attn_scalar=256, sliding_window=512, layer_types=[pattern[i % 6] for i in range(18)],
                hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True)
    # Tiny: the real vocabulary, narrow layers, a window of 8 so the 24-token batch and 40-token generations cross it.
    tiny = dict(full, hidden_size=64, intermediate_size=128, num_hidden_layers=3, num_attention_heads=4,
                num_key_value_heads=2, head_dim=16, query_pre_attn_scalar=16, sliding_window=8,
                layer_types=["sliding_attention", "sliding_attention", "full_attention"], initializer_range=0.1)
    return {"tiny": tiny, "full": full}


def main(out):
    for name, kw in configs().items():
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        torch.manual_seed(0)
        model = Gemma3ForCausalLM(Gemma3TextConfig(**kw)).to("cuda", torch.float32)
        model.config._attn_implementation = "eager"
        model.save_pretrained(d)
        g = torch.Generator().manual_seed(1)
        ids = torch.randint(3, kw["vocab_size"], (2, 24), generator=g).cuda()
        labels = ids.clone()
        labels[:, :4] = -100
        out_ = model(input_ids=ids, labels=labels)
        out_.loss.backward()
        tensors = {"input_ids": ids.cpu(), "labels": labels.cpu(), "logits": out_.logits.detach().float().cpu(),
                   "loss": out_.loss.detach().reshape(1).cpu()}
        for pname, p in model.named_parameters():
            grad = p.grad.detach()
            if pname.endswith("embed_tokens.weight") and name == "full":
                grad = grad[:4096]
            tensors["grad." + pname] = grad.float().cpu().contiguous()
        model.zero_grad(set_to_none=True)
        with torch.no_grad():
            model.generation_config.eos_token_id = None
            prompt = ids[:, :8]
            gen = model.generate(input_ids=prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=32,
                                 do_sample=False, pad_token_id=0)
        tensors["greedy"] = gen[:, 8:].cpu().contiguous()
        save_file(tensors, os.path.join(d, "parity.safetensors"))
        print(json.dumps({"parity": name, "loss": out_.loss.item(), "greedy_len": int(gen.shape[1] - 8),
                          "files": sorted(os.listdir(d))}), flush=True)
        with open(os.path.join(d, "config.json")) as f:
            print(f.read(), flush=True)
        del model
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/parity")
