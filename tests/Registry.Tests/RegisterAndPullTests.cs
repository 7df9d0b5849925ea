using FunctionGemma.Protos;
using FunctionGemma.Registry.Client;
using Grpc.Core;

namespace FunctionGemma.Registry.Tests;

public sealed class RegisterAndPullTests(RegistryHost host) : IClassFixture<RegistryHost>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static void AssertSameFiles(string expectedDir, string actualDir)
    {
        var expected = Directory.EnumerateFiles(expectedDir, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(expectedDir, f)).Where(p => !p.StartsWith('.')).Order().ToList();
        var actual = Directory.EnumerateFiles(actualDir, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(actualDir, f)).Where(p => !p.StartsWith('.')).Order().ToList();
        Assert.Equal(expected, actual);
        foreach (var f in expected) Assert.Equal(File.ReadAllBytes(Path.Combine(expectedDir, f)), File.ReadAllBytes(Path.Combine(actualDir, f)));
    }

    [Fact]
    public async Task Streamed_upload_then_pull_gives_back_the_same_bytes()
    {
        var model = ModelFixture.Create(host.Scratch, weightBytes: 300_000, seed: 11);
        var registered = await host.Client.UploadDirectoryAsync(ModelFixture.Header("upload-model"), model, chunkBytes: 50_000, ct: Ct);

        Assert.Equal(64, registered.Version.Length);
        Assert.Equal(6, registered.Files.Count);
        Assert.DoesNotContain(registered.Files, f => f.Path.StartsWith(".cache"));
        Assert.Contains("latest", registered.Aliases);
        Assert.Equal("exp-42", registered.Lineage.ExperimentId);
        Assert.Equal("google/functiongemma-270m-it", registered.BaseModel);

        var target = Path.Combine(host.NewDir(), "pulled");
        var pulled = await host.Client.PullToDirectoryAsync("upload-model:latest", target, Ct);
        Assert.Equal(registered.Version, pulled.Version);
        AssertSameFiles(model, target);
    }

    [Fact]
    public async Task Registering_a_checkpoint_directory_and_pulling_by_alias_round_trips()
    {
        var model = ModelFixture.Create(host.Scratch, seed: 12);
        var registered = await host.Client.RegisterDirectoryAsync(new RegisterDirectoryRequest { Header = ModelFixture.Header("dir-model", 0.9, "candidate"), Path = model }, cancellationToken: Ct);
        Assert.Equal(["candidate", "latest"], registered.Aliases);

        var dir = await host.Client.ResolveToDirectoryAsync(new ModelRef { RegistryAlias = "dir-model:candidate" }, host.NewDir(), Ct);
        Assert.EndsWith(registered.Version, dir);
        AssertSameFiles(model, dir);
    }

    [Fact]
    public async Task Pull_resumes_from_a_path_and_offset()
    {
        var model = ModelFixture.Create(host.Scratch, weightBytes: 500_000, seed: 13);
        var v = await host.Client.RegisterDirectoryAsync(new RegisterDirectoryRequest { Header = ModelFixture.Header("resume-model"), Path = model }, cancellationToken: Ct);

        // The server side: only the bytes from the offset on, and the files after it.
        using var call = host.Client.PullModel(new PullModelRequest { Ref = v.Version, Path = "model.safetensors", Offset = 123_456 }, cancellationToken: Ct);
        var chunks = await call.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);
        var weights = chunks.Where(c => c.Path == "model.safetensors").ToList();
        Assert.Equal(123_456, weights[0].Offset);
        Assert.Equal(File.ReadAllBytes(Path.Combine(model, "model.safetensors"))[123_456..], weights.SelectMany(c => c.Data.ToByteArray()).ToArray());
        Assert.DoesNotContain(chunks, c => c.Path == "generation_config.json"); // sorted before model.safetensors
        Assert.Contains(chunks, c => c.Path == "tokenizer.json");

        // The client side: a half-written .part file is continued, not restarted.
        var target = host.NewDir();
        foreach (var f in v.Files.Where(f => string.CompareOrdinal(f.Path, "model.safetensors") < 0))
            File.Copy(Path.Combine(model, f.Path), Path.Combine(target, f.Path));
        File.WriteAllBytes(Path.Combine(target, "model.safetensors.part"), File.ReadAllBytes(Path.Combine(model, "model.safetensors"))[..200_000]);
        await host.Client.PullToDirectoryAsync(v.Version, target, Ct);
        AssertSameFiles(model, target);
        Assert.False(File.Exists(Path.Combine(target, "model.safetensors.part")));
    }

    [Fact]
    public async Task A_tampered_blob_is_reported_and_never_served()
    {
        var model = ModelFixture.Create(host.Scratch, weightBytes: 200_000, seed: 14);
        var v = await host.Client.RegisterDirectoryAsync(new RegisterDirectoryRequest { Header = ModelFixture.Header("tampered-model"), Path = model }, cancellationToken: Ct);
        var weights = v.Files.Single(f => f.Path == "model.safetensors");
        var blob = host.BlobPath(weights.Sha256);
        var bytes = File.ReadAllBytes(blob);
        bytes[100_000] ^= 0xFF;
        File.WriteAllBytes(blob, bytes);

        // The stream is hashed as it goes; the last chunk is held back until the hash matches, so the file never arrives whole.
        using var call = host.Client.PullModel(new PullModelRequest { Ref = v.Version, Path = "model.safetensors" }, cancellationToken: Ct);
        var received = new List<ModelChunk>();
        var e = await Assert.ThrowsAsync<RpcException>(async () => { await foreach (var c in call.ResponseStream.ReadAllAsync(Ct)) received.Add(c); });
        Assert.Equal(StatusCode.DataLoss, e.StatusCode);
        Assert.True(received.Sum(c => c.Data.Length) < weights.Size);

        // A truncated blob is caught before any byte leaves.
        var tokenizer = v.Files.Single(f => f.Path == "tokenizer.json");
        File.WriteAllBytes(host.BlobPath(tokenizer.Sha256), File.ReadAllBytes(host.BlobPath(tokenizer.Sha256))[..1000]);
        using var truncated = host.Client.PullModel(new PullModelRequest { Ref = v.Version, Path = "tokenizer.json" }, cancellationToken: Ct);
        var t = await Assert.ThrowsAsync<RpcException>(async () => await truncated.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct));
        Assert.Equal(StatusCode.DataLoss, t.StatusCode);
        Assert.Contains("size 1000", t.Status.Detail);
        Assert.Contains(weights.Sha256, e.Status.Detail);
        Assert.Contains("corrupt", e.Status.Detail);

        var target = host.NewDir();
        var pull = await Assert.ThrowsAsync<RpcException>(() => host.Client.PullToDirectoryAsync(v.Version, target, Ct));
        Assert.Equal(StatusCode.DataLoss, pull.StatusCode);
        Assert.False(File.Exists(Path.Combine(target, "model.safetensors")));
        Assert.False(File.Exists(Path.Combine(target, "model.safetensors.part")));
        Assert.False(File.Exists(Path.Combine(target, RegistryClientExtensions.CompleteMarker)));

        var http = await host.Http.GetAsync($"/tampered-model/resolve/main/model.safetensors", Ct);
        Assert.Equal(System.Net.HttpStatusCode.InternalServerError, http.StatusCode);
        var body = await http.Content.ReadAsStringAsync(Ct);
        Assert.Contains(weights.Sha256, body);
        Assert.True(body.Length < 2000);
    }

    [Fact]
    public async Task Concurrent_registrations_of_the_same_files_store_each_blob_once()
    {
        var model = ModelFixture.Create(host.Scratch, weightBytes: 400_000, seed: 15);
        var header = ModelFixture.Header("dedupe-model");
        var registrations = Enumerable.Range(0, 6).Select(i => i % 2 == 0
            ? host.Client.RegisterDirectoryAsync(new RegisterDirectoryRequest { Header = header, Path = model }, cancellationToken: Ct).ResponseAsync
            : host.Client.UploadDirectoryAsync(header, model, chunkBytes: 32 * 1024, ct: Ct));
        // The same files under another name: another version, the same blobs.
        var sibling = host.Client.RegisterDirectoryAsync(new RegisterDirectoryRequest { Header = ModelFixture.Header("dedupe-sibling"), Path = model }, cancellationToken: Ct).ResponseAsync;
        var versions = await Task.WhenAll(registrations);

        Assert.Single(versions.Select(v => v.Version).Distinct());
        var siblingVersion = await sibling;
        Assert.NotEqual(versions[0].Version, siblingVersion.Version);
        Assert.Equal(versions[0].Files.Select(f => f.Sha256), siblingVersion.Files.Select(f => f.Sha256));
        foreach (var f in versions[0].Files) Assert.True(File.Exists(host.BlobPath(f.Sha256)));
        var blobs = Directory.EnumerateFiles(Path.Combine(host.Root, "blobs"), "*", SearchOption.AllDirectories).ToList();
        var shas = versions[0].Files.Select(f => f.Sha256).ToHashSet();
        Assert.Equal(shas.Count, blobs.Count(b => shas.Contains(Path.GetFileName(b))));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(host.Root, "incoming")));
        var list = await host.Client.ListModelsAsync(new ListModelsRequest { Name = "dedupe-model" }, cancellationToken: Ct);
        Assert.Single(list.Models);
    }

    [Fact]
    public async Task Upload_with_a_wrong_declared_hash_is_rejected()
    {
        using var call = host.Client.RegisterModel(cancellationToken: Ct);
        var header = ModelFixture.Header("bad-hash-model");
        header.Files.Add(new ModelFile { Path = "config.json", Size = 2, Sha256 = new string('0', 64) });
        await call.RequestStream.WriteAsync(new RegisterModelRequest { Header = header }, Ct);
        await call.RequestStream.WriteAsync(new RegisterModelRequest { Chunk = new FileChunk { Path = "config.json", Data = Google.Protobuf.ByteString.CopyFromUtf8("{}") } }, Ct);
        await call.RequestStream.CompleteAsync();
        var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("declared", e.Status.Detail);
    }

    [Fact]
    public async Task Aliases_move_atomically_and_list_filters_by_metric()
    {
        var v1 = await host.Client.RegisterDirectoryAsync(new RegisterDirectoryRequest { Header = ModelFixture.Header("alias-model", 0.80), Path = ModelFixture.Create(host.Scratch, seed: 21) }, cancellationToken: Ct);
        var v2 = await host.Client.RegisterDirectoryAsync(new RegisterDirectoryRequest { Header = ModelFixture.Header("alias-model", 0.95), Path = ModelFixture.Create(host.Scratch, seed: 22) }, cancellationToken: Ct);
        Assert.NotEqual(v1.Version, v2.Version);
        Assert.Equal(v2.Version, (await host.Client.GetModelAsync(new ModelQuery { Ref = "alias-model:latest" }, cancellationToken: Ct)).Version);
        Assert.Equal(v2.Version, (await host.Client.GetModelAsync(new ModelQuery { Ref = "alias-model" }, cancellationToken: Ct)).Version);

        await host.Client.SetAliasAsync(new SetAliasRequest { Name = "alias-model", Alias = "production", Version = v1.Version }, cancellationToken: Ct);
        Assert.Equal(v1.Version, (await host.Client.GetModelAsync(new ModelQuery { Ref = "alias-model:production" }, cancellationToken: Ct)).Version);

        // Readers during the move see the old or the new version, never nothing.
        var mover = host.Client.SetAliasAsync(new SetAliasRequest { Name = "alias-model", Alias = "production", Version = v2.Version }, cancellationToken: Ct).ResponseAsync;
        while (!mover.IsCompleted)
        {
            var seen = await host.Client.GetModelAsync(new ModelQuery { Ref = "alias-model:production" }, cancellationToken: Ct);
            Assert.Contains(seen.Version, new[] { v1.Version, v2.Version });
        }
        var moved = await mover;
        Assert.Contains("production", moved.Aliases);
        var old = await host.Client.GetModelAsync(new ModelQuery { Ref = v1.Version }, cancellationToken: Ct);
        Assert.DoesNotContain("production", old.Aliases);

        var good = await host.Client.ListModelsAsync(new ListModelsRequest { Name = "alias-model", MetricFilter = "tool_accuracy>=0.9" }, cancellationToken: Ct);
        Assert.Equal([v2.Version], good.Models.Select(m => m.Version));
        var byAlias = await host.Client.ListModelsAsync(new ListModelsRequest { Alias = "production" }, cancellationToken: Ct);
        Assert.Equal([v2.Version], byAlias.Models.Select(m => m.Version));
        var all = await host.Client.ListModelsAsync(new ListModelsRequest { Name = "alias-model" }, cancellationToken: Ct);
        Assert.Equal([v2.Version, v1.Version], all.Models.Select(m => m.Version));

        var bad = await Assert.ThrowsAsync<RpcException>(() => host.Client.ListModelsAsync(new ListModelsRequest { MetricFilter = "tool_accuracy~0.9" }, cancellationToken: Ct).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
        var other = await host.Client.RegisterDirectoryAsync(new RegisterDirectoryRequest { Header = ModelFixture.Header("other-model"), Path = ModelFixture.Create(host.Scratch, seed: 23) }, cancellationToken: Ct);
        var cross = await Assert.ThrowsAsync<RpcException>(() => host.Client.SetAliasAsync(new SetAliasRequest { Name = "alias-model", Alias = "production", Version = other.Version }, cancellationToken: Ct).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, cross.StatusCode);
        var missing = await Assert.ThrowsAsync<RpcException>(() => host.Client.GetModelAsync(new ModelQuery { Ref = "alias-model:nope" }, cancellationToken: Ct).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Register_and_pull_emit_spans_linked_to_the_producing_run()
    {
        var spans = new System.Collections.Concurrent.ConcurrentQueue<System.Diagnostics.Activity>();
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = s => s.Name == RegistryTelemetry.Name,
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);

        var v = await host.Client.RegisterDirectoryAsync(new RegisterDirectoryRequest { Header = ModelFixture.Header("span-model"), Path = ModelFixture.Create(host.Scratch, seed: 16) }, cancellationToken: Ct);
        await host.Client.PullToDirectoryAsync(v.Version, host.NewDir(), Ct);

        var register = Assert.Single(spans, a => a.OperationName == "registry.register_directory" && (string?)a.GetTagItem("model.name") == "span-model");
        Assert.Equal(v.Version, register.GetTagItem("model.version"));
        Assert.Contains(register.Links, l => l.Context.TraceId.ToHexString() == "0af7651916cd43dd8448eb211c80319c");
        var pull = Assert.Single(spans, a => a.OperationName == "registry.pull" && (string?)a.GetTagItem("model.version") == v.Version);
        Assert.Equal(v.Files.Sum(f => f.Size), (long)pull.GetTagItem("pull.bytes")!);
    }

    [Fact]
    public async Task Registering_a_directory_outside_the_import_roots_is_refused()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => host.Client.RegisterDirectoryAsync(new RegisterDirectoryRequest { Header = ModelFixture.Header("outside-model"), Path = "/etc" }, cancellationToken: Ct).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
        Assert.Contains("ImportRoots", e.Status.Detail);
    }
}
