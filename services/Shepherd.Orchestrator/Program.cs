using Shepherd.Orchestrator;

OrchestratorApp.Build(args).Run();
