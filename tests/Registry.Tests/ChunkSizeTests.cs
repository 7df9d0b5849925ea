using FunctionGemma.Protos;
using Google.Protobuf;

namespace FunctionGemma.Registry.Tests;

public sealed class ChunkSizeTests
{
    [Fact]
    public void A_default_sized_chunk_fits_the_default_grpc_receive_limit()
    {
        var path = new string('p', 512);
        var chunk = new ModelChunk
        {
            Path = path,
            Offset = long.MaxValue,
            Data = ByteString.CopyFrom(new byte[new RegistryOptions().ChunkBytes]),
            File = new ModelFile { Path = path, Size = long.MaxValue, Sha256 = new string('a', 64) },
        };
        Assert.True(chunk.CalculateSize() < 4 * 1024 * 1024);
    }
}
