using System.CommandLine;
using FunctionGemma.Cli.Platform;
using FunctionGemma.Experiments;
using FunctionGemma.Protos;
using Grpc.Core;
using Spectre.Console;

namespace FunctionGemma.Cli.Commands;

/// <summary>fg run | status | runs | report: experiments from spec files, through the services.</summary>
public static class ExperimentCommands
{
    /// <summary>The experiment commands.</summary>
    public static IEnumerable<Command> Create() => [Run(), Status(), Runs(), Report()];

    private static ExperimentJournal Journal() => new(Path.Combine(Services.Home(), "experiments"));

    private static Command Run()
    {
        var spec = new Argument<FileInfo>("spec") { Description = "Experiment spec (YAML), e.g. samples/quickstart.yaml" };
        var command = new Command("run", "Run (or resume) an experiment: dataset → baseline eval → training → eval → registry → publish") { spec };
        command.SetAction(async (parse, ct) =>
        {
            var file = parse.GetValue(spec)!;
            ExperimentSpec parsed;
            try { parsed = ExperimentSpecLoader.LoadFile(file.FullName); }
            catch (ExperimentSpecException e) { AnsiConsole.MarkupLineInterpolated($"[red]{e.Message}[/]"); return 2; }

            using var telemetry = Telemetry.Start();
            var runner = new ExperimentRunner(Services.Connect(), Journal(), new RandomInitModelFactory(), Services.Home());
            AnsiConsole.MarkupLineInterpolated($"[bold]experiment[/] {parsed.Name} ({ExperimentSpecLoader.ExperimentId(parsed)})");
            try
            {
                var outcome = await runner.RunAsync(parsed, file.FullName, new Progress<StageUpdate>(PrintUpdate), ct);
                AnsiConsole.MarkupLineInterpolated($"trace: {outcome.Record.TraceId}");
                PrintOutcome(outcome);
                return 0;
            }
            catch (RpcException e)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]{e.StatusCode}: {e.Status.Detail}[/]");
                AnsiConsole.MarkupLine("Fix the cause and run the same command again: finished stages are not redone.");
                return 1;
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException or IOException)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]{e.Message}[/]");
                return 1;
            }
        });
        return command;
    }

    private static void PrintUpdate(StageUpdate u)
    {
        var stage = u.Stage.ToString().ToLowerInvariant();
        var count = u.Total > 0 ? $" {u.Done}/{u.Total}" : u.Done > 0 ? $" {u.Done}" : "";
        var text = $"{DateTime.Now:HH:mm:ss} [{stage}] {u.Status}{count} {u.Message}".TrimEnd();
        AnsiConsole.WriteLine(text);
    }

    private static void PrintOutcome(ExperimentOutcome o)
    {
        var table = new Table().AddColumns("metric", "baseline", "fine-tuned", "delta");
        foreach (var (name, before, after) in MetricRows(o.Baseline?.Overall, o.Post.Overall))
            table.AddRow(name, before is { } b ? b.ToString("F4") : "-", after.ToString("F4"), before is { } b2 ? (after - b2).ToString("+0.0000;-0.0000") : "-");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated($"model: [bold]{o.Model.Name}[/] version {o.Model.Version} (aliases: {string.Join(", ", o.Model.Aliases)})");
        AnsiConsole.MarkupLineInterpolated($"reports: baseline {o.Baseline?.ReportId ?? "-"}, fine-tuned {o.Post.ReportId}; `fg report {o.Record.Id}` renders them");
        if (o.Record.PublishedUrl is { } url) AnsiConsole.MarkupLineInterpolated($"published: {url}");
    }

    internal static IEnumerable<(string Name, double? Before, double After)> MetricRows(EvalMetricsSummary? before, EvalMetricsSummary after)
    {
        (string, Func<EvalMetricsSummary, double>)[] metrics =
        [
            ("tool_accuracy", m => m.ToolAccuracy), ("tc_cer", m => m.TcCer), ("exact_match", m => m.ExactMatch),
            ("argument_precision", m => m.ArgumentPrecision), ("argument_recall", m => m.ArgumentRecall), ("argument_f1", m => m.ArgumentF1),
            ("json_valid_rate", m => m.JsonValidRate), ("schema_valid_rate", m => m.SchemaValidRate),
        ];
        foreach (var (name, get) in metrics)
            yield return (name, before is null ? null : get(before), get(after));
    }

    private static Command Status()
    {
        var id = new Argument<string?>("experiment") { Description = "Experiment id (default: the latest)", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("status", "Show an experiment's stages and its training run's live state") { id };
        command.SetAction(async (parse, ct) =>
        {
            var record = Find(parse.GetValue(id));
            if (record is null) return 1;
            var grid = new Grid().AddColumn().AddColumn();
            grid.AddRow("experiment", $"{record.Id} ({record.State})");
            if (record.Error is { } err) grid.AddRow("error", Markup.Escape(err));
            grid.AddRow("dataset", record.DatasetVersion ?? "-");
            grid.AddRow("base model", record.BaseModel ?? "-");
            grid.AddRow("baseline report", record.BaselineReportId ?? "-");
            grid.AddRow("training run", record.RunId ?? "-");
            grid.AddRow("fine-tuned report", record.PostReportId ?? "-");
            grid.AddRow("model version", record.ModelVersion ?? "-");
            grid.AddRow("trace", record.TraceId ?? "-");
            if (record.RunId is { } runId)
            {
                try
                {
                    var run = await Services.Connect().Trainer.GetRunAsync(new RunRequest { RunId = runId }, cancellationToken: ct);
                    grid.AddRow("run state", $"{run.State} step {run.Step}/{run.TotalSteps} on {run.WorldSize} device(s)");
                }
                catch (RpcException e) { grid.AddRow("run state", $"unavailable ({e.StatusCode})"); }
            }
            AnsiConsole.Write(grid);
            return 0;
        });
        return command;
    }

    private static Command Runs()
    {
        var command = new Command("runs", "List experiments, newest first");
        command.SetAction(_ =>
        {
            var table = new Table().AddColumns("experiment", "state", "updated", "model version");
            foreach (var r in Journal().List())
                table.AddRow(r.Id, r.State, r.Updated.ToLocalTime().ToString("yyyy-MM-dd HH:mm"), r.ModelVersion ?? "-");
            AnsiConsole.Write(table);
            return 0;
        });
        return command;
    }

    private static Command Report()
    {
        var id = new Argument<string?>("experiment") { Description = "Experiment id (default: the latest)", Arity = ArgumentArity.ZeroOrOne };
        var html = new Option<bool>("--html") { Description = "Write HTML instead of Markdown" };
        var output = new Option<DirectoryInfo?>("--out") { Description = "Folder for the report files (default .fg/reports/ID)" };
        var command = new Command("report", "Pre vs post table, the fine-tuned model's report, and the loss curve as PNG") { id, html, output };
        command.SetAction(async (parse, ct) =>
        {
            var record = Find(parse.GetValue(id));
            if (record?.PostReportId is null)
            {
                if (record is not null) AnsiConsole.MarkupLine("[red]This experiment has no fine-tuned report yet: run it to the end first.[/]");
                return 1;
            }
            var services = Services.Connect();
            var dir = parse.GetValue(output)?.FullName ?? Path.Combine(Services.Home(), "reports", record.Id);
            Directory.CreateDirectory(dir);
            var post = await services.Evaluator.GetReportAsync(new ReportRequest { ReportId = record.PostReportId }, cancellationToken: ct);
            var baseline = record.BaselineReportId is { } b
                ? await services.Evaluator.GetReportAsync(new ReportRequest { ReportId = b }, cancellationToken: ct) : null;

            var table = new Table().AddColumns("metric", "baseline", "fine-tuned", "delta");
            foreach (var (name, before, after) in MetricRows(baseline?.Overall, post.Overall))
                table.AddRow(name, before is { } x ? x.ToString("F4") : "-", after.ToString("F4"), before is { } y ? (after - y).ToString("+0.0000;-0.0000") : "-");
            AnsiConsole.Write(table);

            var format = parse.GetValue(html) ? "html" : "markdown";
            var rendered = await services.Evaluator.RenderReportAsync(new RenderReportRequest { ReportId = post.ReportId, Format = format, WorstRows = 10 }, cancellationToken: ct);
            var reportFile = Path.Combine(dir, format == "html" ? "report.html" : "report.md");
            await File.WriteAllTextAsync(reportFile, rendered.Text, ct);
            AnsiConsole.MarkupLineInterpolated($"report: {reportFile}");

            if (record.RunId is { } runId)
            {
                var png = Path.Combine(dir, "loss.png");
                var points = await LossCurve.CollectAsync(services.Trainer, runId, ct);
                if (points.Train.Count > 0)
                {
                    LossCurve.Save(points, png, $"{record.Name}: loss");
                    AnsiConsole.MarkupLineInterpolated($"loss curve: {png}");
                }
            }
            return 0;
        });
        return command;
    }

    private static ExperimentRecord? Find(string? id)
    {
        var journal = Journal();
        var record = id is null ? journal.List().FirstOrDefault() : journal.Find(id);
        if (record is null)
            AnsiConsole.MarkupLineInterpolated($"[red]{(id is null ? "No experiments yet: start one with `fg run SPEC`." : $"No experiment '{id}' in {journal.Directory}. `fg runs` lists them.")}[/]");
        return record;
    }
}
