using FunctionGemma.Core.Tokenizer;
using FunctionGemma.Model.Distributed;
using FunctionGemma.Protos;
using FunctionGemma.Storage;
using FunctionGemma.Trainer.Training;
using StackExchange.Redis;

namespace FunctionGemma.Trainer.Runs;

/// <summary>
/// <c>Trainer worker --run-id ID --rank R --world-size N --device cpu|cuda --model-dir DIR --root DIR --launch L
/// --redis CONN [--resume]</c>: one rank of a run, started by <see cref="RunSupervisor"/>. Exit code 0 = finished.
/// The run's spec is read from its Redis record; the supervisor closes stdin when it goes away, and the worker follows.
/// </summary>
public static class WorkerProgram
{
    /// <summary>Exit code when the supervisor disappeared.</summary>
    public const int OrphanedExitCode = 70;

    /// <summary>Runs the worker; returns the process exit code.</summary>
    public static async Task<int> RunAsync(string[] argv)
    {
        var a = LocalCommands.ParseArgs(argv);
        string Get(string k) => a.TryGetValue(k, out var v) ? v : throw new ArgumentException($"worker: --{k} is required.");
        var args = new WorkerArgs(Get("run-id"), int.Parse(Get("rank")), int.Parse(Get("world-size")), Get("device"),
            Get("model-dir"), Get("root"), a.ContainsKey("resume"));
        void Log(string m) => Console.Error.WriteLine($"[{DateTime.UtcNow:HH:mm:ss.fff} rank {args.Rank}] {m}");
        if (a.ContainsKey("watch-stdin"))
            _ = Task.Run(() =>
            {
                // The supervisor holds our stdin open; EOF means it is gone, and a trainer without a supervisor must not linger.
                try { while (Console.In.ReadLine() is not null) { } } catch (IOException) { }
                Log("supervisor went away (stdin closed); exiting");
                Environment.Exit(OrphanedExitCode);
            });
        try
        {
            using var redis = await ConnectionMultiplexer.ConnectAsync(Get("redis"));
            var run = await RecordStores.Runs(redis).GetAsync(args.RunId);
            var spec = run.Spec;
            var settings = TrainingSettings.From(spec);
            using var tokenizer = GemmaTokenizer.LoadFunctionGemma(args.ModelDir);
            var rows = new DatasetRows(redis);
            var trainRows = await rows.ReadAsync(spec.Dataset.Version, Split.Train);
            var evalRows = await rows.ReadAsync(spec.Dataset.Version, Split.Eval, 0, settings.MaxEvalRows);
            if (trainRows.Count == 0) throw new InvalidOperationException($"Dataset version '{spec.Dataset.Version}' has no train rows.");
            var train = TrlTokenization.TokenizeAll(tokenizer, trainRows.Select(r => r.Clean), settings.LossOn, settings.MaxLength);
            var eval = TrlTokenization.TokenizeAll(tokenizer, evalRows.Select(r => r.Clean), settings.LossOn, settings.MaxLength);
            Log($"{train.Length} train / {eval.Length} eval examples, {train.Sum(e => (long)e.Ids.Length)} train tokens; device {args.Device}, world {args.WorldSize}");

            using ICollectives comm = args.WorldSize == 1
                ? new SingleProcess()
                : await NcclCollectives.CreateAsync(new RedisRendezvous(redis, args.RunId, Get("launch")), args.Rank, args.WorldSize,
                    new TorchSharp.torch.Device(TorchSharp.DeviceType.CUDA, 0), TimeSpan.FromSeconds(120));
            ITrainEventSink events = new RunEventLog(redis, args.RunId);
            var final = await new TrainingRun(args, settings, comm, train, eval, events, Log).RunAsync(CancellationToken.None);
            Log($"finished; final checkpoint {final}");
            return 0;
        }
        catch (Exception e)
        {
            Log($"failed: {e}");
            return 1;
        }
    }
}
