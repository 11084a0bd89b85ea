using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Skiff.Cli.Runc;

/// <summary>
/// runc's --log and --log-format: Podman's conmon and containerd read the last error from
/// the log file, in runc's JSON shape {"level","msg","time"}. Errors also go to stderr.
/// </summary>
public sealed class RuncLog(string? path, bool json, bool debug)
{
    public void Error(string message) => Write("error", message, toStderr: true);
    public void Warn(string message) => Write("warning", message, toStderr: true);

    public void Debug(string message)
    {
        if (debug)
        {
            Write("debug", message, toStderr: false);
        }
    }

    private void Write(string level, string message, bool toStderr)
    {
        if (toStderr)
        {
            Console.Error.WriteLine(message);
        }
        if (string.IsNullOrEmpty(path))
        {
            return;
        }
        string time = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture);
        string line;
        if (json)
        {
            var sb = new StringBuilder("{\"level\":");
            sb.Append(JsonSerializer.Serialize(level, RuncJson.Default.String)).Append(",\"msg\":")
              .Append(JsonSerializer.Serialize(message, RuncJson.Default.String)).Append(",\"time\":")
              .Append(JsonSerializer.Serialize(time, RuncJson.Default.String)).Append('}');
            line = sb.ToString();
        }
        else
        {
            line = $"time=\"{time}\" level={level} msg=\"{message.Replace("\"", "\\\"")}\"";
        }
        try
        {
            File.AppendAllText(path, line + "\n");
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
