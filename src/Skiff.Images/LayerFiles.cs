namespace Skiff.Images;

/// <summary>Reads a file the way the container's overlay will show it, without mounting anything.</summary>
public static class LayerFiles
{
    /// <summary>
    /// etc/NAME from the topmost layer (layers top first) that has it, stopping at a
    /// whiteout or a symlink: on the host a symlink could point anywhere.
    /// </summary>
    public static string? ReadEtc(IReadOnlyList<string> layers, string name)
    {
        foreach (var layer in layers)
        {
            string etc = Path.Combine(layer, "etc");
            uint etcType = Native.LstatMode(etc) & Native.S_IFMT;
            if (etcType == 0)
            {
                continue;
            }
            if (etcType != Native.S_IFDIR)
            {
                return null;
            }
            string path = Path.Combine(etc, name);
            uint type = Native.LstatMode(path) & Native.S_IFMT;
            if (type == Native.S_IFREG)
            {
                try
                {
                    return new FileInfo(path).Length <= 4 << 20 ? File.ReadAllText(path) : null;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    return null;
                }
            }
            if (type != 0)
            {
                return null;
            }
        }
        return null;
    }
}
