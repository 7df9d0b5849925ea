using FunctionGemma.Protos;
using Grpc.Net.Client;

namespace FunctionGemma.Experiments;

/// <summary>The four services' gRPC clients, as the coordinator uses them.</summary>
/// <param name="DataPrep">DataPrep client.</param>
/// <param name="Trainer">Trainer client.</param>
/// <param name="Evaluator">Evaluator client.</param>
/// <param name="Registry">Registry client.</param>
public sealed record ServiceClients(
    DataPrep.DataPrepClient DataPrep,
    Trainer.TrainerClient Trainer,
    Evaluator.EvaluatorClient Evaluator,
    Protos.Registry.RegistryClient Registry)
{
    /// <summary>Clients over one channel per service.</summary>
    public static ServiceClients From(Func<string, GrpcChannel> channelOf) => new(
        new DataPrep.DataPrepClient(channelOf("dataprep")),
        new Trainer.TrainerClient(channelOf("trainer")),
        new Evaluator.EvaluatorClient(channelOf("evaluator")),
        new Protos.Registry.RegistryClient(channelOf("registry")));
}
