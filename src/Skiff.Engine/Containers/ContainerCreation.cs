using Skiff.Images;
using Skiff.Linux;
using Skiff.Runtime;

namespace Skiff.Engine.Containers;

/// <summary>
/// `create`: Docker's Config + HostConfig against an image → a ContainerDefinition in the
/// store. The image's Entrypoint, Cmd, Env, WorkingDir and User are folded in here,
/// once, so that start (and every restart) reads one small file.
/// </summary>
public static class ContainerCreation
{
    /// <summary>A container from an image in the store; the image must be there (the caller pulls).</summary>
    public static ContainerDefinition FromImage(ImageStore images, ContainerConfig config, HostConfig host, string? name)
    {
        var image = images.Resolve(config.Image);
        var launch = images.ReadLaunch(image);
        IReadOnlyList<string> entrypoint = config.Entrypoint ?? launch.Entrypoint ?? [];
        // An explicit entrypoint resets the image's Cmd, as in Docker.
        IReadOnlyList<string> cmd = config.Cmd is { Count: > 0 } c ? c : config.Entrypoint is null ? launch.Cmd ?? [] : [];
        var env = new List<string>(launch.Env ?? []);
        env.AddRange(config.Env ?? []);
        config.Env = Merge(env);
        if (config.WorkingDir.Length == 0)
        {
            config.WorkingDir = launch.WorkingDir ?? "";
        }
        if (config.User.Length == 0)
        {
            config.User = launch.User ?? "";
        }
        config.Entrypoint ??= launch.Entrypoint;
        if (config.Cmd is not { Count: > 0 } && config.Entrypoint is not null && ReferenceEquals(config.Entrypoint, launch.Entrypoint))
        {
            config.Cmd = launch.Cmd;
        }
        IReadOnlyList<string> layers = images.InitLayerOf(image, launch) is { } init ? [init, .. launch.Layers] : launch.Layers;
        return Define(config, host, name, image.Id, layers, entrypoint.Concat(cmd).ToList(),
            LayerFiles.ReadEtc(launch.Layers, "passwd"), LayerFiles.ReadEtc(launch.Layers, "group"), config.Image);
    }

    /// <summary>A container on a root filesystem directory (--rootfs), which is never modified.</summary>
    public static ContainerDefinition FromRootfs(string rootfs, ContainerConfig config, HostConfig host, string? name, string? passwd, string? group)
    {
        var args = (config.Entrypoint ?? []).Concat(config.Cmd ?? []).ToList();
        config.Env = Merge(config.Env ?? []);
        return Define(config, host, name, "", [rootfs], args, passwd, group, rootfs);
    }

    private static ContainerDefinition Define(ContainerConfig config, HostConfig host, string? name, string imageId,
        IReadOnlyList<string> layers, List<string> args, string? passwd, string? group, string imageName)
    {
        if (args.Count == 0)
        {
            throw SkiffException.Invalid($"no command specified: image {imageName} has no Cmd or Entrypoint; give one after the image name");
        }
        if (config.WorkingDir.Length == 0)
        {
            config.WorkingDir = "/";
        }
        if (!config.WorkingDir.StartsWith('/'))
        {
            throw SkiffException.Invalid($"the working directory '{config.WorkingDir}' is invalid, it needs to be an absolute path");
        }
        if (host.RestartPolicy.Name is "always" or "unless-stopped" or "on-failure" && host.AutoRemove)
        {
            throw SkiffException.Invalid("Conflicting options: --restart and --rm");
        }
        string id = SkiffPaths.NewContainerId();
        return new ContainerDefinition
        {
            Id = id,
            Name = string.IsNullOrEmpty(name) ? ContainerNames.Generate(id) : name,
            Created = ContainerState.Now(),
            ImageId = imageId,
            Path = args[0],
            Args = args.Skip(1).ToList(),
            Layers = layers.ToList(),
            Passwd = passwd,
            Group = group,
            Config = config,
            HostConfig = host,
            Rootless = Interop.Libc.geteuid() != 0 || Linux.UserNamespaceKeeper.Joined != 0,
        };
    }

    /// <summary>
    /// KEY=VALUE with later entries winning, in first-seen order; a bare KEY (an -e the host
    /// did not set) removes the key, as moby's ReplaceOrAppendEnvValues does.
    /// </summary>
    public static List<string> Merge(IReadOnlyList<string> env)
    {
        var result = new List<string?>(env.Count);
        var at = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var e in env)
        {
            int eq = e.IndexOf('=');
            string key = eq < 0 ? e : e[..eq];
            string? value = eq < 0 ? null : e;
            if (at.TryGetValue(key, out int i))
            {
                result[i] = value;
            }
            else if (value is not null)
            {
                at[key] = result.Count;
                result.Add(value);
            }
        }
        return result.OfType<string>().ToList();
    }

    /// <summary>Claims the name and writes the container; the image is recorded as in use before anything else.</summary>
    public static void Store(ContainerStore store, ContainerDefinition def)
    {
        store.Create(def, dir =>
        {
            if (def.ImageId.Length > 0)
            {
                ContainerUsage.Record(dir.Path, def.ImageId);
            }
        });
    }
}

/// <summary>Docker's generated names: adjective_surname, with a digit appended on a clash.</summary>
public static class ContainerNames
{
    private static readonly string[] Left =
    [
        "admiring", "adoring", "affectionate", "agitated", "amazing", "angry", "awesome", "blissful", "bold", "brave",
        "busy", "charming", "clever", "compassionate", "competent", "confident", "cool", "cranky", "crazy", "dazzling",
        "determined", "distracted", "dreamy", "eager", "ecstatic", "elastic", "elated", "elegant", "eloquent", "epic",
        "fervent", "festive", "flamboyant", "focused", "friendly", "frosty", "gallant", "gifted", "goofy", "gracious",
        "happy", "hardcore", "heuristic", "hopeful", "hungry", "infallible", "inspiring", "jolly", "jovial", "keen",
        "kind", "laughing", "loving", "lucid", "magical", "modest", "musing", "mystifying", "naughty", "nervous",
        "nice", "nifty", "nostalgic", "objective", "optimistic", "peaceful", "pedantic", "pensive", "practical", "priceless",
        "quirky", "quizzical", "relaxed", "reverent", "romantic", "sad", "serene", "sharp", "silly", "sleepy",
        "stoic", "strange", "stupefied", "suspicious", "sweet", "tender", "thirsty", "trusting", "upbeat", "vibrant",
        "vigilant", "vigorous", "wizardly", "wonderful", "xenodochial", "youthful", "zealous", "zen",
    ];

    private static readonly string[] Right =
    [
        "albattani", "allen", "almeida", "archimedes", "ardinghelli", "aryabhata", "austin", "babbage", "banach", "bardeen",
        "bartik", "bassi", "bell", "benz", "bhabha", "blackwell", "bohr", "booth", "borg", "bose", "brahmagupta",
        "brattain", "brown", "carson", "chandrasekhar", "clarke", "colden", "cori", "cray", "curie", "darwin",
        "davinci", "dijkstra", "dubinsky", "easley", "edison", "einstein", "elion", "engelbart", "euclid", "euler",
        "fermat", "fermi", "feynman", "franklin", "galileo", "gates", "goldberg", "goldstine", "goldwasser", "golick",
        "goodall", "hamilton", "hawking", "heisenberg", "hermann", "hodgkin", "hofstadter", "hopper", "hugle", "hypatia",
        "jackson", "jang", "jennings", "jepsen", "johnson", "joliot", "jones", "kalam", "kare", "keller", "kepler",
        "khorana", "kilby", "kirch", "knuth", "kowalevski", "lalande", "lamarr", "lamport", "leakey", "leavitt",
        "lewin", "lichterman", "liskov", "lovelace", "lumiere", "mahavira", "mayer", "mccarthy", "mcclintock", "mclean",
        "meitner", "mendel", "merkle", "minsky", "mirzakhani", "morse", "murdock", "napier", "nash", "neumann",
        "newton", "nobel", "noether", "northcutt", "noyce", "pare", "pasteur", "payne", "perlman", "pike", "poincare",
        "poitras", "ptolemy", "raman", "ramanujan", "ride", "ritchie", "roentgen", "rosalind", "saha", "sammet",
        "shannon", "shaw", "shockley", "sinoussi", "snyder", "spence", "stallman", "stonebraker", "swanson", "swartz",
        "swirles", "tesla", "thompson", "torvalds", "turing", "varahamihira", "visvesvaraya", "volhard", "wescoff",
        "wiles", "williams", "wilson", "wing", "wozniak", "wright", "yalow", "yonath",
    ];

    public static string Generate(string id)
    {
        Span<byte> b = stackalloc byte[4];
        Interop.Libc.GetRandom(b);
        string name = Left[b[0] % Left.Length] + "_" + Right[(b[1] << 8 | b[2]) % Right.Length];
        // Docker adds a digit on retries; a random one keeps clashes rare without a retry loop here.
        return b[3] % 4 == 0 ? name + (b[3] % 10).ToString(System.Globalization.CultureInfo.InvariantCulture) : name;
    }
}
