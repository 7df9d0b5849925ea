using FunctionGemma.Evaluator;

// gRPC on the "grpc" endpoint (HTTP/2); health on "http".
EvaluatorApp.Build(args).Run();
