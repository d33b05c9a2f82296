// Scores a stream of card transactions with the fraud model, hosted the way an app hosts it: AddModel<Fraud>()
// with a pre-processor (raw transaction → 30 features) and a post-processor (probability → decision).
// Run: dotnet run --project samples/ScoringWorker -- [--rows N] [--concurrency C] [--input FILE]
//                                                    [--mode direct|queued|bulk] [--json FILE] [--threshold T]
using FraudModel;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ScoringWorker;

var builder = Host.CreateApplicationBuilder(args);
builder.Configuration.AddCommandLine(args, new Dictionary<string, string> { ["--threshold"] = "Fraud:Threshold" });
builder.Logging.SetMinimumLevel(LogLevel.Warning).AddFilter("InProcServe", LogLevel.Information);

builder.Services.AddModel<Fraud>()
    .AddPreProcessor<TransactionFeatures>()
    .AddPostProcessor<FraudThreshold>();

builder.Services.AddSingleton(ScoringOptions.Read(builder.Configuration));
builder.Services.AddHostedService<ScoringService>();

await builder.Build().RunAsync();
