using Shepherd.Policy;

// Composition lives in PolicyServiceHost so the tests start exactly this host.
// Start: dotnet run --project services/Shepherd.Policy -- --urls http://127.0.0.1:5103 --Policy:BundlePath=/path/to/bundle
await PolicyServiceHost.Build(args).RunAsync();
