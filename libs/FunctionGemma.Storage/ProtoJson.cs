using Google.Protobuf;

namespace FunctionGemma.Storage;

/// <summary>Records are stored as protobuf JSON with the .proto field names, readable with redis-cli and stable across code versions.</summary>
public static class ProtoJson
{
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithPreserveProtoFieldNames(true).WithFormatDefaultValues(false));
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    /// <summary>JSON text of a message.</summary>
    public static string Write(IMessage message) => Formatter.Format(message);

    /// <summary>Parses JSON text written by <see cref="Write"/>.</summary>
    public static T Read<T>(string json) where T : IMessage<T>, new() => Parser.Parse<T>(json);
}
