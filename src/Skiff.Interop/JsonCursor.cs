using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Skiff;

/// <summary>A JSON document that does not read into its model: the JSON path ("$.process.user.uid"), its 1-based line, and why.</summary>
public sealed class JsonFormatException(string path, long line, string detail)
    : Exception($"invalid config at {path} (line {line}): {detail}")
{
    public string JsonPath { get; } = path;
    public long Line { get; } = line;
    public string Detail { get; } = detail;
}

/// <summary>
/// A cursor for hand-written model readers: a Utf8JsonReader over a whole document (comments
/// skipped, trailing commas allowed, as our source-generated contracts read), which keeps the
/// JSON path of the value it is on for error messages. Readers skip unknown properties.
/// </summary>
/// <remarks>
/// For start-up paths only (config.json in skiff-runc, the image index and launch record in
/// `run`): System.Text.Json's metadata-driven deserializer configures every contract type on
/// first use, with reflection over attributes and converter assemblies, which cost skiff-runc a
/// fifth of its CPU per `run`. Everything else keeps the source-generated contracts.
/// </remarks>
public ref struct JsonCursor
{
    private static readonly JsonReaderOptions Options = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    private Utf8JsonReader _reader;
    private readonly ReadOnlySpan<byte> _json;
    private readonly List<string> _path;

    public JsonCursor(ReadOnlySpan<byte> json)
    {
        if (json.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            json = json[3..];
        }
        _json = json;
        _reader = new Utf8JsonReader(json, Options);
        _path = new List<string>(8);
    }

    /// <summary>Reads one top-level value with <paramref name="read"/>; nothing but whitespace and comments may follow.</summary>
    public static T Read<T>(ReadOnlySpan<byte> json, ReadValue<T> read)
    {
        var r = new JsonCursor(json);
        r.Advance();
        if (r._reader.TokenType == JsonTokenType.Null)
        {
            throw r.Error("the document is null");
        }
        T value = read(ref r);
        // One more read: the reader itself refuses anything but comments after the value.
        r.TryAdvance();
        return value;
    }

    public delegate T ReadValue<T>(ref JsonCursor reader);

    public readonly bool IsNull => _reader.TokenType == JsonTokenType.Null;

    /// <summary>On a StartObject (true) or null (false); anything else is an error.</summary>
    public bool StartObject()
    {
        if (_reader.TokenType == JsonTokenType.Null)
        {
            return false;
        }
        if (_reader.TokenType != JsonTokenType.StartObject)
        {
            throw Error($"expected an object, got {Describe()}");
        }
        _path.Add("");
        return true;
    }

    /// <summary>The next property of the object StartObject entered, positioned on its value; false at its end.</summary>
    public bool NextProperty(out string name)
    {
        Advance();
        if (_reader.TokenType == JsonTokenType.EndObject)
        {
            _path.RemoveAt(_path.Count - 1);
            name = "";
            return false;
        }
        name = _reader.GetString()!;
        _path[^1] = "." + name;
        Advance();
        return true;
    }

    /// <summary>On a StartArray (true) or null (false).</summary>
    public bool StartArray()
    {
        if (_reader.TokenType == JsonTokenType.Null)
        {
            return false;
        }
        if (_reader.TokenType != JsonTokenType.StartArray)
        {
            throw Error($"expected an array, got {Describe()}");
        }
        _path.Add("[-1]");
        return true;
    }

    /// <summary>The next element of the array StartArray entered, positioned on it; false at its end.</summary>
    public bool NextElement(ref int index)
    {
        Advance();
        if (_reader.TokenType == JsonTokenType.EndArray)
        {
            _path.RemoveAt(_path.Count - 1);
            return false;
        }
        _path[^1] = $"[{index}]";
        index++;
        return true;
    }

    public void Skip()
    {
        if (!_reader.TrySkip())
        {
            throw Error("the document ends inside a value");
        }
    }

    public string? String()
    {
        return _reader.TokenType switch
        {
            JsonTokenType.Null => null,
            JsonTokenType.String => _reader.GetString(),
            _ => throw Error($"expected a string, got {Describe()}"),
        };
    }

    public string RequiredString() => String() ?? "";

    public bool Bool() => NullableBool() ?? false;

    public bool? NullableBool() => _reader.TokenType switch
    {
        JsonTokenType.Null => null,
        JsonTokenType.True => true,
        JsonTokenType.False => false,
        _ => throw Error($"expected true or false, got {Describe()}"),
    };

    public uint? NullableUInt32() => IsNull ? null : _reader.TokenType == JsonTokenType.Number && _reader.TryGetUInt32(out uint v) ? v : throw NumberError("an unsigned 32-bit integer");
    public uint UInt32() => NullableUInt32() ?? 0;
    public int? NullableInt32() => IsNull ? null : _reader.TokenType == JsonTokenType.Number && _reader.TryGetInt32(out int v) ? v : throw NumberError("a 32-bit integer");
    public long? NullableInt64() => IsNull ? null : _reader.TokenType == JsonTokenType.Number && _reader.TryGetInt64(out long v) ? v : throw NumberError("a 64-bit integer");
    public long Int64() => NullableInt64() ?? 0;
    public ulong? NullableUInt64() => IsNull ? null : _reader.TokenType == JsonTokenType.Number && _reader.TryGetUInt64(out ulong v) ? v : throw NumberError("an unsigned 64-bit integer");
    public ulong UInt64() => NullableUInt64() ?? 0;
    public ushort? NullableUInt16() => IsNull ? null : _reader.TokenType == JsonTokenType.Number && _reader.TryGetUInt16(out ushort v) ? v : throw NumberError("an unsigned 16-bit integer");

    public DateTimeOffset DateTimeOffset()
    {
        if (IsNull)
        {
            return default;
        }
        return _reader.TokenType == JsonTokenType.String && _reader.TryGetDateTimeOffset(out var v) ? v : throw Error($"expected an ISO 8601 date, got {Describe()}");
    }

    public List<string>? StringList()
    {
        if (!StartArray())
        {
            return null;
        }
        var list = new List<string>();
        int i = 0;
        while (NextElement(ref i))
        {
            list.Add(String()!);
        }
        return list;
    }

    public List<uint>? UInt32List()
    {
        if (!StartArray())
        {
            return null;
        }
        var list = new List<uint>();
        int i = 0;
        while (NextElement(ref i))
        {
            list.Add(NullableUInt32() ?? throw Error("expected an unsigned 32-bit integer, got null"));
        }
        return list;
    }

    public List<T>? List<T>(ReadValue<T> read)
    {
        if (!StartArray())
        {
            return null;
        }
        var list = new List<T>();
        int i = 0;
        while (NextElement(ref i))
        {
            list.Add(read(ref this));
        }
        return list;
    }

    public Dictionary<string, string>? StringMap()
    {
        if (!StartObject())
        {
            return null;
        }
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        while (NextProperty(out string key))
        {
            map[key] = String()!;
        }
        return map;
    }

    public readonly JsonFormatException Error(string detail)
    {
        var path = new StringBuilder("$");
        foreach (string segment in _path)
        {
            path.Append(segment);
        }
        long start = Math.Min(_reader.TokenStartIndex, _json.Length);
        long line = 1 + _json[..(int)start].Count((byte)'\n');
        return new JsonFormatException(path.ToString(), line, detail);
    }

    private readonly JsonFormatException NumberError(string want) => Error($"expected {want}, got {Describe()}");

    private readonly string Describe() => _reader.TokenType switch
    {
        JsonTokenType.String => $"the string \"{_reader.GetString()}\"",
        JsonTokenType.Number => $"the number {Encoding.UTF8.GetString(_reader.HasValueSequence ? _reader.ValueSequence.ToArray() : _reader.ValueSpan)}",
        JsonTokenType.True or JsonTokenType.False => _reader.TokenType == JsonTokenType.True ? "true" : "false",
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.Null => "null",
        _ => _reader.TokenType.ToString(),
    };

    private void Advance()
    {
        if (!TryAdvance())
        {
            throw Error("the document ends too early");
        }
    }

    private bool TryAdvance()
    {
        try
        {
            return _reader.Read();
        }
        catch (JsonException e)
        {
            var path = new StringBuilder("$");
            foreach (string segment in _path)
            {
                path.Append(segment);
            }
            string detail = e.Message.Split(" LineNumber:", 2)[0];
            throw new JsonFormatException(path.ToString(), (e.LineNumber ?? 0) + 1, detail);
        }
    }
}
