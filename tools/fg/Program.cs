using System.CommandLine;
using FunctionGemma.Cli.Commands;

// One command group per file under Commands/; each returns its Command.
var root = new RootCommand("fg: the FunctionGemma.Aspire command line")
{
    DataCommands.Create(),
};
return await root.Parse(args).InvokeAsync();
