using Skiff.Cli.CommandLine;
using Skiff.Images;
using Skiff.Images.Registry;

namespace Skiff.Cli.Commands;

/// <summary>skiff login and logout: credentials checked against the registry, kept in a 0600 file.</summary>
public static class LoginCommand
{
    private static readonly FlagSpec[] LoginFlags =
    [
        FlagSpec.Value("username", 'u', "string", "Username"),
        FlagSpec.Value("password", 'p', "string", "Password"),
        FlagSpec.Bool("password-stdin", FlagSpec.NoShort, "Take the password from stdin"),
        RegistryFlags.TlsVerify,
        RegistryFlags.CertDir,
        RegistryFlags.AuthFile,
        FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage"),
    ];

    private static readonly FlagSpec[] LogoutFlags =
    [
        RegistryFlags.AuthFile,
        FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage"),
    ];

    public static int Login(string[] args)
    {
        var p = FlagParser.Parse(LoginFlags, args, interspersed: true);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For("skiff login [OPTIONS] SERVER", "Log in to a registry", LoginFlags));
            return 0;
        }
        if (p.Positionals.Count != 1)
        {
            throw new UsageException("\"skiff login\" requires exactly 1 argument: SERVER");
        }
        string registry = RegistryCredentials.HostOf(p.Positionals[0]);
        string? user = p.Value("username");
        string? password = p.Value("password");
        if (p.Bool("password-stdin"))
        {
            if (password is not null)
            {
                throw new UsageException("--password and --password-stdin are mutually exclusive");
            }
            password = Console.In.ReadToEnd().TrimEnd('\n', '\r');
        }
        if (user is null && Interop.Libc.isatty(0) == 1)
        {
            Console.Out.Write("Username: ");
            user = Console.ReadLine();
        }
        if (password is null && Interop.Libc.isatty(0) == 1)
        {
            Console.Out.Write("Password: ");
            password = ReadHidden();
        }
        if (string.IsNullOrEmpty(user) || password is null)
        {
            throw SkiffException.Invalid("login needs a username and a password: use -u USER and -p PASS or --password-stdin");
        }
        var credential = new Credential(user, password);
        using (var client = RegistryFlags.Client(p, registry, credential))
        {
            RegistryClient.Run(registry, async () =>
            {
                await client.PingAsync(CancellationToken.None);
                return true;
            });
        }
        RegistryCredentials.Default(p.Value("authfile")).Store(registry, credential);
        Console.Out.WriteLine("Login Succeeded!");
        return 0;
    }

    public static int Logout(string[] args)
    {
        var p = FlagParser.Parse(LogoutFlags, args, interspersed: true);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For("skiff logout [OPTIONS] SERVER", "Log out of a registry", LogoutFlags));
            return 0;
        }
        if (p.Positionals.Count != 1)
        {
            throw new UsageException("\"skiff logout\" requires exactly 1 argument: SERVER");
        }
        string registry = RegistryCredentials.HostOf(p.Positionals[0]);
        if (!RegistryCredentials.Default(p.Value("authfile")).Remove(registry))
        {
            throw SkiffException.NotFound($"not logged into {registry}");
        }
        Console.Out.WriteLine($"Removed login credentials for {registry}");
        return 0;
    }

    private static string ReadHidden()
    {
        var sb = new System.Text.StringBuilder();
        while (true)
        {
            var k = Console.ReadKey(intercept: true);
            if (k.Key == ConsoleKey.Enter)
            {
                Console.Out.WriteLine();
                return sb.ToString();
            }
            if (k.Key == ConsoleKey.Backspace)
            {
                if (sb.Length > 0)
                {
                    sb.Length--;
                }
                continue;
            }
            sb.Append(k.KeyChar);
        }
    }
}
