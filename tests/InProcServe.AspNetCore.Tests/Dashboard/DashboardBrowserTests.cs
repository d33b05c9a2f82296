using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using InProcServe.AspNetCore.Tests.TestSupport;
using InProcServe.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;

namespace InProcServe.AspNetCore.Tests.Dashboard;

/// <summary>
/// The dashboard in a real browser: Debian's headless Chromium, driven through its chromedriver (installed by .ci/run),
/// against the app on loopback Kestrel. Waits poll the page, with generous limits, so a loaded machine is slow, not red.
/// </summary>
public sealed class DashboardBrowserTests
{
    /// <summary>A model name with markup in it, as configuration could hold: the page must show it as text.</summary>
    private const string MarkupName = "<img src=x onerror=\"document.title='pwned'\">Slow";

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task The_page_lists_the_models_and_its_counters_move_after_traffic()
    {
        // Three versions: fraud.onnx as version 3, the primary; fraud_retrained.onnx as version 2, a canary taking 30% of
        // calls, and as version 1, a shadow getting a copy of half of them.
        using var folder = new TemporaryFolder();
        foreach (var (number, file) in new[] { (1, "fraud_retrained"), (2, "fraud_retrained"), (3, "fraud") })
        {
            var target = Directory.CreateDirectory(Path.Combine(folder.Path, number.ToString(CultureInfo.InvariantCulture))).FullName;
            File.Copy(TestModels.Path(file), Path.Combine(target, "model.onnx"));
        }

        await using var host = await DashboardEndpointTests.Start(
            o => o.RefreshInterval = TimeSpan.FromMilliseconds(250),
            "Fraud",
            m => m.FromFolder(folder.Path, VersionPolicy.LatestN(3)).WithCanary(2, 30).WithShadow(1, 50).CompareShadow<ScoreRequest, ScoreResponse>((a, b) => a.Flagged == b.Flagged),
            MarkupName);
        using var driver = StartChromium();

        driver.Navigate().GoToUrl(new Uri(host.Address, "inprocserve"));

        // Both models are listed, by name, as text: the markup in a name is shown, not run.
        var cards = WaitFor(driver, d => Cards(d) is { Count: 2 } found ? found : null, "the page to list two models");
        Assert.Equal(["Fraud", MarkupName], cards.Select(c => c.Name));
        Assert.All(cards, c => Assert.False(c.NameHasElements));
        Assert.Equal("InProcServe", driver.Title);
        Assert.Equal(["Healthy", "Healthy"], cards.Select(c => c.Health));
        Assert.Equal(["0", "0"], cards.Select(c => c.Requests));

        // 400 calls: arrays of 20 requests, queued together, so batches of several sizes run.
        var random = new Random(17);
        for (var call = 0; call < 20; call++)
        {
            var requests = Enumerable.Range(0, 20).Select(_ => new ScoreRequest(Enumerable.Range(0, 30).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray())).ToArray();
            (await host.Client.PostAsJsonAsync("score", requests)).EnsureSuccessStatusCode();
        }

        // The page's next refreshes show the calls, their latency, their batches and the sampled predictions.
        var fraud = WaitFor(driver, d => Cards(d).SingleOrDefault(c => c.Name == "Fraud" && c.Requests == "400"), "the request counter to reach 400");
        Assert.Matches(@"^[\d.,]+ ms / [\d.,]+ ms / [\d.,]+ ms$", fraud.Latency);
        // Bars of non-zero height: at least one batch-size bucket, and one output bin for each of the three versions.
        Assert.True(fraud.Bars >= 4, $"the batch-size and output charts show {fraud.Bars} bars");
        Assert.Contains("v3 primary", fraud.Cells);
        Assert.Contains("v2 canary", fraud.Cells);
        Assert.Contains("v1 shadow", fraud.Cells);
        Assert.StartsWith("v2 at 30%", fraud.Canary);
        Assert.StartsWith("v1 at 50%", fraud.Shadow);
        Assert.Contains("Loaded", fraud.Cells);
        Assert.Equal("0", Cards(driver).Single(c => c.Name == MarkupName).Requests);

        var screenshot = Environment.GetEnvironmentVariable("INPROCSERVE_DASHBOARD_SCREENSHOT") ?? Path.Combine(AppContext.BaseDirectory, "dashboard.png");
        driver.GetScreenshot().SaveAsFile(screenshot);
    }

    /// <summary>
    /// What each model's card shows, read in one script run: the page redraws its cards on every refresh, so elements
    /// looked up one by one could belong to two different redraws, or be gone.
    /// </summary>
    private static List<CardText> Cards(IWebDriver driver)
    {
        var result = (IEnumerable<object>)((IJavaScriptExecutor)driver).ExecuteScript("""
            return [...document.querySelectorAll("section.model")].map(card => {
              const text = field => card.querySelector(`[data-field="${field}"]`).textContent;
              const name = card.querySelector("h2");
              return [name.textContent, String(name.children.length > 0), text("health"), text("requests"), text("latency"), text("canary"), text("shadow"),
                      String([...card.querySelectorAll(".chart svg rect")].filter(bar => Number(bar.getAttribute("height")) > 0).length), ...[...card.querySelectorAll("td")].map(td => td.textContent)];
            });
            """)!;
        return result.Select(card => ((IEnumerable<object>)card).Cast<string>().ToArray())
            .Select(t => new CardText(t[0], t[1] == "true", t[2], t[3], t[4], t[5], t[6], int.Parse(t[7], CultureInfo.InvariantCulture), t[8..]))
            .ToList();
    }

    /// <summary>Polls <paramref name="probe"/> until it gives a value; a page redrawn under it (a stale element) is simply asked again.</summary>
    private static T WaitFor<T>(IWebDriver driver, Func<IWebDriver, T?> probe, string what)
        where T : class
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if (probe(driver) is { } value) return value;
            }
            catch (JavaScriptException)
            {
                // The page is still loading its first snapshot; ask again.
            }

            Assert.True(clock.Elapsed < Patience, $"Waited {Patience.TotalSeconds} s for {what}; the page shows: {driver.FindElement(By.TagName("body")).Text}");
            Thread.Sleep(100);
        }
    }

    /// <summary>Headless Chromium through the system's chromedriver; no driver or browser is downloaded.</summary>
    private static ChromeDriver StartChromium()
    {
        var browser = Environment.GetEnvironmentVariable("CHROME_BIN") ?? "/usr/bin/chromium";
        var driverPath = Environment.GetEnvironmentVariable("CHROMEDRIVER") ?? "/usr/bin/chromedriver";
        Assert.True(File.Exists(browser) && File.Exists(driverPath),
            $"The dashboard's browser test needs Chromium and its driver ({browser}, {driverPath}): apt-get install -y chromium chromium-driver (.ci/run does), or set CHROME_BIN and CHROMEDRIVER.");
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(driverPath)!, Path.GetFileName(driverPath));
        service.HideCommandPromptWindow = true;
        service.SuppressInitialDiagnosticInformation = true;
        var options = new ChromeOptions { BinaryLocation = browser };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1500");
        return new ChromeDriver(service, options, TimeSpan.FromSeconds(120));
    }

    /// <summary>One card's texts: the name (and whether it holds elements, which it must not), health, request count, latency, canary, shadow, chart bars of non-zero height and table cells.</summary>
    private sealed record CardText(string Name, bool NameHasElements, string Health, string Requests, string Latency, string Canary, string Shadow, int Bars, string[] Cells);
}
