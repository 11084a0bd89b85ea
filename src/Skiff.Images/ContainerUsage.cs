namespace Skiff.Images;

/// <summary>
/// Which image each live container uses: `run` writes CONTAINERDIR/image (the image ID)
/// before launch; the container directory goes away when the container does, so a
/// container directory that still exists is a container that still uses its image.
/// </summary>
public static class ContainerUsage
{
    public const string FileName = "image";

    /// <summary>One small write on the run path: the container directory (0700) and its image file.</summary>
    public static void Record(string containerDir, string imageId)
    {
        try
        {
            Directory.CreateDirectory(containerDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            File.WriteAllText(Path.Combine(containerDir, FileName), imageId);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw SkiffException.Internal($"recording the image of container {Path.GetFileName(containerDir)}: {e.Message}");
        }
    }

    /// <summary>(container ID, image ID) of every container directory that names an image.</summary>
    public static List<(string Container, string Image)> All(string containersDir)
    {
        var result = new List<(string, string)>();
        IEnumerable<string> dirs;
        try
        {
            dirs = Directory.EnumerateDirectories(containersDir).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return result;
        }
        foreach (var dir in dirs)
        {
            try
            {
                string image = File.ReadAllText(Path.Combine(dir, FileName)).Trim();
                if (image.Length > 0)
                {
                    result.Add((Path.GetFileName(dir), image));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Not from an image, or gone while we looked: not a user.
            }
        }
        return result;
    }

    /// <summary>The containers that use this image (sha256:ID).</summary>
    public static List<string> UsersOf(string containersDir, string imageId) =>
        All(containersDir).Where(u => u.Image == imageId).Select(u => u.Container).ToList();
}
