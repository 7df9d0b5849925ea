using FunctionGemma.DataPrep;

DataPrepApp.Create(args).Run();
