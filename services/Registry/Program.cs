using FunctionGemma.Registry;

// gRPC on the "grpc" endpoint (HTTP/2); the Hugging Face-compatible read API on "http" (HTTP/1.1).
RegistryApp.Build(args).Run();
