using FunctionGemma.Model;
using FunctionGemma.Protos;
using FunctionGemma.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace FunctionGemma.Trainer.Runs;

/// <summary>
/// Command-line verbs of the Trainer executable besides the service: <c>train</c> runs one spec to its end against a
/// Redis without the gRPC host (benchmarks, the GPU machine), <c>random-model</c> writes a randomly initialized model.
/// </summary>
public static class LocalCommands
{
    /// <summary>
    /// <c>Trainer train --redis CONN --spec SPEC.json --run-id ID [--root DIR]</c>: the spec is TrainSpec protobuf JSON;
    /// events are printed as JSON lines; exit code 0 when the run succeeded.
    /// </summary>
    public static async Task<int> TrainAsync(Dictionary<string, string> a)
    {
        using var redis = await ConnectionMultiplexer.ConnectAsync(a["redis"]);
        var spec = ProtoJson.Read<TrainSpec>(File.ReadAllText(a["spec"]));
        var runId = a.TryGetValue("run-id", out var id) ? id : spec.RunId;
        var options = Options.Create(new TrainerOptions { Root = a.GetValueOrDefault("root", ""), Redis = a["redis"] });
        using var logs = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true));
        var supervisor = new RunSupervisor(redis, options, new ModelResolver(options), logs.CreateLogger<RunSupervisor>());
        await supervisor.SubmitAsync(runId, spec, CancellationToken.None);
        using var stop = new CancellationTokenSource();
        var print = Task.Run(async () =>
        {
            try
            {
                await foreach (var e in new RunEventLog(redis, runId).FollowAsync(TimeSpan.FromMilliseconds(200), stop.Token))
                    Console.WriteLine(ProtoJson.Write(e));
            }
            catch (OperationCanceledException) { }
        });
        var run = await supervisor.ExecuteRunAsync(runId, CancellationToken.None);
        await Task.WhenAny(print, Task.Delay(5000));
        stop.Cancel();
        return run.State == JobState.Succeeded ? 0 : 1;
    }

    /// <summary><c>Trainer random-model --size tiny|270m --seed N --out DIR</c>: the Model library's random-init HF directory (with tokenizer).</summary>
    public static int RandomModel(Dictionary<string, string> a)
    {
        RandomInitModels.Create(a.GetValueOrDefault("size", "tiny"), ulong.Parse(a.GetValueOrDefault("seed", "1")), a["out"]);
        Console.WriteLine($"wrote {a["out"]}");
        return 0;
    }

    /// <summary><c>--key value</c> pairs (a key without a value is "true").</summary>
    public static Dictionary<string, string> ParseArgs(string[] argv)
    {
        var d = new Dictionary<string, string>();
        for (int i = 0; i < argv.Length; i++)
        {
            if (!argv[i].StartsWith("--", StringComparison.Ordinal)) continue;
            d[argv[i][2..]] = i + 1 < argv.Length && !argv[i + 1].StartsWith("--", StringComparison.Ordinal) ? argv[++i] : "true";
        }
        return d;
    }
}
