using Yarp.ReverseProxy.Configuration;

namespace Shepherd.Edge.Auth;

/// <summary>Who may call a proxied route, from the route's metadata "Shepherd.Access" (default Key).</summary>
internal enum RouteAccess
{
    /// <summary>Any valid API key.</summary>
    Key,

    /// <summary>A valid API key with Admin: true.</summary>
    Admin,

    /// <summary>No key; a shared rate limit (schema reflection, which reveals only the public .proto files).</summary>
    Public,
}

internal static class RouteAccessMetadata
{
    public const string Name = "Shepherd.Access";

    public static RouteAccess Of(RouteConfig route) =>
        route.Metadata is not null && route.Metadata.TryGetValue(Name, out var value) && Enum.TryParse<RouteAccess>(value, ignoreCase: true, out var access)
            ? access
            : RouteAccess.Key;
}
