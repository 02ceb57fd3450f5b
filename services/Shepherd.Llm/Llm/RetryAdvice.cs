using System.Globalization;
using Google.Rpc;
using Grpc.Core;

namespace Shepherd.Llm;

/// <summary>
/// How long a service that refused a call for load (RESOURCE_EXHAUSTED) asked us to wait: its google.rpc.RetryInfo
/// detail, else its retry-after trailer (seconds), else nothing.
/// </summary>
public static class RetryAdvice
{
    public const string Trailer = "retry-after";

    public static TimeSpan? From(RpcException ex)
    {
        try
        {
            if (ex.GetRpcStatus()?.GetDetail<RetryInfo>()?.RetryDelay is { } delay && delay.ToTimeSpan() is var wait && wait > TimeSpan.Zero)
            {
                return wait;
            }
        }
        catch (Google.Protobuf.InvalidProtocolBufferException)
        {
            // A malformed status detail is no advice.
        }

        return ex.Trailers.GetValue(Trailer) is { } text
            && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0 && seconds < 86_400
            ? TimeSpan.FromSeconds(seconds)
            : null;
    }
}
