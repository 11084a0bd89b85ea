using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Skiff.Cli.Commands;

/// <summary>
/// The part of Go's text/template that docker's --format strings use, over JSON data:
/// {{.Field.Sub}}, {{$var}}, pipelines, if/else/range/with/end, {{- trimming -}}, and
/// docker's functions (json, join, split, lower, upper, title, pad, truncate) with Go's
/// (len, index, print, printf, println, eq, ne, lt, le, gt, ge, and, or, not). Values print
/// as Go prints them: a missing key as &lt;no value&gt;, a list as [a b], a map as map[k:v].
/// Methods with arguments ({{.Label "k"}}) go to a hook the caller gives.
/// </summary>
public sealed class GoTemplate
{
    /// <summary>A method call on a value: receiver, name, arguments; found = false when there is no such method.</summary>
    public delegate bool MethodHook(object? receiver, string name, IReadOnlyList<object?> args, out object? result);

    private readonly List<Node> _nodes;

    private GoTemplate(List<Node> nodes) => _nodes = nodes;

    /// <summary>Docker's formatter preprocessing turns the two characters \t and \n into a tab and a newline.</summary>
    public static string Unescape(string format) => format.Replace("\\t", "\t").Replace("\\n", "\n");

    public static GoTemplate Parse(string text)
    {
        try
        {
            var parser = new Parser(text);
            var nodes = parser.ParseList(out string? end);
            if (end is not null)
            {
                throw new TemplateException($"unexpected {{{{{end}}}}}");
            }
            return new GoTemplate(nodes);
        }
        catch (TemplateException e)
        {
            throw SkiffException.Invalid($"template parsing error: template: :1: {e.Message}");
        }
    }

    /// <summary>Renders against data (a JsonNode, or any value this evaluator knows).</summary>
    public string Execute(object? data, MethodHook? methods = null, bool header = false)
    {
        var sb = new StringBuilder();
        var ctx = new Context(sb, methods, header, Wrap(data, ""));
        try
        {
            ctx.Run(_nodes, ctx.Root);
        }
        catch (TemplateException e)
        {
            throw SkiffException.Invalid($"template: :1: executing \"\": {e.Message}");
        }
        return sb.ToString();
    }

    // ---------------------------------------------------------------- values

    /// <summary>A JSON null (or nothing) under a key: how it prints depends on what Go type it would be.</summary>
    private sealed record Nil(string Key);

    /// <summary>A key a map does not have.</summary>
    private sealed record Missing;

    /// <summary>A JSON object, with the key it was found under (a map prints as map[...], a struct as {...}).</summary>
    private sealed record Obj(JsonObject Node, string Key);

    private static readonly Missing NoValue = new();

    private static readonly HashSet<string> MapKeys =
    [
        "Labels", "Volumes", "ExposedPorts", "Ports", "PortBindings", "Networks", "Data", "Tmpfs", "DriverOpts",
        "Options", "Sysctls", "StorageOpt", "Annotations",
    ];

    private static readonly HashSet<string> PointerKeys = ["Health", "IPAMConfig", "Init", "PidsLimit", "StopTimeout", "Healthcheck", "Platform"];

    private static object? Wrap(object? value, string key) => value switch
    {
        null => new Nil(key),
        JsonObject o => new Obj(o, key),
        JsonArray a => a,
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => v.GetValue<string>(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Number => v.TryGetValue(out long l) ? l : v.GetValue<double>(),
            _ => new Nil(key),
        },
        _ => value,
    };

    private static bool IsTrue(object? v) => v switch
    {
        null or Nil or Missing => false,
        bool b => b,
        string s => s.Length > 0,
        long l => l != 0,
        double d => d != 0,
        int i => i != 0,
        Obj o => o.Node.Count > 0,
        JsonArray a => a.Count > 0,
        List<object?> l => l.Count > 0,
        _ => true,
    };

    /// <summary>fmt's %v.</summary>
    public static string Print(object? v)
    {
        var sb = new StringBuilder();
        Print(sb, v);
        return sb.ToString();
    }

    private static void Print(StringBuilder sb, object? v)
    {
        switch (v)
        {
            case null:
                sb.Append("<nil>");
                break;
            case Missing:
                sb.Append("<no value>");
                break;
            case Nil n:
                sb.Append(MapKeys.Contains(n.Key) ? "map[]" : PointerKeys.Contains(n.Key) ? "<nil>" : n.Key.Length == 0 ? "<nil>" : "[]");
                break;
            case string s:
                sb.Append(s);
                break;
            case bool b:
                sb.Append(b ? "true" : "false");
                break;
            case long l:
                sb.Append(l.ToString(CultureInfo.InvariantCulture));
                break;
            case int i:
                sb.Append(i.ToString(CultureInfo.InvariantCulture));
                break;
            case double d:
                sb.Append(d.ToString("R", CultureInfo.InvariantCulture));
                break;
            case JsonArray or List<object?>:
                sb.Append('[');
                bool first = true;
                foreach (var e in Elements(v))
                {
                    if (!first)
                    {
                        sb.Append(' ');
                    }
                    first = false;
                    Print(sb, e);
                }
                sb.Append(']');
                break;
            case Obj o when IsMap(o):
                sb.Append("map[");
                bool firstKey = true;
                foreach (var (k, child) in o.Node.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    if (!firstKey)
                    {
                        sb.Append(' ');
                    }
                    firstKey = false;
                    sb.Append(k).Append(':');
                    Print(sb, Wrap(child, k));
                }
                sb.Append(']');
                break;
            case Obj o:
                sb.Append('{');
                bool firstField = true;
                foreach (var (k, child) in o.Node)
                {
                    if (!firstField)
                    {
                        sb.Append(' ');
                    }
                    firstField = false;
                    Print(sb, Wrap(child, k));
                }
                sb.Append('}');
                break;
            default:
                sb.Append(v);
                break;
        }
    }

    private static bool IsMap(Obj o)
    {
        if (MapKeys.Contains(o.Key))
        {
            return true;
        }
        foreach (var (k, _) in o.Node)
        {
            if (k.Length == 0 || !char.IsAsciiLetterUpper(k[0]) || !k.All(char.IsAsciiLetterOrDigit))
            {
                return true;
            }
        }
        return false;
    }

    private static IEnumerable<object?> Elements(object? v) => v switch
    {
        JsonArray a => a.Select(e => Wrap(e, "")),
        List<object?> l => l,
        _ => [],
    };

    private static JsonNode? ToNode(object? v) => v switch
    {
        null or Nil or Missing => null,
        Obj o => o.Node,
        JsonArray a => a,
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        long l => JsonValue.Create(l),
        int i => JsonValue.Create(i),
        double d => JsonValue.Create(d),
        List<object?> l => new JsonArray(l.Select(e => ToNode(e)?.DeepClone()).ToArray()),
        _ => JsonValue.Create(v.ToString()),
    };

    /// <summary>Go's json.Marshal: compact, a map's keys sorted, and &lt; &gt; &amp; escaped as \u003c \u003e \u0026.</summary>
    public static string Json(object? v)
    {
        var node = ToNode(v);
        if (node is null)
        {
            return "null";
        }
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            WriteGo(w, node, v is Obj o ? o.Key : "");
        }
        return Encoding.UTF8.GetString(ms.ToArray()).Replace("<", "\\u003c").Replace(">", "\\u003e").Replace("&", "\\u0026");
    }

    private static void WriteGo(Utf8JsonWriter w, JsonNode? node, string key)
    {
        switch (node)
        {
            case null:
                w.WriteNullValue();
                break;
            case JsonObject o:
                w.WriteStartObject();
                foreach (var (k, child) in IsMap(new Obj(o, key)) ? o.OrderBy(p => p.Key, StringComparer.Ordinal) : o.AsEnumerable())
                {
                    w.WritePropertyName(k);
                    WriteGo(w, child, k);
                }
                w.WriteEndObject();
                break;
            case JsonArray a:
                w.WriteStartArray();
                foreach (var e in a)
                {
                    WriteGo(w, e, "");
                }
                w.WriteEndArray();
                break;
            default:
                node.WriteTo(w);
                break;
        }
    }

    // ---------------------------------------------------------------- syntax tree

    private abstract record Node;
    private sealed record TextNode(string Text) : Node;
    private sealed record ActionNode(Pipeline Pipe) : Node;
    private sealed record IfNode(Pipeline Cond, List<Node> Then, List<Node>? Else, bool With) : Node;
    private sealed record RangeNode(Pipeline Pipe, List<Node> Body, List<Node>? Else) : Node;

    private sealed record Pipeline(List<string> Declare, List<Command> Commands);
    private sealed record Command(List<Operand> Args);

    private abstract record Operand;
    /// <summary>.A.B (Base null), $x.A.B, (pipe).A: a base and fields looked up in turn.</summary>
    private sealed record FieldOp(Operand? Base, List<string> Fields) : Operand;
    private sealed record VarOp(string Name) : Operand;
    private sealed record ConstOp(object? Value) : Operand;
    private sealed record FuncOp(string Name) : Operand;
    private sealed record PipeOp(Pipeline Pipe) : Operand;

    private sealed class TemplateException(string message) : Exception(message);

    // ---------------------------------------------------------------- parser

    private sealed class Parser(string text)
    {
        private int _pos;
        private bool _trimNext;

        private static readonly HashSet<string> Functions =
        [
            "json", "join", "split", "lower", "upper", "title", "pad", "truncate", "len", "index", "print", "printf",
            "println", "eq", "ne", "lt", "le", "gt", "ge", "and", "or", "not", "slice",
        ];

        /// <summary>Nodes up to {{end}} or {{else…}} (returned in end) or the end of the text.</summary>
        public List<Node> ParseList(out string? end)
        {
            var nodes = new List<Node>();
            end = null;
            while (_pos < text.Length)
            {
                int open = text.IndexOf("{{", _pos, StringComparison.Ordinal);
                string literal = open < 0 ? text[_pos..] : text[_pos..open];
                if (_trimNext)
                {
                    literal = literal.TrimStart(' ', '\t', '\r', '\n');
                    _trimNext = false;
                }
                bool trimBefore = open >= 0 && open + 2 < text.Length && text[open + 2] == '-' && open + 3 < text.Length && char.IsWhiteSpace(text[open + 3]);
                if (trimBefore)
                {
                    literal = literal.TrimEnd(' ', '\t', '\r', '\n');
                }
                if (literal.Length > 0)
                {
                    nodes.Add(new TextNode(literal));
                }
                if (open < 0)
                {
                    _pos = text.Length;
                    break;
                }
                int start = open + (trimBefore ? 3 : 2);
                int close = FindClose(start);
                string body = text[start..close];
                _pos = close + 2;
                if (body.EndsWith('-') && body.Length >= 2 && char.IsWhiteSpace(body[^2]))
                {
                    body = body[..^1];
                    _trimNext = true;
                }
                body = body.Trim();
                if (body.StartsWith("/*", StringComparison.Ordinal))
                {
                    continue;
                }
                var lexer = new Lexer(body);
                string word = lexer.PeekWord();
                switch (word)
                {
                    case "end":
                        end = "end";
                        return nodes;
                    case "else":
                        end = body;
                        return nodes;
                    case "if":
                    case "with":
                        lexer.NextWord();
                        nodes.Add(ParseIf(lexer, word == "with"));
                        break;
                    case "range":
                        lexer.NextWord();
                        nodes.Add(ParseRange(lexer));
                        break;
                    case "define" or "template" or "block" or "break" or "continue":
                        throw new TemplateException($"{{{{{word}}}}} is not supported");
                    default:
                        nodes.Add(new ActionNode(ParsePipeline(lexer)));
                        break;
                }
            }
            return nodes;
        }

        private int FindClose(int from)
        {
            bool inString = false;
            char quote = '\0';
            for (int i = from; i < text.Length - 1; i++)
            {
                char c = text[i];
                if (inString)
                {
                    if (c == '\\' && quote == '"')
                    {
                        i++;
                    }
                    else if (c == quote)
                    {
                        inString = false;
                    }
                    continue;
                }
                if (c is '"' or '`' or '\'')
                {
                    inString = true;
                    quote = c;
                }
                else if (c == '}' && text[i + 1] == '}')
                {
                    return i;
                }
            }
            throw new TemplateException("unclosed action");
        }

        private Node ParseIf(Lexer lexer, bool with)
        {
            var cond = ParsePipeline(lexer);
            var then = ParseList(out string? end);
            List<Node>? otherwise = null;
            if (end is null)
            {
                throw new TemplateException("unexpected EOF");
            }
            if (end != "end")
            {
                var rest = new Lexer(end);
                rest.NextWord();
                if (rest.PeekWord() is "if" or "with")
                {
                    bool elseWith = rest.NextWord() == "with";
                    // {{else if x}} … is {{else}}{{if x}} … {{end}}{{end}} sharing the one end.
                    otherwise = [ParseIf(rest, elseWith)];
                }
                else
                {
                    otherwise = ParseList(out end);
                    if (end != "end")
                    {
                        throw new TemplateException(end is null ? "unexpected EOF" : "expected end; found {{else}}");
                    }
                }
            }
            return new IfNode(cond, then, otherwise, with);
        }

        private Node ParseRange(Lexer lexer)
        {
            var pipe = ParsePipeline(lexer);
            var body = ParseList(out string? end);
            List<Node>? otherwise = null;
            if (end is null)
            {
                throw new TemplateException("unexpected EOF");
            }
            if (end != "end")
            {
                otherwise = ParseList(out end);
                if (end != "end")
                {
                    throw new TemplateException("unexpected EOF");
                }
            }
            return new RangeNode(pipe, body, otherwise);
        }

        private static Pipeline ParsePipeline(Lexer lexer)
        {
            var declare = new List<string>();
            int mark = lexer.Position;
            // $x := … and $i, $e := …
            while (lexer.Peek() is { Kind: TokenKind.Variable } v)
            {
                lexer.Next();
                declare.Add(v.Text);
                if (lexer.Peek() is { Kind: TokenKind.Comma })
                {
                    lexer.Next();
                    continue;
                }
                if (lexer.Peek() is { Kind: TokenKind.Declare })
                {
                    lexer.Next();
                    break;
                }
                declare.Clear();
                lexer.Position = mark;
                break;
            }
            var commands = new List<Command>();
            var args = new List<Operand>();
            while (lexer.Peek() is { } t && t.Kind != TokenKind.RightParen)
            {
                if (t.Kind == TokenKind.Pipe)
                {
                    lexer.Next();
                    if (args.Count == 0)
                    {
                        throw new TemplateException("missing command");
                    }
                    commands.Add(new Command(args));
                    args = [];
                    continue;
                }
                args.Add(ParseOperand(lexer));
            }
            if (args.Count > 0)
            {
                commands.Add(new Command(args));
            }
            if (commands.Count == 0)
            {
                throw new TemplateException("missing value for command");
            }
            return new Pipeline(declare, commands);
        }

        private static Operand ParseOperand(Lexer lexer)
        {
            var t = lexer.Next()!;
            Operand term = t.Kind switch
            {
                TokenKind.Field => new FieldOp(null, t.Text == "." ? [] : t.Text[1..].Split('.').ToList()),
                TokenKind.Variable => new VarOp(t.Text),
                TokenKind.String => new ConstOp(t.Text),
                TokenKind.Number => new ConstOp(t.Value),
                TokenKind.Identifier => t.Text switch
                {
                    "true" => new ConstOp(true),
                    "false" => new ConstOp(false),
                    "nil" => new ConstOp(null),
                    _ when Functions.Contains(t.Text) => new FuncOp(t.Text),
                    _ => throw new TemplateException($"function \"{t.Text}\" not defined"),
                },
                TokenKind.LeftParen => ParseParen(lexer),
                _ => throw new TemplateException($"unexpected \"{t.Text}\" in operand"),
            };
            // Fields after a variable or a parenthesis: $x.A.B, (index . 0).Name
            if (term is VarOp or PipeOp && lexer.Peek() is { Kind: TokenKind.Field } f && f.Text != "." && !f.SpaceBefore)
            {
                lexer.Next();
                term = new FieldOp(term, f.Text[1..].Split('.').ToList());
            }
            return term;
        }

        private static Operand ParseParen(Lexer lexer)
        {
            var pipe = ParsePipeline(lexer);
            if (lexer.Next() is not { Kind: TokenKind.RightParen })
            {
                throw new TemplateException("unclosed left paren");
            }
            return new PipeOp(pipe);
        }
    }

    private enum TokenKind
    {
        Field,
        Variable,
        String,
        Number,
        Identifier,
        LeftParen,
        RightParen,
        Pipe,
        Comma,
        Declare,
    }

    private sealed record Token(TokenKind Kind, string Text, object? Value, bool SpaceBefore);

    private sealed class Lexer
    {
        private readonly List<Token> _tokens = [];

        public int Position { get; set; }

        public Lexer(string s)
        {
            int i = 0;
            while (i < s.Length)
            {
                bool space = false;
                while (i < s.Length && char.IsWhiteSpace(s[i]))
                {
                    i++;
                    space = true;
                }
                if (i >= s.Length)
                {
                    break;
                }
                char c = s[i];
                int start = i;
                if (c == '.' && (i + 1 >= s.Length || !char.IsAsciiDigit(s[i + 1])))
                {
                    i++;
                    while (i < s.Length && (char.IsLetterOrDigit(s[i]) || s[i] is '_' or '.'))
                    {
                        i++;
                    }
                    _tokens.Add(new Token(TokenKind.Field, s[start..i].TrimEnd('.') is { Length: > 0 } f ? f : ".", null, space));
                }
                else if (c == '$')
                {
                    i++;
                    while (i < s.Length && (char.IsLetterOrDigit(s[i]) || s[i] == '_'))
                    {
                        i++;
                    }
                    _tokens.Add(new Token(TokenKind.Variable, s[start..i], null, space));
                }
                else if (c is '"' or '`')
                {
                    string str = ReadString(s, ref i);
                    _tokens.Add(new Token(TokenKind.String, str, str, space));
                }
                else if (c == '\'')
                {
                    int end = s.IndexOf('\'', i + 1);
                    if (end < 0)
                    {
                        throw new TemplateException("unterminated character constant");
                    }
                    string ch = s[(i + 1)..end];
                    _tokens.Add(new Token(TokenKind.Number, ch, ch.Length > 0 ? (long)ch[0] : 0L, space));
                    i = end + 1;
                }
                else if (char.IsAsciiDigit(c) || c is '-' or '+' or '.' && i + 1 < s.Length && char.IsAsciiDigit(s[i + 1]))
                {
                    i++;
                    while (i < s.Length && (char.IsAsciiLetterOrDigit(s[i]) || s[i] is '.' or '_'))
                    {
                        i++;
                    }
                    string num = s[start..i];
                    object value = long.TryParse(num, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l) ? l
                        : double.TryParse(num, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) ? d
                        : throw new TemplateException($"bad number syntax: \"{num}\"");
                    _tokens.Add(new Token(TokenKind.Number, num, value, space));
                }
                else if (char.IsLetter(c) || c == '_')
                {
                    while (i < s.Length && (char.IsLetterOrDigit(s[i]) || s[i] == '_'))
                    {
                        i++;
                    }
                    _tokens.Add(new Token(TokenKind.Identifier, s[start..i], null, space));
                }
                else if (c == ':' && i + 1 < s.Length && s[i + 1] == '=')
                {
                    i += 2;
                    _tokens.Add(new Token(TokenKind.Declare, ":=", null, space));
                }
                else
                {
                    i++;
                    _tokens.Add(c switch
                    {
                        '(' => new Token(TokenKind.LeftParen, "(", null, space),
                        ')' => new Token(TokenKind.RightParen, ")", null, space),
                        '|' => new Token(TokenKind.Pipe, "|", null, space),
                        ',' => new Token(TokenKind.Comma, ",", null, space),
                        '=' => new Token(TokenKind.Declare, "=", null, space),
                        _ => throw new TemplateException($"unexpected \"{c}\" in command"),
                    });
                }
            }
        }

        private static string ReadString(string s, ref int i)
        {
            char quote = s[i];
            var sb = new StringBuilder();
            i++;
            while (i < s.Length && s[i] != quote)
            {
                if (quote == '"' && s[i] == '\\' && i + 1 < s.Length)
                {
                    i++;
                    sb.Append(s[i] switch { 'n' => '\n', 't' => '\t', 'r' => '\r', '\\' => '\\', '"' => '"', _ => s[i] });
                }
                else
                {
                    sb.Append(s[i]);
                }
                i++;
            }
            if (i >= s.Length)
            {
                throw new TemplateException("unterminated quoted string");
            }
            i++;
            return sb.ToString();
        }

        public Token? Peek() => Position < _tokens.Count ? _tokens[Position] : null;

        public Token? Next() => Position < _tokens.Count ? _tokens[Position++] : null;

        public string PeekWord() => Peek() is { Kind: TokenKind.Identifier } t ? t.Text : "";

        public string NextWord() => Next()?.Text ?? "";
    }

    // ---------------------------------------------------------------- evaluation

    private sealed class Context(StringBuilder output, MethodHook? methods, bool header, object? root)
    {
        private readonly List<(string Name, object? Value)> _vars = [("$", root)];

        public object? Root { get; } = root;

        public void Run(List<Node> nodes, object? dot)
        {
            foreach (var node in nodes)
            {
                switch (node)
                {
                    case TextNode t:
                        output.Append(t.Text);
                        break;
                    case ActionNode a:
                    {
                        // A declaration prints nothing; its variable lives to the end of the enclosing block.
                        var v = Pipe(a.Pipe, dot);
                        if (a.Pipe.Declare.Count == 0)
                        {
                            Print(output, v);
                        }
                        break;
                    }
                    case IfNode i:
                    {
                        int mark = _vars.Count;
                        var v = Pipe(i.Cond, dot);
                        if (IsTrue(v))
                        {
                            Run(i.Then, i.With ? v : dot);
                        }
                        else if (i.Else is not null)
                        {
                            Run(i.Else, dot);
                        }
                        _vars.RemoveRange(mark, _vars.Count - mark);
                        break;
                    }
                    case RangeNode r:
                        Range(r, dot);
                        break;
                }
            }
        }

        private void Range(RangeNode r, object? dot)
        {
            int mark = _vars.Count;
            var decl = r.Pipe.Declare;
            var value = Pipe(r.Pipe with { Declare = [] }, dot);
            var items = new List<(object? Key, object? Value)>();
            switch (value)
            {
                case Obj o:
                    foreach (var (k, child) in o.Node.OrderBy(p => p.Key, StringComparer.Ordinal))
                    {
                        items.Add((k, Wrap(child, k)));
                    }
                    break;
                case JsonArray or List<object?>:
                    long index = 0;
                    foreach (var e in Elements(value))
                    {
                        items.Add((index++, e));
                    }
                    break;
                case long n:
                    for (long k = 0; k < n; k++)
                    {
                        items.Add((k, k));
                    }
                    break;
                case null or Nil or Missing:
                    break;
                default:
                    throw new TemplateException($"range can't iterate over {Print(value)}");
            }
            if (items.Count == 0)
            {
                if (r.Else is not null)
                {
                    Run(r.Else, dot);
                }
                return;
            }
            foreach (var (k, v) in items)
            {
                int inner = _vars.Count;
                if (decl.Count == 1)
                {
                    _vars.Add((decl[0], v));
                }
                else if (decl.Count == 2)
                {
                    _vars.Add((decl[0], k));
                    _vars.Add((decl[1], v));
                }
                Run(r.Body, v);
                _vars.RemoveRange(inner, _vars.Count - inner);
            }
            _vars.RemoveRange(mark, _vars.Count - mark);
        }

        private object? Pipe(Pipeline pipe, object? dot)
        {
            object? value = null;
            bool first = true;
            foreach (var cmd in pipe.Commands)
            {
                value = Command(cmd, dot, first ? null : new[] { value });
                first = false;
            }
            foreach (var name in pipe.Declare)
            {
                _vars.Add((name, value));
            }
            return value;
        }

        private object? Command(Command cmd, object? dot, object?[]? piped)
        {
            var head = cmd.Args[0];
            if (head is FuncOp f)
            {
                var args = cmd.Args.Skip(1).Select(a => Eval(a, dot)).ToList();
                if (piped is not null)
                {
                    args.AddRange(piped);
                }
                return Call(f.Name, args);
            }
            if (cmd.Args.Count > 1 || piped is not null)
            {
                // A method with arguments: {{.Label "k"}}.
                if (head is FieldOp { Fields.Count: > 0 } field)
                {
                    var receiver = field.Fields.Count == 1 && field.Base is null ? dot
                        : Eval(field with { Fields = field.Fields[..^1] }, dot);
                    var args = cmd.Args.Skip(1).Select(a => Eval(a, dot)).ToList();
                    if (piped is not null)
                    {
                        args.AddRange(piped);
                    }
                    if (methods is not null && methods(receiver, field.Fields[^1], args, out var result))
                    {
                        return result is string or bool or long or null ? result : Wrap(result, field.Fields[^1]);
                    }
                    throw new TemplateException($"can't give argument to non-function {field.Fields[^1]}");
                }
                throw new TemplateException("can't give argument to non-function");
            }
            return Eval(head, dot);
        }

        private object? Eval(Operand op, object? dot)
        {
            switch (op)
            {
                case ConstOp c:
                    return c.Value;
                case VarOp v:
                    for (int i = _vars.Count - 1; i >= 0; i--)
                    {
                        if (_vars[i].Name == v.Name)
                        {
                            return _vars[i].Value;
                        }
                    }
                    throw new TemplateException($"undefined variable: {v.Name}");
                case PipeOp p:
                    return Pipe(p.Pipe, dot);
                case FuncOp f:
                    return Call(f.Name, []);
                case FieldOp field:
                {
                    var value = field.Base is null ? dot : Eval(field.Base, dot);
                    foreach (var name in field.Fields)
                    {
                        value = Field(value, name);
                    }
                    return value;
                }
                default:
                    return null;
            }
        }

        private object? Field(object? value, string name)
        {
            if (value is Obj o)
            {
                return o.Node.TryGetPropertyValue(name, out var child) ? Wrap(child, name)
                    : methods is not null && methods(o, name, [], out var r) ? Wrap(r, name)
                    : NoValue;
            }
            if (value is Nil or Missing or null)
            {
                if (value is Nil n && PointerKeys.Contains(n.Key))
                {
                    throw new TemplateException($"nil pointer evaluating .{n.Key}.{name}");
                }
                return NoValue;
            }
            throw new TemplateException($"can't evaluate field {name} in type {TypeName(value)}");
        }

        private static string TypeName(object? v) => v switch
        {
            string => "string",
            bool => "bool",
            long or int => "int",
            double => "float64",
            _ => "interface {}",
        };

        private object? Call(string name, List<object?> args)
        {
            if (header && name is "json" or "split" or "join" or "title" or "lower" or "upper" or "truncate" or "pad")
            {
                // Docker's header functions hand the header text through unchanged.
                return args.Count > 0 ? args[0] : "";
            }
            switch (name)
            {
                case "json":
                    Want(name, args, 1);
                    return Json(args[0]);
                case "join":
                    Want(name, args, 2);
                    return string.Join(Str(args[1]), Elements(args[0]).Select(GoTemplate.Print));
                case "split":
                    Want(name, args, 2);
                    return Str(args[0]).Split(Str(args[1])).Select(s => (object?)s).ToList();
                case "lower":
                    Want(name, args, 1);
                    return Str(args[0]).ToLowerInvariant();
                case "upper":
                    Want(name, args, 1);
                    return Str(args[0]).ToUpperInvariant();
                case "title":
                    Want(name, args, 1);
                    return Title(Str(args[0]));
                case "pad":
                    Want(name, args, 3);
                    return new string(' ', (int)Int(args[1])) + Str(args[0]) + new string(' ', (int)Int(args[2]));
                case "truncate":
                {
                    Want(name, args, 2);
                    string s = Str(args[0]);
                    long n = Int(args[1]);
                    return s.Length > n ? s[..(int)Math.Max(0, n)] : s;
                }
                case "len":
                    Want(name, args, 1);
                    return args[0] switch
                    {
                        string s => (long)s.Length,
                        JsonArray a => a.Count,
                        List<object?> l => l.Count,
                        Obj o => o.Node.Count,
                        Nil => 0L,
                        _ => throw new TemplateException($"error calling len: len of type {TypeName(args[0])}"),
                    };
                case "index":
                {
                    var v = args.Count > 0 ? args[0] : null;
                    foreach (var key in args.Skip(1))
                    {
                        v = v switch
                        {
                            Obj o => o.Node.TryGetPropertyValue(Str(key), out var child) ? Wrap(child, Str(key)) : new Nil(""),
                            JsonArray or List<object?> => Elements(v).ElementAtOrDefault((int)Int(key)) ?? throw new TemplateException($"error calling index: index out of range: {Int(key)}"),
                            _ => new Nil(""),
                        };
                    }
                    return v;
                }
                case "slice":
                {
                    string s = Str(args[0]);
                    int from = args.Count > 1 ? (int)Int(args[1]) : 0;
                    int to = args.Count > 2 ? (int)Int(args[2]) : s.Length;
                    return s[from..to];
                }
                case "print":
                    return Sprint(args, spaces: false);
                case "println":
                    return Sprint(args, spaces: true) + "\n";
                case "printf":
                    return Printf(Str(args[0]), args.Skip(1).ToList());
                case "not":
                    Want(name, args, 1);
                    return !IsTrue(args[0]);
                case "and":
                    foreach (var a in args)
                    {
                        if (!IsTrue(a))
                        {
                            return a;
                        }
                    }
                    return args.Count > 0 ? args[^1] : null;
                case "or":
                    foreach (var a in args)
                    {
                        if (IsTrue(a))
                        {
                            return a;
                        }
                    }
                    return args.Count > 0 ? args[^1] : null;
                case "eq":
                    if (args.Count < 2)
                    {
                        throw new TemplateException("error calling eq: missing argument for comparison");
                    }
                    return args.Skip(1).Any(a => Compare(args[0], a) == 0);
                case "ne":
                    Want(name, args, 2);
                    return Compare(args[0], args[1]) != 0;
                case "lt":
                    Want(name, args, 2);
                    return Compare(args[0], args[1]) < 0;
                case "le":
                    Want(name, args, 2);
                    return Compare(args[0], args[1]) <= 0;
                case "gt":
                    Want(name, args, 2);
                    return Compare(args[0], args[1]) > 0;
                case "ge":
                    Want(name, args, 2);
                    return Compare(args[0], args[1]) >= 0;
                default:
                    throw new TemplateException($"function \"{name}\" not defined");
            }
        }

        private static void Want(string name, List<object?> args, int n)
        {
            if (args.Count != n)
            {
                throw new TemplateException($"wrong number of args for {name}: want {n} got {args.Count}");
            }
        }

        private static string Str(object? v) => v is string s ? s : GoTemplate.Print(v);

        private static long Int(object? v) => v switch
        {
            long l => l,
            int i => i,
            double d => (long)d,
            string s when long.TryParse(s, CultureInfo.InvariantCulture, out long l) => l,
            _ => throw new TemplateException($"expected integer; found {GoTemplate.Print(v)}"),
        };

        private static int Compare(object? a, object? b)
        {
            if (a is long or int or double && b is long or int or double)
            {
                return Convert.ToDouble(a, CultureInfo.InvariantCulture).CompareTo(Convert.ToDouble(b, CultureInfo.InvariantCulture));
            }
            if (a is bool x && b is bool y)
            {
                return x == y ? 0 : x ? 1 : -1;
            }
            if (a is string || b is string)
            {
                return string.CompareOrdinal(Str(a), Str(b));
            }
            if (a is null or Nil or Missing && b is null or Nil or Missing)
            {
                return 0;
            }
            throw new TemplateException("error calling eq: incompatible types for comparison");
        }

        private static string Title(string s)
        {
            var chars = s.ToCharArray();
            bool start = true;
            for (int i = 0; i < chars.Length; i++)
            {
                if (char.IsLetter(chars[i]))
                {
                    if (start)
                    {
                        chars[i] = char.ToUpperInvariant(chars[i]);
                    }
                    start = false;
                }
                else
                {
                    start = !char.IsDigit(chars[i]) && chars[i] != '_' && chars[i] != '\'';
                }
            }
            return new string(chars);
        }

        /// <summary>fmt.Sprint puts a space between operands when neither is a string; Sprintln always.</summary>
        private static string Sprint(List<object?> args, bool spaces)
        {
            var sb = new StringBuilder();
            for (int i = 0; i < args.Count; i++)
            {
                if (i > 0 && (spaces || args[i] is not string && args[i - 1] is not string))
                {
                    sb.Append(' ');
                }
                sb.Append(GoTemplate.Print(args[i]));
            }
            return sb.ToString();
        }

        private static string Printf(string format, List<object?> args)
        {
            var sb = new StringBuilder();
            int next = 0;
            for (int i = 0; i < format.Length; i++)
            {
                char c = format[i];
                if (c != '%' || i + 1 >= format.Length)
                {
                    sb.Append(c);
                    continue;
                }
                char verb = format[++i];
                if (verb == '%')
                {
                    sb.Append('%');
                    continue;
                }
                if (next >= args.Count)
                {
                    sb.Append("%!").Append(verb).Append("(MISSING)");
                    continue;
                }
                var a = args[next++];
                sb.Append(verb switch
                {
                    'q' => JsonSerializer.Serialize(Str(a), GoTemplateJson.Default.String),
                    'd' => Int(a).ToString(CultureInfo.InvariantCulture),
                    _ => GoTemplate.Print(a),
                });
            }
            return sb.ToString();
        }
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class GoTemplateJson : System.Text.Json.Serialization.JsonSerializerContext;
