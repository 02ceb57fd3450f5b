using System.Diagnostics;
using Grpc.Net.Client;
using LLama;
using LLama.Common;
using LLama.Native;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Shepherd.Contracts.V1;
using Shepherd.Core.Configuration;
using Shepherd.Slm;

namespace Shepherd.Benchmarks;

/// <summary>
/// slm-service throughput on the fixture model, in one run: a raw llama.cpp decode loop through LLamaSharp's
/// native API (one reused batch, greedy argmax: the floor our engine adds overhead to), then the real service
/// over gRPC on 127.0.0.1: single stream, 4 and 16 concurrent streams, and n = 3 against n = 1 and three
/// sequential n = 1 requests. Medians of several rounds; machines are noisy, so read ratios.
/// </summary>
public static class SlmBench
{
    private const int Tokens = 128;
    private const string Prompt = "Once upon a time, there was a little girl named Lily.";

    public static async Task<int> RunAsync(string[] args, TextWriter output)
    {
        var model = args.Length > 0 ? args[0] : ShepherdPaths.FixtureModel;
        if (model is null || !File.Exists(model))
        {
            output.WriteLine("stories260K.gguf not found (set SHEPHERD_MODELS or pass a GGUF path)");
            return 2;
        }

        NativeLogConfig.llama_log_set((_, _) => { });
        const int threads = 1;
        const int rounds = 7;
        output.WriteLine($"model {Path.GetFileName(model)}, {threads} thread, {Tokens} generated tokens, median of {rounds} rounds");

        var raw = Enumerable.Range(0, rounds).Select(_ => RawDecodeTokensPerSecond(model, threads)).ToArray();
        var rawMedian = Stats.Median(raw);
        output.WriteLine($"raw llama.cpp decode loop (LLamaSharp native API): {rawMedian:F0} tok/s");

        await using var app = SlmApp.Build(["--urls", "http://127.0.0.1:0"], b =>
        {
            b.Configuration["Slm:ModelPath"] = model;
            b.Configuration["Slm:Threads"] = threads.ToString(System.Globalization.CultureInfo.InvariantCulture);
            b.Configuration["Slm:MaxSequences"] = "16";
            b.Configuration["Logging:LogLevel:Default"] = "Warning";
            b.Configuration["Logging:LogLevel:llama.cpp"] = "Error";
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var channel = GrpcChannel.ForAddress(address);
        var client = new SlmService.SlmServiceClient(channel);

        // Warm up JIT, connection and caches.
        for (var i = 0; i < 3; i++)
        {
            await client.GenerateAsync(Request(1));
        }

        var single = new List<double>();
        var serviceDecode = new List<double>();
        for (var r = 0; r < rounds; r++)
        {
            var sw = Stopwatch.StartNew();
            var response = await client.GenerateAsync(Request(1));
            var wall = sw.Elapsed.TotalSeconds;
            single.Add(response.Completions[0].GeneratedTokens / wall);
            serviceDecode.Add(response.Completions[0].GeneratedTokens / (response.Timings.DecodeMs / 1000));
        }

        output.WriteLine($"service single stream: decode {Stats.Median(serviceDecode):F0} tok/s ({Stats.Median(serviceDecode) / rawMedian:P0} of raw), end to end over gRPC {Stats.Median(single):F0} tok/s ({Stats.Median(single) / rawMedian:P0} of raw)");

        foreach (var streams in new[] { 4, 16 })
        {
            var aggregate = new List<double>();
            for (var r = 0; r < rounds; r++)
            {
                var sw = Stopwatch.StartNew();
                var responses = await Task.WhenAll(Enumerable.Range(0, streams).Select(i => client.GenerateAsync(Request(1, seed: (ulong)i)).ResponseAsync));
                aggregate.Add(responses.Sum(x => x.Completions.Sum(c => c.GeneratedTokens)) / sw.Elapsed.TotalSeconds);
            }

            output.WriteLine($"service {streams,2} concurrent streams: aggregate {Stats.Median(aggregate):F0} tok/s ({Stats.Median(aggregate) / Stats.Median(single):F2}x single stream)");
        }

        var one = new List<double>();
        var three = new List<double>();
        var sequential = new List<double>();
        for (var r = 0; r < rounds; r++)
        {
            var sw = Stopwatch.StartNew();
            await client.GenerateAsync(Request(1));
            one.Add(sw.Elapsed.TotalMilliseconds);

            sw.Restart();
            await client.GenerateAsync(Request(3));
            three.Add(sw.Elapsed.TotalMilliseconds);

            sw.Restart();
            for (var i = 0; i < 3; i++)
            {
                await client.GenerateAsync(Request(1, seed: (ulong)i));
            }

            sequential.Add(sw.Elapsed.TotalMilliseconds);
        }

        output.WriteLine($"n=1: {Stats.Median(one):F1} ms; n=3 (forked, one prefill): {Stats.Median(three):F1} ms = {Stats.Median(three) / Stats.Median(one):F2}x; three sequential n=1: {Stats.Median(sequential):F1} ms = {Stats.Median(sequential) / Stats.Median(one):F2}x");
        await app.StopAsync();
        return 0;
    }

    // Every completion runs the full 128 tokens: greedy decoding with a stop sequence that never occurs and a
    // sampler that cannot pick EOS early is not available, so ignore EOS by forcing length through max_tokens
    // and reporting tokens actually generated.
    private static GenerateRequest Request(int n, ulong seed = 1) => new()
    {
        Prompt = Prompt, MaxTokens = Tokens, Temperature = 0.8f, TopP = 1f, Seed = seed, N = n,
    };

    private static double RawDecodeTokensPerSecond(string model, int threads)
    {
        var parameters = new ModelParams(model) { ContextSize = 2048, BatchSize = 512, Threads = threads, BatchThreads = threads };
        using var weights = LLamaWeights.LoadFromFile(parameters);
        using var context = weights.CreateContext(parameters);
        var tokens = weights.Tokenize(Prompt, true, false, System.Text.Encoding.UTF8);
        var batch = new LLamaBatch();
        for (var i = 0; i < tokens.Length; i++)
        {
            batch.Add(tokens[i], i, LLamaSeqId.Zero, i == tokens.Length - 1);
        }

        context.Decode(batch);
        var pos = tokens.Length;
        var logitIndex = batch.TokenCount - 1;
        var sw = Stopwatch.StartNew();
        for (var t = 0; t < Tokens; t++)
        {
            var logits = context.NativeHandle.GetLogitsIth(logitIndex);
            var best = 0;
            for (var i = 1; i < logits.Length; i++)
            {
                if (logits[i] > logits[best])
                {
                    best = i;
                }
            }

            batch.Clear();
            batch.Add((LLamaToken)best, pos++, LLamaSeqId.Zero, true);
            logitIndex = 0;
            context.Decode(batch);
        }

        return Tokens / sw.Elapsed.TotalSeconds;
    }
}
