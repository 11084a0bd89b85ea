using System.Text.Json.Serialization;

namespace Skiff.Images.Registry;

/// <summary>One entry of "auths": base64 of user:password, as Docker and Podman write it.</summary>
public sealed class AuthEntry
{
    [JsonPropertyName("auth")] public string? Auth { get; set; }
    [JsonPropertyName("username")] public string? Username { get; set; }
    [JsonPropertyName("password")] public string? Password { get; set; }
}

/// <summary>skiff's auth.json and Docker's config.json: only "auths" is read.</summary>
public sealed class AuthFile
{
    [JsonPropertyName("auths")] public Dictionary<string, AuthEntry> Auths { get; set; } = [];
}

/// <summary>The answer of a token realm: Docker's "token" or OAuth's "access_token".</summary>
public sealed class TokenResponse
{
    [JsonPropertyName("token")] public string? Token { get; set; }
    [JsonPropertyName("access_token")] public string? AccessToken { get; set; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, WriteIndented = true,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(AuthFile))]
[JsonSerializable(typeof(TokenResponse))]
public sealed partial class RegistryJson : JsonSerializerContext;
