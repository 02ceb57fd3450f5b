using System.Globalization;
using System.Text.Json.Nodes;
using Xunit.Abstractions;
using static Shepherd.Deploy.Tests.RenderedManifests;

namespace Shepherd.Deploy.Tests;

/// <summary>
/// Both overlays of deploy/k8s, rendered by `kubectl kustomize`, hold the invariants a platform team checks:
/// probes (startup sized for model loading), requests and limits, non-root read-only pods whose only writable mounts
/// are emptyDirs, read-only models, headless gRPC Services, HPAs whose targets exist (the slm's on its queue length,
/// served by the shipped prometheus-adapter rule), PDBs, NetworkPolicies, TLS at the edge, PostgreSQL from a Secret
/// with several orchestrators, and no secret value anywhere.
/// </summary>
public sealed class ManifestTests(ITestOutputHelper output)
{
    private const string KubectlMissing = "kubectl is not on PATH (.ci/run installs it; `apt-get install kubectl` where a repository serves it)";

    public static TheoryData<string> Overlays => ["cpu", "gpu"];

    private static readonly string[] Services = ["shepherd-slm", "shepherd-policy", "shepherd-orchestrator", "shepherd-edge"];

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public async Task EveryDeploymentHasProbesResourcesAndARestrictedReadOnlyPod(string overlay)
    {
        Skip.If(Kubectl is null, KubectlMissing);
        var rendered = await RenderAsync(overlay);
        output.WriteLine($"{overlay}: {rendered.Objects.Count} objects ({string.Join(", ", rendered.Objects.GroupBy(o => (string)o["kind"]!).Select(g => $"{g.Count()} {g.Key}"))})");

        Assert.Equal(Services.Order(), rendered.OfKind("Deployment").Select(Name).Order());
        foreach (var deployment in rendered.OfKind("Deployment"))
        {
            var name = Name(deployment);
            var pod = deployment["spec"]!["template"]!["spec"]!.AsObject();
            Assert.Equal("true", (string?)pod["securityContext"]?["runAsNonRoot"]);
            Assert.Equal("false", (string?)pod["automountServiceAccountToken"]);
            var volumes = pod["volumes"]!.AsArray().ToDictionary(v => (string)v!["name"]!, v => v!.AsObject());
            foreach (var container in Containers(deployment))
            {
                foreach (var probe in new[] { "startupProbe", "readinessProbe", "livenessProbe" })
                {
                    Assert.True(container[probe] is JsonObject, $"{overlay}/{name}: {probe} missing");
                }

                foreach (var kind in new[] { "requests", "limits" })
                {
                    foreach (var resource in new[] { "cpu", "memory" })
                    {
                        Assert.False(string.IsNullOrEmpty((string?)container["resources"]?[kind]?[resource]), $"{overlay}/{name}: resources.{kind}.{resource} missing");
                    }
                }

                var security = container["securityContext"]!;
                Assert.Equal("true", (string?)security["readOnlyRootFilesystem"]);
                Assert.Equal("false", (string?)security["allowPrivilegeEscalation"]);
                Assert.Contains("ALL", security["capabilities"]!["drop"]!.AsArray().Select(c => (string?)c));

                // Writable only where needed: every mount that is not read-only is a size-limited emptyDir.
                foreach (var mount in container["volumeMounts"]!.AsArray().Select(m => m!.AsObject()))
                {
                    var volume = volumes[(string)mount["name"]!];
                    if ((string?)mount["readOnly"] != "true")
                    {
                        Assert.True(volume["emptyDir"]?["sizeLimit"] is not null, $"{overlay}/{name}: writable mount {mount["mountPath"]} is not a size-limited emptyDir");
                    }
                    else if (volume["persistentVolumeClaim"] is { } claim)
                    {
                        Assert.Equal("true", (string?)claim["readOnly"]);
                    }
                }
            }
        }

        // The slm's model and the policy's bundles are mounted read-only; model loading gets at least 5 minutes.
        var slm = Containers(rendered.Get("Deployment", "shepherd-slm")).Single();
        Assert.Contains(slm["volumeMounts"]!.AsArray(), m => (string?)m!["mountPath"] == "/models" && (string?)m["readOnly"] == "true");
        var startup = slm["startupProbe"]!;
        Assert.True(int.Parse((string)startup["periodSeconds"]!, CultureInfo.InvariantCulture) * int.Parse((string)startup["failureThreshold"]!, CultureInfo.InvariantCulture) >= 300);
        Assert.Contains(Containers(rendered.Get("Deployment", "shepherd-policy")).Single()["volumeMounts"]!.AsArray(), m => (string?)m!["mountPath"] == "/bundles" && (string?)m["readOnly"] == "true");
    }

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public async Task GrpcBackendsAreHeadlessAndTheEdgeIsTheOnlyPublicServiceAndSpeaksTls(string overlay)
    {
        Skip.If(Kubectl is null, KubectlMissing);
        var rendered = await RenderAsync(overlay);

        foreach (var name in new[] { "shepherd-slm", "shepherd-policy", "shepherd-orchestrator" })
        {
            var spec = rendered.Get("Service", name)["spec"]!;
            Assert.Equal("None", (string?)spec["clusterIP"]);
            Assert.Null(spec["type"]);
            Assert.All(spec["ports"]!.AsArray(), p => Assert.Equal("kubernetes.io/h2c", (string?)p!["appProtocol"]));
            Assert.Equal(SelectorOf(rendered, name), (string?)spec["selector"]!["app"]);
        }

        var edge = rendered.Get("Service", "shepherd-edge")["spec"]!;
        var port = Assert.Single(edge["ports"]!.AsArray())!;
        Assert.Equal("443", (string?)port["port"]);
        var container = Containers(rendered.Get("Deployment", "shepherd-edge")).Single();
        var target = container["ports"]!.AsArray().Single(p => (string?)p!["name"] == (string?)port["targetPort"])!;
        var https = Env(container, "Kestrel__Endpoints__Https__Url")!;
        Assert.StartsWith("https://", https, StringComparison.Ordinal);
        Assert.EndsWith(":" + (string)target["containerPort"]!, https, StringComparison.Ordinal);
        var certificate = Env(container, "Kestrel__Endpoints__Https__Certificate__Path")!;
        var tlsMount = container["volumeMounts"]!.AsArray().Single(m => certificate.StartsWith((string)m!["mountPath"]! + "/", StringComparison.Ordinal))!;
        var tlsVolume = rendered.Get("Deployment", "shepherd-edge")["spec"]!["template"]!["spec"]!["volumes"]!.AsArray().Single(v => (string?)v!["name"] == (string?)tlsMount["name"])!;
        Assert.Equal("shepherd-edge-tls", (string?)tlsVolume["secret"]?["secretName"]);
        Assert.DoesNotContain(rendered.OfKind("Service"), s => Name(s) != "shepherd-edge" && (string?)s["spec"]!["type"] is "LoadBalancer" or "NodePort");
    }

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public async Task AutoscalersTargetDeploymentsThatExistAndTheSlmScalesOnItsQueueThroughTheShippedAdapterRule(string overlay)
    {
        Skip.If(Kubectl is null, KubectlMissing);
        var rendered = await RenderAsync(overlay);
        var adapterRules = Parse(await File.ReadAllTextAsync(Path.Combine(K8sDirectory, "prometheus-adapter", "values.yaml"))).Single()["rules"]!["custom"]!.AsArray();

        var hpas = rendered.OfKind("HorizontalPodAutoscaler").ToArray();
        Assert.Equal(Services.Order(), hpas.Select(h => (string)h["spec"]!["scaleTargetRef"]!["name"]!).Order());
        foreach (var hpa in hpas)
        {
            var target = hpa["spec"]!["scaleTargetRef"]!;
            Assert.Equal("Deployment", (string?)target["kind"]);
            rendered.Get("Deployment", (string)target["name"]!);
            var metric = Assert.Single(hpa["spec"]!["metrics"]!.AsArray())!;
            if (Name(hpa) == "shepherd-slm")
            {
                Assert.Equal("Pods", (string?)metric["type"]);
                var name = (string)metric["pods"]!["metric"]!["name"]!;
                Assert.Equal("shepherd_slm_queue_length", name);
                Assert.Contains(adapterRules, r => (string?)r!["name"]!["as"] == name && ((string)r["seriesQuery"]!).StartsWith(name + "{", StringComparison.Ordinal));
            }
            else
            {
                Assert.Equal("cpu", (string?)metric["resource"]?["name"]);
            }
        }

        // Every Deployment has a disruption budget that selects its pods.
        foreach (var name in Services)
        {
            var budget = rendered.OfKind("PodDisruptionBudget").Single(p => (string?)p["spec"]!["selector"]!["matchLabels"]!["app"] == SelectorOf(rendered, name));
            Assert.Equal("1", (string?)budget["spec"]!["minAvailable"]);
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public async Task OnlyTheEdgeReachesTheOrchestratorAndOnlyTheOrchestratorReachesSlmAndPolicy(string overlay)
    {
        Skip.If(Kubectl is null, KubectlMissing);
        var rendered = await RenderAsync(overlay);
        var policies = rendered.OfKind("NetworkPolicy").ToArray();

        var deny = Assert.Single(policies, p => p["spec"]!["podSelector"]!.AsObject().Count == 0);
        Assert.Null(deny["spec"]!["ingress"]);
        Assert.Equal(["shepherd-edge"], AllowedOnServicePort("shepherd-orchestrator"));
        Assert.Equal(["shepherd-orchestrator"], AllowedOnServicePort("shepherd-slm"));
        Assert.Equal(["shepherd-orchestrator"], AllowedOnServicePort("shepherd-policy"));

        // Pods allowed to reach a service's gRPC port 8080: every rule that selects its pods and opens 8080.
        string[] AllowedOnServicePort(string service) => policies
            .Where(p => (string?)p["spec"]!["podSelector"]!["matchLabels"]?["app"] == service)
            .SelectMany(p => p["spec"]!["ingress"]?.AsArray() ?? [])
            .Where(rule => rule!["ports"]!.AsArray().Any(port => (string?)port!["port"] == "8080"))
            .SelectMany(rule => rule!["from"]?.AsArray() ?? [JsonNode.Parse("""{"anyone":"true"}""")])
            .Select(from => (string?)from!["podSelector"]?["matchLabels"]?["app"] ?? "anyone")
            .ToArray();
    }

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public async Task NoSecretValueIsCommittedAndSeveralOrchestratorsKeepTheLedgerInPostgresFromASecret(string overlay)
    {
        Skip.If(Kubectl is null, KubectlMissing);
        var rendered = await RenderAsync(overlay);

        Assert.Empty(rendered.OfKind("Secret"));
        foreach (var marker in new[] { "gsk_", "sk-", "Password=", "PRIVATE KEY", "BEGIN CERTIFICATE" })
        {
            Assert.DoesNotContain(marker, rendered.Text, StringComparison.Ordinal);
        }

        foreach (var container in rendered.OfKind("Deployment").SelectMany(Containers))
        {
            foreach (var env in container["env"]?.AsArray() ?? [])
            {
                var name = (string)env!["name"]!;
                if (name.Contains("KEY", StringComparison.OrdinalIgnoreCase) && !name.EndsWith("File", StringComparison.Ordinal) && !name.EndsWith("KeyPath", StringComparison.Ordinal)
                    || name.Contains("Connection", StringComparison.OrdinalIgnoreCase) || name.Contains("Sha256", StringComparison.Ordinal))
                {
                    Assert.True(env["valueFrom"]?["secretKeyRef"] is not null, $"{overlay}: {name} must come from a Secret");
                }
            }
        }

        var orchestrator = rendered.Get("Deployment", "shepherd-orchestrator");
        var hpa = rendered.Get("HorizontalPodAutoscaler", "shepherd-orchestrator");
        Assert.True(int.Parse((string)orchestrator["spec"]!["replicas"]!, CultureInfo.InvariantCulture) > 1 || int.Parse((string)hpa["spec"]!["maxReplicas"]!, CultureInfo.InvariantCulture) > 1);
        var postgres = EnvEntry(Containers(orchestrator).Single(), "Storage__PostgresConnectionString")!;
        Assert.NotNull(postgres["valueFrom"]!["secretKeyRef"]);
        Assert.NotEqual("true", (string?)postgres["valueFrom"]!["secretKeyRef"]!["optional"]);
        Assert.Equal("true", Env(Containers(orchestrator).Single(), "Identity__RequireIdentity"));
    }

    [SkippableFact]
    public async Task TheGpuOverlayPutsSlmAndPolicyOnGpusAndTheCpuOverlayOnNone()
    {
        Skip.If(Kubectl is null, KubectlMissing);
        var gpu = await RenderAsync("gpu");
        var cpu = await RenderAsync("cpu");

        foreach (var name in new[] { "shepherd-slm", "shepherd-policy" })
        {
            var deployment = gpu.Get("Deployment", name);
            var pod = deployment["spec"]!["template"]!["spec"]!;
            var container = Containers(deployment).Single();
            Assert.Equal("1", (string?)container["resources"]!["limits"]!["nvidia.com/gpu"]);
            Assert.Equal("1", (string?)container["resources"]!["requests"]!["nvidia.com/gpu"]);
            Assert.NotEmpty(pod["nodeSelector"]!.AsObject());
            Assert.Contains(pod["tolerations"]!.AsArray(), t => (string?)t!["key"] == "nvidia.com/gpu");
        }

        var slm = Containers(gpu.Get("Deployment", "shepherd-slm")).Single();
        Assert.True(int.Parse(Env(slm, "Slm__GpuLayerCount")!, CultureInfo.InvariantCulture) > 0);
        Assert.EndsWith(":cuda12", (string)slm["image"]!, StringComparison.Ordinal);
        var policy = Containers(gpu.Get("Deployment", "shepherd-policy")).Single();
        Assert.Equal("cuda", Env(policy, "Policy__ExecutionProvider"));
        Assert.EndsWith(":gpu", (string)policy["image"]!, StringComparison.Ordinal);
        Assert.DoesNotContain("nvidia.com/gpu", cpu.Text, StringComparison.Ordinal);
        Assert.Equal("cpu", Env(Containers(cpu.Get("Deployment", "shepherd-policy")).Single(), "Policy__ExecutionProvider"));
    }

    private static string SelectorOf(RenderedManifests rendered, string deployment) =>
        (string)rendered.Get("Deployment", deployment)["spec"]!["selector"]!["matchLabels"]!["app"]!;
}
