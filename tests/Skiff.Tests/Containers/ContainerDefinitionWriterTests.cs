using System.Collections;
using System.Text;
using System.Text.Json;
using Skiff.Engine.Containers;

namespace Skiff.Tests.Containers;

public sealed class ContainerDefinitionWriterTests
{
    /// <summary>Every property, at every depth, set to a value that is not its default (reflection: a test, not the product).</summary>
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2067", Justification = "Tests run under the JIT, untrimmed.")]
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Tests run under the JIT, untrimmed.")]
    private static object Fill(Type type, string name, int depth)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        if (t == typeof(string))
        {
            return $"{name} <&> \u00e9";
        }
        if (t == typeof(bool))
        {
            return !(name is "RW"); // RW defaults to true
        }
        if (t == typeof(int) || t == typeof(long) || t == typeof(ushort))
        {
            return Convert.ChangeType(7 + name.Length, t, System.Globalization.CultureInfo.InvariantCulture);
        }
        if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(List<>))
        {
            var list = (IList)Activator.CreateInstance(t)!;
            list.Add(Fill(t.GetGenericArguments()[0], name + "0", depth + 1));
            list.Add(Fill(t.GetGenericArguments()[0], name + "1", depth + 1));
            return list;
        }
        if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(Dictionary<,>))
        {
            var map = (IDictionary)Activator.CreateInstance(t)!;
            map[name + "-key"] = Fill(t.GetGenericArguments()[1], name + "-value", depth + 1);
            return map;
        }
        object value = Activator.CreateInstance(t)!;
        foreach (var p in t.GetProperties().Where(p => p.CanWrite))
        {
            p.SetValue(value, Fill(p.PropertyType, p.Name, depth + 1));
        }
        return value;
    }

    [Fact]
    public void Writes_the_contracts_bytes_with_every_property_set()
    {
        var def = (ContainerDefinition)Fill(typeof(ContainerDefinition), "def", 0);
        string expected = JsonSerializer.Serialize(def, ContainerJson.Default.ContainerDefinition);
        Assert.Contains("\"MaximumRetryCount\":", expected);
        Assert.Equal(expected, Encoding.UTF8.GetString(ContainerDefinitionWriter.ToUtf8(def)));
    }

    [Fact]
    public void Writes_the_contracts_bytes_with_every_nullable_left_null()
    {
        var def = new ContainerDefinition { Id = "abc", Name = "box" };
        Assert.Equal(JsonSerializer.Serialize(def, ContainerJson.Default.ContainerDefinition), Encoding.UTF8.GetString(ContainerDefinitionWriter.ToUtf8(def)));
    }
}
