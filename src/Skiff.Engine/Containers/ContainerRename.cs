namespace Skiff.Engine.Containers;

/// <summary>`rename` and POST /containers/{id}/rename, with Docker's checks and messages (daemon/rename.go).</summary>
public static class ContainerRename
{
    public const string ValidNameChars = "[a-zA-Z0-9][a-zA-Z0-9_.-]";

    /// <summary>Docker's validContainerNamePattern, ^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$: two characters at least.</summary>
    public static bool IsValidName(string name)
    {
        var n = name.AsSpan(name.StartsWith('/') ? 1 : 0);
        if (n.Length < 2 || !char.IsAsciiLetterOrDigit(n[0]))
        {
            return false;
        }
        foreach (char c in n[1..])
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '.' or '-'))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Renames the container the reference names; returns its id.</summary>
    public static string Rename(ContainerStore store, string reference, string newName)
    {
        if (reference.Length == 0 || newName.Length == 0)
        {
            throw SkiffException.Invalid("Neither old nor new names may be empty");
        }
        string id = store.Resolve(reference);
        var def = store.Load(id);
        string canonical = newName.StartsWith('/') ? newName : "/" + newName;
        if ("/" + def.Name == canonical)
        {
            throw SkiffException.Invalid("Renaming a container with the same name as its current name");
        }
        if (!IsValidName(canonical))
        {
            throw SkiffException.Invalid($"Error when allocating new name: Invalid container name ({canonical}), only {ValidNameChars} are allowed");
        }
        try
        {
            store.Rename(id, def.Name, canonical[1..]);
        }
        catch (SkiffException e) when (e.Category == ErrorCategory.Conflict)
        {
            throw new SkiffException(ErrorCategory.Conflict, "Error when allocating new name: " + e.Message);
        }
        return id;
    }
}
