"""Fixtures for NumpyPermutation: numpy default_rng(seed).permutation(n), as datasets.Dataset.shuffle(seed) uses it.

Run where numpy is installed (the GPU device machine):
    python3 make_permutation_fixtures.py > permutations.json
Stores intermediates (SeedSequence words, first raw PCG64 outputs) so a mismatch can be located.
"""
import hashlib
import json
import sys

import numpy as np

SEEDS = [0, 1, 40, 12345, 2**32 + 7]
SIZES = [1, 2, 10, 1000, 51004]
FULL_LIMIT = 1000  # longer permutations keep a prefix plus a digest
PREFIX = 3000


def digest(perm):
    # sha256 of the indices written as decimal text joined by ","; easy to reproduce in any language
    return hashlib.sha256(",".join(str(int(i)) for i in perm).encode("ascii")).hexdigest()


cases = []
for seed in SEEDS:
    for n in SIZES:
        perm = np.random.default_rng(seed).permutation(n)
        case = {"seed": seed, "n": n, "sha256": digest(perm)}
        if n <= FULL_LIMIT:
            case["permutation"] = [int(i) for i in perm]
        else:
            case["prefix"] = [int(i) for i in perm[:PREFIX]]
        cases.append(case)

generators = []
for seed in SEEDS:
    words = np.random.SeedSequence(seed).generate_state(4, np.uint64)
    bg = np.random.PCG64(seed)
    state = bg.state["state"]
    raw = [str(int(x)) for x in bg.random_raw(8)]
    generators.append({
        "seed": seed,
        "seed_sequence_state_u64": [str(int(w)) for w in words],
        "pcg64_state": str(int(state["state"])),
        "pcg64_inc": str(int(state["inc"])),
        "random_raw": raw,
    })

json.dump({"numpy_version": np.__version__, "python": sys.version.split()[0],
           "digest": "sha256 of ','.join(str(i) for i in perm)",
           "generators": generators, "cases": cases}, sys.stdout)
