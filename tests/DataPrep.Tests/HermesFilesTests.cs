using FunctionGemma.Core.Hermes;
using FunctionGemma.Core.Json;
using FunctionGemma.Core.Sampling;
using FunctionGemma.Storage.Hermes;

namespace FunctionGemma.DataPrep.Tests;

public sealed class HermesFilesTests
{
    private static async Task<List<HermesRow>> ReadAll(string path)
    {
        var rows = new List<HermesRow>();
        await foreach (var r in HermesFiles.ReadAsync(HermesFiles.Discover(path), null, TestContext.Current.CancellationToken)) rows.Add(r.Row);
        return rows;
    }

    [Theory]
    [InlineData("jsonl")]
    [InlineData("parquet")]
    public async Task Cleaned_sample_rows_equal_the_reference_python_rules(string format)
    {
        var rows = await ReadAll(format == "jsonl" ? SampleData.JsonlPath : SampleData.ParquetPath);
        Assert.Equal(SampleData.ExpectedRows.Count, rows.Count);
        for (int i = 0; i < rows.Count; i++)
        {
            var expected = SampleData.ExpectedRows[i];
            var outcome = HermesCleaner.Clean(rows[i]);
            Assert.Equal(expected.Kept, outcome.Kept);
            if (!expected.Kept) { Assert.Equal(expected.Drop, outcome.Dropped.ToString()); continue; }
            var clean = outcome.Row!;
            Assert.Equal(expected.UserContent, clean.UserContent);
            Assert.Equal(expected.ToolName, clean.ToolName);
            Assert.Equal(expected.ToolArguments, clean.ToolArguments);
            Assert.Equal(expected.ToolsJson, PythonJson.Dumps(clean.Tools));
        }
    }

    [Fact]
    public void Sample_covers_every_drop_reason_and_keeps_most_rows()
    {
        var drops = SampleData.ExpectedRows.Where(r => !r.Kept).Select(r => r.Drop!).ToHashSet();
        Assert.Equal(Enum.GetNames<DropReason>().ToHashSet(), drops);
        Assert.InRange(SampleData.ExpectedRows.Count(r => r.Kept), 100, 180);
    }

    [Fact]
    public async Task Parquet_and_jsonl_copies_of_the_sample_hold_the_same_rows()
    {
        var jsonl = await ReadAll(SampleData.JsonlPath);
        var parquet = await ReadAll(SampleData.ParquetPath);
        Assert.Equal(jsonl.Count, parquet.Count);
        for (int i = 0; i < jsonl.Count; i++)
        {
            Assert.Equal(jsonl[i].Task, parquet[i].Task);
            Assert.Equal(jsonl[i].ScenarioCategory, parquet[i].ScenarioCategory);
            Assert.Equal(jsonl[i].Conversations, parquet[i].Conversations);
        }
        Assert.Equal(202, await HermesFiles.CountRowsAsync(HermesFiles.Discover(SampleData.ParquetPath), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Parquet_written_by_pyarrow_with_the_hub_schema_reads_like_the_jsonl()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "sample-written-by-pyarrow.parquet");
        var jsonl = await ReadAll(SampleData.JsonlPath);
        var pyarrow = await ReadAll(path);
        Assert.Equal(jsonl.Count, pyarrow.Count);
        for (int i = 0; i < jsonl.Count; i++)
        {
            Assert.Equal(jsonl[i].Task, pyarrow[i].Task);
            Assert.Equal(jsonl[i].Source, pyarrow[i].Source);
            Assert.Equal(jsonl[i].Conversations, pyarrow[i].Conversations);
            Assert.Equal(HermesCleaner.Clean(jsonl[i]).Row?.ToolArguments, HermesCleaner.Clean(pyarrow[i]).Row?.ToolArguments);
        }
    }

    [Fact]
    public async Task A_folder_of_shards_reads_in_path_order_and_keep_skips_rows()
    {
        var ct = TestContext.Current.CancellationToken;
        var rows = await ReadAll(SampleData.JsonlPath);
        var dir = Directory.CreateTempSubdirectory("fg-shards-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "data"));
            await HermesFiles.WriteParquetAsync(rows.Skip(100), Path.Combine(dir, "data", "train-00001-of-00002.parquet"), ct);
            await HermesFiles.WriteParquetAsync(rows.Take(100), Path.Combine(dir, "data", "train-00000-of-00002.parquet"), ct);
            var files = HermesFiles.Discover(dir);
            Assert.Equal(202, await HermesFiles.CountRowsAsync(files, ct));
            var picked = new List<IndexedHermesRow>();
            await foreach (var r in HermesFiles.ReadAsync(files, i => i is 3 or 150, ct)) picked.Add(r);
            Assert.Equal([3L, 150L], picked.Select(p => p.Index));
            Assert.Equal(rows[150].Task, picked[1].Row.Task);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task A_parquet_file_without_the_hermes_columns_is_rejected_naming_them()
    {
        var path = Path.Combine(Path.GetTempPath(), $"fg-wrong-{Guid.NewGuid():N}.parquet");
        try
        {
            await Parquet.Serialization.ParquetSerializer.SerializeAsync(new[] { new WrongShape { Question = "q", Answer = "a" } }, path,
                cancellationToken: TestContext.Current.CancellationToken);
            var e = await Assert.ThrowsAsync<ArgumentException>(() => HermesFiles.CountRowsAsync(HermesFiles.Discover(path), TestContext.Current.CancellationToken));
            Assert.Contains("conversations, tools, task", e.Message);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public async Task Unreadable_files_are_argument_errors_naming_the_file()
    {
        var ct = TestContext.Current.CancellationToken;
        var notParquet = Path.Combine(Path.GetTempPath(), $"fg-bad-{Guid.NewGuid():N}.parquet");
        var badJsonl = Path.Combine(Path.GetTempPath(), $"fg-bad-{Guid.NewGuid():N}.jsonl");
        try
        {
            await File.WriteAllTextAsync(notParquet, "this is not parquet", ct);
            await File.WriteAllTextAsync(badJsonl, "{\"task\": \"ok\", \"conversations\": []}\n[1, 2]\n", ct);
            var e1 = await Assert.ThrowsAsync<ArgumentException>(() => HermesFiles.CountRowsAsync(HermesFiles.Discover(notParquet), ct));
            Assert.Contains(notParquet, e1.Message);
            var e2 = await Assert.ThrowsAsync<ArgumentException>(() => ReadAll(badJsonl));
            Assert.Contains("line 2", e2.Message);
            Assert.Throws<ArgumentException>(() => HermesFiles.Discover(Path.ChangeExtension(badJsonl, ".csv") is var csv && File.Exists(csv) ? csv : WriteCsv(csv)));
        }
        finally { File.Delete(notParquet); File.Delete(badJsonl); File.Delete(Path.ChangeExtension(badJsonl, ".csv")); }

        static string WriteCsv(string path) { File.WriteAllText(path, "a,b"); return path; }
    }

    [Fact]
    public void Seeded_split_is_numpy_permutation_cut_by_counts()
    {
        // fg data split and DataPrep both use Core's SubsetSplit; numpy conformance is tested in Core. Here: the cut.
        var split = SubsetSplit.Create(202, 40, 202, 182);
        Assert.Equal(182, split.Train.Count);
        Assert.Equal(20, split.Eval.Count);
        Assert.Equal(Enumerable.Range(0, 202), split.Train.Concat(split.Eval).Order());
        Assert.Equal(NumpyPermutation.Permutation(40, 202).Take(182), split.Train);
    }

    private sealed class WrongShape
    {
        public string? Question { get; set; }
        public string? Answer { get; set; }
    }
}
