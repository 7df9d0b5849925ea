using FunctionGemma.Trainer.Runs;

namespace FunctionGemma.Trainer.Tests;

public sealed class RendezvousTests
{
    [Fact]
    public async Task Ranks_receive_the_id_rank_0_published_for_their_launch_and_time_out_without_it()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var redis = await RedisServer.StartAsync();
        var id = Enumerable.Range(0, 128).Select(i => (byte)i).ToArray();
        var waiting = new RedisRendezvous(redis.Connection, "r", "launch-1").WaitAsync(TimeSpan.FromSeconds(10), ct);
        await new RedisRendezvous(redis.Connection, "r", "launch-1").PublishAsync(id, ct);
        Assert.Equal(id, await waiting);

        // A relaunch never reads the id of an earlier launch: it waits, then fails clearly.
        var e = await Assert.ThrowsAsync<TimeoutException>(() => new RedisRendezvous(redis.Connection, "r", "launch-2").WaitAsync(TimeSpan.FromMilliseconds(300), ct));
        Assert.Contains("launch-2", e.Message);
    }
}
