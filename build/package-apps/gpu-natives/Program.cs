Console.WriteLine(string.Join(", ", InProcServe.OnnxRuntime.GetAvailableProviders()));
