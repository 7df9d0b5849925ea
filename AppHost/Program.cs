using FunctionGemma.AppHost;

var builder = DistributedApplication.CreateBuilder(args);

// Files: every service keeps its files under one data folder (Platform:DataDir, default .fg in the repository),
// so the Evaluator finds the Trainer's checkpoints and a test can isolate a whole system in a temp folder.
var data = builder.AddPlatformDataDir();

// State: datasets, runs, reports and model metadata live in one real Redis.
var redis = builder.AddPlatformRedis("redis", data.Redis);

// Registry: model versions (blobs on disk, metadata in Redis); the Hugging Face Hub is reached from here.
var registry = builder.AddProject<Projects.Registry>("registry")
    .WithReference(redis).WaitFor(redis)
    .WithEnvironment("Registry__Root", data.Registry)
    .WithHubToken(builder)
    .WithHttpHealthCheck("/health");

// DataPrep: Hermes data -> cleaned, versioned rows in Redis.
var dataprep = builder.AddProject<Projects.DataPrep>("dataprep")
    .WithReference(redis).WaitFor(redis)
    .WithEnvironment("DataPrep__CacheDir", data.DatasetCache)
    .WithHubToken(builder)
    .WithHttpHealthCheck("/health");

// Trainer: dataset rows from Redis, base models from the Registry, checkpoints on disk.
var trainer = builder.AddProject<Projects.Trainer>("trainer")
    .WithReference(redis).WaitFor(redis)
    .WithReference(dataprep).WithReference(registry)
    .WithEnvironment("Trainer__Root", data.Runs)
    .WithEnvironment("Trainer__ModelCache", data.ModelCache("trainer"))
    .WithHttpHealthCheck("/health");

// Evaluator: dataset rows, models from the Registry or the Trainer's checkpoints, reports in Redis.
builder.AddProject<Projects.Evaluator>("evaluator")
    .WithReference(redis).WaitFor(redis)
    .WithReference(dataprep).WithReference(registry).WithReference(trainer)
    .WithEnvironment("Evaluator__TrainerRoot", data.Runs)
    .WithEnvironment("Evaluator__ModelCache", data.ModelCache("evaluator"))
    .WithHttpHealthCheck("/health");

builder.Build().Run();
