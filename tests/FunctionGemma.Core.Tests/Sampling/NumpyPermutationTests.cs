using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using FunctionGemma.Core.Sampling;

namespace FunctionGemma.Core.Tests.Sampling;

public class NumpyPermutationTests
{
    private static readonly JsonNode Fixtures = Fixture.Load("permutations.json");

    public static TheoryData<string> Seeds() => [.. Fixtures["generators"]!.AsArray().Select(g => g!["seed"]!.ToJsonString())];

    public static TheoryData<string, int> Cases() =>
        [.. Fixtures["cases"]!.AsArray().Select(c => (c!["seed"]!.ToJsonString(), (int)c["n"]!))];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Seed_sequence_and_pcg64_match_numpy(string seed)
    {
        var g = Fixtures["generators"]!.AsArray().Single(x => x!["seed"]!.ToJsonString() == seed)!;
        var s = BigInteger.Parse(seed);
        var words = NumpyPermutation.SeedSequenceState(s, 4);
        Assert.Equal(g["seed_sequence_state_u64"]!.AsArray().Select(w => ulong.Parse((string)w!)), words);
        var rng = NumpyPermutation.Pcg64.FromSeed(s);
        Assert.Equal(BigInteger.Parse((string)g["pcg64_state"]!), (BigInteger)rng.State);
        Assert.Equal(BigInteger.Parse((string)g["pcg64_inc"]!), (BigInteger)rng.Increment);
        Assert.Equal(g["random_raw"]!.AsArray().Select(w => ulong.Parse((string)w!)), Enumerable.Range(0, 8).Select(_ => rng.NextUInt64()));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Permutation_matches_numpy_default_rng(string seed, int n)
    {
        var c = Fixtures["cases"]!.AsArray().Single(x => x!["seed"]!.ToJsonString() == seed && (int)x["n"]! == n)!;
        var perm = NumpyPermutation.Permutation(BigInteger.Parse(seed), n);
        if (c["permutation"] is JsonArray full) Assert.Equal(full.Select(i => (int)i!), perm);
        else Assert.Equal(c["prefix"]!.AsArray().Select(i => (int)i!), perm.Take(c["prefix"]!.AsArray().Count));
        var digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(string.Join(",", perm))));
        Assert.Equal((string)c["sha256"]!, digest);
    }

    [Fact]
    public void Reference_subset_takes_first_3000_of_seed_40_and_splits_2700_300()
    {
        var split = SubsetSplit.Reference(51004);
        var prefix = Fixtures["cases"]!.AsArray().Single(x => (long)x!["seed"]! == 40 && (int)x["n"]! == 51004)!["prefix"]!.AsArray().Select(i => (int)i!).ToArray();
        Assert.Equal(2700, split.Train.Count);
        Assert.Equal(300, split.Eval.Count);
        Assert.Equal(prefix[..2700], split.Train);
        Assert.Equal(prefix[2700..3000], split.Eval);
    }

    [Fact]
    public void Subset_of_a_small_dataset_keeps_every_row()
    {
        var split = SubsetSplit.Create(10, 40, 3000, 2700);
        Assert.Equal(NumpyPermutation.Permutation(40, 10), split.Train);
        Assert.Empty(split.Eval);
    }
}
