using System.Buffers;
using System.Text.Json;

namespace Skiff;

/// <summary>A document written by a hand-written writer (see JsonCursor for why), as UTF-8 bytes.</summary>
public static class JsonBytes
{
    private static readonly JsonWriterOptions Compact = new();
    private static readonly JsonWriterOptions Indented = new() { Indented = true };

    public static byte[] Write<T>(T value, Action<Utf8JsonWriter, T> write, bool indented = false)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer, indented ? Indented : Compact))
        {
            write(w, value);
        }
        return buffer.WrittenSpan.ToArray();
    }
}
