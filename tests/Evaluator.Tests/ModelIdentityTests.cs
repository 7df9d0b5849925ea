using FunctionGemma.Evaluator.Evaluation;

namespace FunctionGemma.Evaluator.Tests;

public sealed class ModelIdentityTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fg-eval-identity-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        File.WriteAllText(Path.Combine(_dir, name), text);
        // A later write within the same clock tick must still count: the cache keys on size and mtime.
        File.SetLastWriteTimeUtc(Path.Combine(_dir, name), DateTime.UtcNow.AddSeconds(Random.Shared.Next(1, 1000)));
        return Path.Combine(_dir, name);
    }

    [Fact]
    public void Identity_follows_the_weights_config_and_tokenizer_but_not_optimizer_state()
    {
        Write("config.json", "{}");
        Write("model.safetensors", "weights-a");
        var first = ModelResolver.DirectoryIdentity(_dir);
        Assert.Matches("^sha256:[0-9a-f]{64}$", first);
        Assert.Equal(first, ModelResolver.DirectoryIdentity(_dir));

        Write("optimizer.safetensors", "moments");
        Write("trainer_state.json", "{\"global_step\": 10}");
        Assert.Equal(first, ModelResolver.DirectoryIdentity(_dir));

        Write("model.safetensors", "weights-b");
        var second = ModelResolver.DirectoryIdentity(_dir);
        Assert.NotEqual(first, second);

        Write("tokenizer.json", "{}");
        Assert.NotEqual(second, ModelResolver.DirectoryIdentity(_dir));
    }
}
