using System.CommandLine;
using FunctionGemma.Cli.Platform;
using FunctionGemma.Protos;
using FunctionGemma.Registry.Client;
using Grpc.Core;
using Spectre.Console;

namespace FunctionGemma.Cli.Commands;

/// <summary>fg models | pull | publish: the Registry from the command line.</summary>
public static class ModelCommands
{
    /// <summary>The model commands.</summary>
    public static IEnumerable<Command> Create() => [Models(), Pull(), Publish()];

    private static Command Models()
    {
        var name = new Option<string?>("--name") { Description = "Only this model name" };
        var alias = new Option<string?>("--alias") { Description = "Only versions carrying this alias" };
        var metric = new Option<string?>("--metric") { Description = "Metric filter, e.g. tool_accuracy>=0.9" };
        var command = new Command("models", "List model versions in the Registry") { name, alias, metric };
        command.SetAction(async (parse, ct) =>
        {
            var list = await Services.Connect().Registry.ListModelsAsync(new ListModelsRequest
            {
                Name = parse.GetValue(name) ?? "", Alias = parse.GetValue(alias) ?? "", MetricFilter = parse.GetValue(metric) ?? "",
            }, cancellationToken: ct);
            var table = new Table().AddColumns("name", "version", "aliases", "dataset", "tool_accuracy", "tc_cer", "created");
            foreach (var m in list.Models)
                table.AddRow(m.Name, m.Version[..Math.Min(16, m.Version.Length)], string.Join(",", m.Aliases), m.Dataset?.Version is { Length: > 0 } d ? d[..Math.Min(12, d.Length)] : "-",
                    m.Metrics.TryGetValue("tool_accuracy", out var a) ? a.ToString("F3") : "-",
                    m.Metrics.TryGetValue("tc_cer", out var c) ? c.ToString("F3") : "-",
                    m.Created?.ToDateTimeOffset().ToLocalTime().ToString("yyyy-MM-dd HH:mm") ?? "-");
            AnsiConsole.Write(table);
            return 0;
        });
        return command;
    }

    private static Command Pull()
    {
        var model = new Argument<string>("model") { Description = "Version id or NAME:ALIAS" };
        var dir = new Argument<DirectoryInfo>("dir") { Description = "Destination folder (a HF model directory afterwards)" };
        var command = new Command("pull", "Download a model version; an interrupted pull resumes where it stopped") { model, dir };
        command.SetAction(async (parse, ct) =>
        {
            var target = parse.GetValue(dir)!.FullName;
            // The Registry client pulls into FILE.part, checks each file's sha256 against the manifest and resumes.
            var version = await Services.Connect().Registry.PullToDirectoryAsync(parse.GetValue(model)!, target, ct);
            foreach (var file in version.Files) AnsiConsole.WriteLine($"{file.Path} ({file.Size:N0} bytes)");
            AnsiConsole.MarkupLineInterpolated($"[green]{version.Name} {version.Version}[/] → {target}");
            return 0;
        });
        return command;
    }

    private static Command Publish()
    {
        var model = new Argument<string>("model") { Description = "Version id or NAME:ALIAS" };
        var repo = new Argument<string>("repo") { Description = "Hub repository OWNER/NAME" };
        var isPublic = new Option<bool>("--public") { Description = "Create the repository public (default private)" };
        var revision = new Option<string>("--revision") { Description = "Branch", DefaultValueFactory = _ => "main" };
        var command = new Command("publish", "Publish a model version to the Hugging Face Hub (token: HF_TOKEN on the Registry)") { model, repo, isPublic, revision };
        command.SetAction(async (parse, ct) =>
        {
            var result = await Services.Connect().Registry.PublishToHubAsync(new PublishRequest
            {
                Ref = parse.GetValue(model)!, RepoId = parse.GetValue(repo)!, Private = !parse.GetValue(isPublic), Revision = parse.GetValue(revision)!,
            }, cancellationToken: ct);
            AnsiConsole.MarkupLineInterpolated($"[green]published[/] {result.RepoId} @ {result.CommitSha}: {result.Url}");
            return 0;
        });
        return command;
    }
}
