using FunctionGemma.Model;
using FunctionGemma.Model.Distributed;
using FunctionGemma.Trainer.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FunctionGemma.Trainer.Tests;

public sealed class OptimizerAndCheckpointTests
{
    sealed class RecordingCollectives : ICollectives
    {
        public List<long> Sizes { get; } = [];
        public int Rank => 0;
        public int WorldSize => 2;
        public void AllReduceSum(Tensor tensor) { Assert.True(tensor.is_contiguous()); Sizes.Add(tensor.NumberOfElements); tensor.mul_(2); }
        public void ReduceScatterSum(Tensor tensor) { Sizes.Add(-tensor.NumberOfElements); tensor.mul_(2); }
        public void AllGather(Tensor tensor) { }
        public void Abort() { }
        public void Dispose() { }
    }

    [Fact]
    public void The_stats_are_all_reduced_first_then_the_gradients_in_contiguous_buckets_that_cover_the_buffer_once()
    {
        var comm = new RecordingCollectives();
        var hook = BucketedAllReduce.For(comm, bucketElements: 4)!;
        using var grads = arange(10, ScalarType.Float32);
        using var stats = tensor(new[] { 1.0, 2.0, 3.0 });
        hook.ReduceGradients(grads, stats, scatter: false);
        Assert.Equal([3L, 4L, 4L, 2L], comm.Sizes);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => 2f * i), grads.data<float>().ToArray());
        Assert.Equal([2.0, 4.0, 6.0], stats.data<double>().ToArray());
        // A sharded optimizer needs only this rank's slice summed: one reduce-scatter over the whole buffer.
        comm.Sizes.Clear();
        hook.ReduceGradients(grads, stats, scatter: true);
        Assert.Equal([3L, -10L], comm.Sizes);
        Assert.Null(BucketedAllReduce.For(new SingleProcess()));
    }

    [Fact]
    public void A_timed_hook_records_each_call_even_at_world_size_one_and_leaves_the_sums_alone()
    {
        var timing = new AllReduceTiming();
        var hook = BucketedAllReduce.For(new SingleProcess(), timing: timing);
        Assert.NotNull(hook);
        using var grads = arange(10, ScalarType.Float32);
        using var stats = tensor(new[] { 1.0, 2.0, 3.0 });
        long before = System.Diagnostics.Stopwatch.GetTimestamp();
        hook!.ReduceGradients(grads, stats, scatter: false);
        hook.ReduceGradients(grads, stats, scatter: true);
        Assert.Equal(2, timing.Calls);
        Assert.InRange(timing.Entered, before, timing.Left);
        Assert.True(timing.WaitSeconds >= 0 && timing.TransferSeconds >= 0);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (float)i), grads.data<float>().ToArray());
        Assert.Equal([1.0, 2.0, 3.0], stats.data<double>().ToArray());
    }

    [Fact]
    public void Checkpoints_restore_exactly_and_a_torn_temporary_folder_is_never_the_latest()
    {
        var root = Directory.CreateTempSubdirectory("fg-ckpt-").FullName;
        try
        {
            var config = Gemma3Config.Tiny(layers: 2, vocabSize: 64);
            using var trainer = new SftTrainer(Gemma3ForCausalLM.Create(config, 3), new TrainingOptions(LearningRate: 1e-2));
            var gen = new Generator(5);
            using (var batch = new TrainingBatch(randint(3, 64, [2, 9], generator: gen), randint(3, 64, [2, 9], generator: gen))) trainer.Step(batch);
            var state = new TrainerState(4, 4, 10, trainer.StepCount, 42, 1, 16, new DataCursor(0, 4, 64), "", 1000);
            var path = Checkpoints.Save(root, "r", trainer, state, null);
            Directory.CreateDirectory(Path.Combine(root, "r", ".tmp-checkpoint-000008-dead"));
            Directory.CreateDirectory(Path.Combine(root, "r", "checkpoint-000009")); // no trainer_state.json: incomplete
            Assert.Equal((4L, path), Checkpoints.Latest(root, "r"));
            Assert.Equal(state, Checkpoints.ReadState(path));
            using var fresh = new SftTrainer(Gemma3ForCausalLM.Create(config, 99), new TrainingOptions(LearningRate: 1e-2));
            Checkpoints.Restore(path, fresh);
            Assert.Equal(trainer.StepCount, fresh.StepCount);
            var expected = trainer.Model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            foreach (var (name, p) in fresh.Model.named_parameters())
                Assert.True(p.equal(expected[name]).all().item<bool>(), $"{name} differs after restore");
            // The checkpoint is a Hugging Face directory the Model library loads.
            using var loaded = HfModelDirectory.Load(path);
            Assert.Equal(config.HiddenSize, loaded.Config.HiddenSize);
        }
        finally { Directory.Delete(root, true); }
    }

    [Fact]
    [Trait("Category", "Gpu")]
    public async Task Nccl_collectives_at_world_size_one_are_the_identity_on_a_cuda_tensor()
    {
        Assert.True(cuda.is_available(), "no CUDA device");
        var rendezvous = new InMemoryRendezvous();
        using var comm = await NcclCollectives.CreateAsync(rendezvous, 0, 1, new Device(DeviceType.CUDA, 0), TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        using var t = arange(10, ScalarType.Float32).cuda();
        comm.AllReduceSum(t);
        comm.ReduceScatterSum(t);
        comm.AllGather(t);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (float)i), t.cpu().data<float>().ToArray());
    }

    sealed class InMemoryRendezvous : IRendezvous
    {
        readonly TaskCompletionSource<byte[]> _id = new();
        public Task PublishAsync(byte[] id, CancellationToken ct) { _id.TrySetResult(id); return Task.CompletedTask; }
        public Task<byte[]> WaitAsync(TimeSpan timeout, CancellationToken ct) => _id.Task.WaitAsync(timeout, ct);
    }
}
