using System.Text;
using System.Text.Json.Nodes;
using FunctionGemma.Protos;
using Grpc.Core;

namespace FunctionGemma.Registry.Tests;

public sealed class PublishToHubTests(RegistryHost host) : IClassFixture<RegistryHost>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Publish_puts_the_exact_files_and_a_model_card_on_the_hub_in_one_ndjson_commit()
    {
        var model = ModelFixture.Create(host.Scratch, weightBytes: 700_000, seed: 31);
        var v = await host.Client.RegisterDirectoryAsync(new RegisterDirectoryRequest { Header = ModelFixture.Header("publish-model", 0.93), Path = model }, cancellationToken: Ct);

        var result = await host.Client.PublishToHubAsync(new PublishRequest { Ref = "publish-model:latest", RepoId = "acme/functiongemma-hermes", Private = true }, cancellationToken: Ct);

        Assert.Equal("acme/functiongemma-hermes", result.RepoId);
        Assert.Matches("^[0-9a-f]{40}$", result.CommitSha);
        Assert.True(host.Hub.Repos["acme/functiongemma-hermes"]);
        var tree = host.Hub.Trees["acme/functiongemma-hermes@main"];
        foreach (var f in v.Files) Assert.Equal(File.ReadAllBytes(Path.Combine(model, f.Path)), tree[f.Path]);
        Assert.Equal(v.Files.Count + 1, tree.Count);

        var card = Encoding.UTF8.GetString(tree["README.md"]);
        Assert.StartsWith("---\nlibrary_name: transformers", card.ReplaceLineEndings("\n"));
        Assert.Contains("base_model: google/functiongemma-270m-it", card);
        Assert.Contains(v.Version, card);
        Assert.Contains(new string('d', 64), card);          // dataset version
        Assert.Contains("exp-42", card);                      // experiment
        Assert.Contains("| tool_accuracy | 0.93 |", card);
        Assert.Contains("report-1", card);

        var commit = Assert.Single(host.Hub.Commits, c => c.Repo == "acme/functiongemma-hermes");
        Assert.Equal("application/x-ndjson", commit.ContentType);
        var lines = commit.Lines.Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal("header", (string)lines[0]["key"]!);
        Assert.False(string.IsNullOrEmpty((string?)lines[0]["value"]!["summary"]));
        var weights = lines.Single(l => (string?)l["value"]!["path"] == "model.safetensors");
        Assert.Equal("lfsFile", (string)weights["key"]!);
        Assert.Equal(v.Files.Single(f => f.Path == "model.safetensors").Sha256, (string)weights["value"]!["oid"]!);
        Assert.Equal("file", (string)lines.Single(l => (string?)l["value"]!["path"] == "config.json")["key"]!);
        // The 700 kB weights exceed the fake Hub's multipart threshold: parts + completion were used.
        Assert.Contains("multipart", host.Hub.Transfers);
        Assert.Contains(host.Hub.Requests, r => r.EndsWith("/complete"));
        Assert.Contains(host.Hub.Requests, r => r.StartsWith("POST /api/models/acme/functiongemma-hermes/preupload/main"));

        // Publishing again uploads no LFS bytes: the Hub already holds them.
        var puts = host.Hub.Requests.Count(r => r.StartsWith("PUT "));
        await host.Client.PublishToHubAsync(new PublishRequest { Ref = v.Version, RepoId = "acme/functiongemma-hermes" }, cancellationToken: Ct);
        Assert.Equal(puts, host.Hub.Requests.Count(r => r.StartsWith("PUT ")));
    }

    [Fact]
    public async Task A_bad_token_is_a_clear_permission_error_that_does_not_echo_the_token()
    {
        var v = await host.Client.RegisterDirectoryAsync(new RegisterDirectoryRequest { Header = ModelFixture.Header("token-model"), Path = ModelFixture.Create(host.Scratch, seed: 32) }, cancellationToken: Ct);
        host.Hub.AcceptedToken = "hf_some_other_token";
        try
        {
            var e = await Assert.ThrowsAsync<RpcException>(() => host.Client.PublishToHubAsync(new PublishRequest { Ref = v.Version, RepoId = "acme/token-model" }, cancellationToken: Ct).ResponseAsync);
            Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
            Assert.Contains("401", e.Status.Detail);
            Assert.Contains("HF_TOKEN", e.Status.Detail);
            Assert.DoesNotContain(FakeHub.GoodToken, e.Status.Detail);
            Assert.False(host.Hub.Repos.ContainsKey("acme/token-model"));
        }
        finally { host.Hub.AcceptedToken = FakeHub.GoodToken; }
    }

    [Fact]
    public async Task A_version_without_weights_is_not_published()
    {
        var dir = host.NewDir();
        File.WriteAllText(Path.Combine(dir, "config.json"), "{}");
        var v = await host.Client.RegisterDirectoryAsync(new RegisterDirectoryRequest { Header = ModelFixture.Header("no-weights"), Path = dir }, cancellationToken: Ct);
        var e = await Assert.ThrowsAsync<RpcException>(() => host.Client.PublishToHubAsync(new PublishRequest { Ref = v.Version, RepoId = "acme/no-weights" }, cancellationToken: Ct).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
    }

    [Fact]
    public async Task Publishing_to_a_revision_creates_the_branch_and_commits_there()
    {
        var model = ModelFixture.Create(host.Scratch, weightBytes: 50_000, seed: 33);
        var v = await host.Client.RegisterDirectoryAsync(new RegisterDirectoryRequest { Header = ModelFixture.Header("branch-model"), Path = model }, cancellationToken: Ct);
        var result = await host.Client.PublishToHubAsync(new PublishRequest { Ref = v.Version, RepoId = "acme/branch-model", Revision = "v1", CommitMessage = "first cut" }, cancellationToken: Ct);

        Assert.EndsWith("/acme/branch-model/tree/v1", result.Url);
        Assert.True(host.Hub.Branches.ContainsKey("acme/branch-model@v1"));
        var tree = host.Hub.Trees["acme/branch-model@v1"];
        Assert.Equal(File.ReadAllBytes(Path.Combine(model, "model.safetensors")), tree["model.safetensors"]);
        var commit = host.Hub.Commits.Single(c => c.Repo == "acme/branch-model");
        Assert.Equal("first cut", (string?)JsonNode.Parse(commit.Lines[0])!["value"]!["summary"]);
    }
}
