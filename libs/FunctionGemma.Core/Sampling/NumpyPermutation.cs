using System.Numerics;

namespace FunctionGemma.Core.Sampling;

/// <summary>
/// <c>numpy.random.default_rng(seed).permutation(n)</c>, bit for bit: SeedSequence → PCG64 (XSL-RR 128/64) →
/// <c>Generator.shuffle</c>, whose Fisher–Yates draws use numpy's masked-rejection <c>random_interval</c>
/// on buffered 32-bit halves. This is how Hugging Face <c>datasets</c> shuffles with a seed.
/// </summary>
public static class NumpyPermutation
{
    /// <summary>The permutation of 0..n-1 that numpy produces for <paramref name="seed"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">n is negative.</exception>
    public static int[] Permutation(BigInteger seed, int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        var perm = new int[n];
        for (int i = 0; i < n; i++) perm[i] = i;
        var rng = Pcg64.FromSeed(seed);
        for (int i = n - 1; i >= 1; i--)
        {
            int j = (int)rng.Interval((ulong)i);
            (perm[i], perm[j]) = (perm[j], perm[i]);
        }
        return perm;
    }

    /// <summary>numpy <c>SeedSequence(seed).generate_state(nWords, uint64)</c> for a non-negative integer seed.</summary>
    public static ulong[] SeedSequenceState(BigInteger seed, int nWords)
    {
        if (seed.Sign < 0) throw new ArgumentOutOfRangeException(nameof(seed), seed, "numpy seeds must be non-negative integers.");
        // The entropy integer as little-endian 32-bit words (0 → [0]).
        var entropy = new List<uint>();
        var rest = seed;
        do { entropy.Add((uint)(rest & uint.MaxValue)); rest >>= 32; } while (!rest.IsZero);

        const uint InitA = 0x43b0d7e5, MultA = 0x931e8875, InitB = 0x8b51f9dd, MultB = 0x58f38ded;
        const uint MixMultL = 0xca01f9dd, MixMultR = 0x4973f715;
        const int PoolSize = 4;
        uint hashConst = InitA;
        uint Hashmix(uint value)
        {
            value ^= hashConst;
            hashConst *= MultA;
            value *= hashConst;
            value ^= value >> 16;
            return value;
        }
        static uint Mix(uint x, uint y)
        {
            uint result = MixMultL * x - MixMultR * y;
            return result ^ (result >> 16);
        }

        var pool = new uint[PoolSize];
        for (int i = 0; i < PoolSize; i++) pool[i] = Hashmix(i < entropy.Count ? entropy[i] : 0);
        for (int src = 0; src < PoolSize; src++)
            for (int dst = 0; dst < PoolSize; dst++)
                if (src != dst) pool[dst] = Mix(pool[dst], Hashmix(pool[src]));
        for (int src = PoolSize; src < entropy.Count; src++)
            for (int dst = 0; dst < PoolSize; dst++)
                pool[dst] = Mix(pool[dst], Hashmix(entropy[src]));

        var words = new uint[nWords * 2];
        uint hb = InitB;
        for (int i = 0; i < words.Length; i++)
        {
            uint v = pool[i % PoolSize];
            v ^= hb;
            hb *= MultB;
            v *= hb;
            v ^= v >> 16;
            words[i] = v;
        }
        var state = new ulong[nWords];
        for (int i = 0; i < nWords; i++) state[i] = words[2 * i] | ((ulong)words[2 * i + 1] << 32);
        return state;
    }

    /// <summary>numpy's PCG64 bit generator (state, increment, and the buffered 32-bit half numpy keeps).</summary>
    public sealed class Pcg64
    {
        private static readonly UInt128 Multiplier = new(0x2360ED051FC65DA4, 0x4385DF649FCCF645);
        private UInt128 _state;
        private readonly UInt128 _inc;
        private bool _hasUint32;
        private uint _uinteger;

        private Pcg64(UInt128 initState, UInt128 initSeq)
        {
            _inc = (initSeq << 1) | 1;
            _state = 0;
            Step();
            _state += initState;
            Step();
        }

        /// <summary>PCG64 seeded as <c>numpy.random.PCG64(seed)</c>.</summary>
        public static Pcg64 FromSeed(BigInteger seed)
        {
            var s = SeedSequenceState(seed, 4);
            return new Pcg64(new UInt128(s[0], s[1]), new UInt128(s[2], s[3]));
        }

        /// <summary>The 128-bit state after seeding or drawing.</summary>
        public UInt128 State => _state;

        /// <summary>The odd 128-bit increment.</summary>
        public UInt128 Increment => _inc;

        private void Step() => _state = unchecked(_state * Multiplier + _inc);

        /// <summary>Next 64-bit output (numpy <c>random_raw</c>).</summary>
        public ulong NextUInt64()
        {
            Step();
            ulong hi = (ulong)(_state >> 64), lo = (ulong)_state;
            int rot = (int)(_state >> 122);
            return BitOperations.RotateRight(hi ^ lo, rot);
        }

        /// <summary>Next 32 bits: the low half of a fresh 64-bit draw, then its high half.</summary>
        public uint NextUInt32()
        {
            if (_hasUint32) { _hasUint32 = false; return _uinteger; }
            ulong next = NextUInt64();
            _hasUint32 = true;
            _uinteger = (uint)(next >> 32);
            return (uint)next;
        }

        /// <summary>numpy <c>random_interval(max)</c>: uniform in [0, max] by masked rejection.</summary>
        public ulong Interval(ulong max)
        {
            if (max == 0) return 0;
            ulong mask = max;
            mask |= mask >> 1; mask |= mask >> 2; mask |= mask >> 4; mask |= mask >> 8; mask |= mask >> 16; mask |= mask >> 32;
            ulong value;
            if (max <= uint.MaxValue)
                while ((value = NextUInt32() & mask) > max) { }
            else
                while ((value = NextUInt64() & mask) > max) { }
            return value;
        }
    }
}
