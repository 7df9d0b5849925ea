using System.CommandLine;
using FunctionGemma.Cli.Commands;

// One command group per file under Commands/; each returns its Command(s).
var root = new RootCommand("fg: the FunctionGemma.Aspire command line")
{
    DataCommands.Create(),
};
foreach (var command in ExperimentCommands.Create().Concat(ModelCommands.Create()))
    root.Subcommands.Add(command);
return await root.Parse(args).InvokeAsync();
