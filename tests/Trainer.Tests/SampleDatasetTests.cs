using FunctionGemma.Protos;
using FunctionGemma.Storage;

namespace FunctionGemma.Trainer.Tests;

public sealed class SampleDatasetTests
{
    /// <summary>
    /// The sample rows written through the Storage writer read back through DatasetRows, as the workers read them.
    /// With FG_TRAINER_DUMP_DIR set, the server's RDB snapshot is saved there too (the dataset the GPU run loads).
    /// </summary>
    [Fact]
    public async Task Sample_rows_written_through_Storage_read_back_as_the_workers_read_them()
    {
        await using var redis = await RedisServer.StartAsync();
        var (train, eval) = await SampleDataset.SeedAsync(redis.Connection);
        var rows = new DatasetRows(redis.Connection);
        var trainRows = await rows.ReadAsync(SampleDataset.Version, Split.Train, ct: TestContext.Current.CancellationToken);
        Assert.Equal(train, trainRows.Count);
        Assert.Equal(eval, (await rows.ReadAsync(SampleDataset.Version, Split.Eval, ct: TestContext.Current.CancellationToken)).Count);
        Assert.True(train > 50, $"only {train} clean train rows");
        if (Environment.GetEnvironmentVariable("FG_TRAINER_DUMP_DIR") is { Length: > 0 } dump)
        {
            var server = redis.Connection.GetServer(redis.Connection.GetEndPoints()[0]);
            await server.ExecuteAsync("SAVE");
            File.Copy(Path.Combine(redis.DataDirectory, "dump.rdb"), Path.Combine(dump, "dump.rdb"), overwrite: true);
        }
    }
}
