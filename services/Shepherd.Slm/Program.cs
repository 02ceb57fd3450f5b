using Shepherd.Slm;

SlmApp.Build(args).Run();
