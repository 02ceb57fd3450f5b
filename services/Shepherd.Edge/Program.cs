return await Shepherd.Edge.EdgeApp.RunAsync(args);
