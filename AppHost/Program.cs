using FunctionGemma.AppHost;

var builder = DistributedApplication.CreateBuilder(args);

// State: datasets, runs, reports and model metadata live in one real Redis.
var redis = builder.AddPlatformRedis("redis");

// Registry: model versions (blobs on disk, metadata in Redis); the Hub is reached from here.
var registry = builder.AddProject<Projects.Registry>("registry")
    .WithReference(redis).WaitFor(redis)
    .WithHttpHealthCheck("/health");

// DataPrep: Hermes data -> cleaned, versioned rows in Redis.
var dataprep = builder.AddProject<Projects.DataPrep>("dataprep")
    .WithReference(redis).WaitFor(redis)
    .WithHttpHealthCheck("/health");

// Evaluator: reads dataset rows and models, writes reports.
builder.AddProject<Projects.Evaluator>("evaluator")
    .WithReference(redis).WaitFor(redis)
    .WithReference(dataprep).WithReference(registry)
    .WithHttpHealthCheck("/health");

// Trainer: reads dataset rows and base models, writes checkpoints.
builder.AddProject<Projects.Trainer>("trainer")
    .WithReference(redis).WaitFor(redis)
    .WithReference(dataprep).WithReference(registry)
    .WithHttpHealthCheck("/health");

builder.Build().Run();
