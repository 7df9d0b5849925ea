using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using FunctionGemma.Protos;

namespace FunctionGemma.Registry.Tests;

/// <summary>What huggingface_hub's hf_hub_download / snapshot_download read from HF_ENDPOINT, served by the Registry.</summary>
public sealed class HubCompatibleEndpointTests(RegistryHost host) : IClassFixture<RegistryHost>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<(ModelVersion Version, string Dir)> RegisterAsync(string name, int seed)
    {
        var dir = ModelFixture.Create(host.Scratch, weightBytes: 250_000, seed: seed);
        var v = await host.Client.RegisterDirectoryAsync(new RegisterDirectoryRequest { Header = ModelFixture.Header(name, 0.9, "production"), Path = dir }, cancellationToken: Ct);
        return (v, dir);
    }

    [Theory]
    [InlineData("main")]
    [InlineData("production")]
    [InlineData("VERSION")]
    public async Task Resolve_serves_files_with_the_headers_hf_hub_download_reads(string revision)
    {
        var (v, dir) = await RegisterAsync("acme/resolve-model", 41);
        var rev = revision == "VERSION" ? v.Version : revision;
        var weights = v.Files.Single(f => f.Path == "model.safetensors");

        using var head = await host.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/acme/resolve-model/resolve/{rev}/model.safetensors"), Ct);
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(v.Version, head.Headers.GetValues("X-Repo-Commit").Single());
        Assert.Equal($"\"{weights.Sha256}\"", head.Headers.ETag!.ToString());
        Assert.Equal(weights.Size, head.Content.Headers.ContentLength);

        using var get = await host.Http.GetAsync($"/acme/resolve-model/resolve/{rev}/model.safetensors", Ct);
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(v.Version, get.Headers.GetValues("X-Repo-Commit").Single());
        Assert.Equal(weights.Size, get.Content.Headers.ContentLength);
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "model.safetensors")), await get.Content.ReadAsByteArrayAsync(Ct));
    }

    [Fact]
    public async Task Resolve_honours_ranges_for_resumed_downloads()
    {
        var (_, dir) = await RegisterAsync("range-model", 42);
        var request = new HttpRequestMessage(HttpMethod.Get, "/range-model/resolve/main/model.safetensors");
        request.Headers.Range = new RangeHeaderValue(1000, null);
        using var response = await host.Http.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "model.safetensors"))[1000..], await response.Content.ReadAsByteArrayAsync(Ct));
    }

    [Theory]
    [InlineData("/nobody/resolve/main/config.json", "RepoNotFound")]
    [InlineData("/missing-model/resolve/no-such-alias/config.json", "RevisionNotFound")]
    [InlineData("/missing-model/resolve/main/pytorch_model.bin", "EntryNotFound")]
    [InlineData("/api/models/missing-model/revision/no-such-alias", "RevisionNotFound")]
    [InlineData("/api/models/nobody", "RepoNotFound")]
    public async Task Misses_are_404s_with_the_error_code_huggingface_hub_maps_to_its_exceptions(string path, string code)
    {
        await RegisterAsync("missing-model", 43);
        foreach (var method in new[] { HttpMethod.Head, HttpMethod.Get })
        {
            if (method == HttpMethod.Head && path.StartsWith("/api")) continue;
            using var response = await host.Http.SendAsync(new HttpRequestMessage(method, path), Ct);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal(code, response.Headers.GetValues("X-Error-Code").Single());
        }
    }

    [Fact]
    public async Task Model_info_lists_the_version_files_with_its_sha()
    {
        var (v, _) = await RegisterAsync("info-model", 44);
        foreach (var path in new[] { "/api/models/info-model", "/api/models/info-model/revision/production", $"/api/models/info-model/revision/{v.Version}" })
        {
            var info = JsonNode.Parse(await host.Http.GetStringAsync(path, Ct))!.AsObject();
            Assert.Equal("info-model", (string?)info["id"]);
            Assert.Equal(v.Version, (string?)info["sha"]);
            Assert.Equal(v.Files.Select(f => f.Path), info["siblings"]!.AsArray().Select(s => (string)s!["rfilename"]!));
        }
        var tree = JsonNode.Parse(await host.Http.GetStringAsync("/api/models/info-model/tree/main", Ct))!.AsArray();
        Assert.Equal(v.Files.Count, tree.Count);
        using var templates = await host.Http.GetAsync("/api/models/info-model/tree/main/additional_chat_templates", Ct);
        Assert.Equal("EntryNotFound", templates.Headers.GetValues("X-Error-Code").Single());
    }
}
