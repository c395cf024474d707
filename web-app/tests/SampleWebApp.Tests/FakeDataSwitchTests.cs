using System.Text.Json;

namespace SampleWebApp.Tests;

/// <summary>SAMPLEWEBAPP_FAKE_DATA (canned data for take-screenshots.sh) works in Development only.</summary>
[Collection(AppProcessCollection.Name)]
public sealed class FakeDataSwitchTests
{
    private static async Task<(JsonElement Status, string Output)> StatusAsync(string environment)
    {
        using var app = await AppProcess.StartAsync(new Dictionary<string, string?>
        {
            ["ASPNETCORE_ENVIRONMENT"] = environment,
            ["SAMPLEWEBAPP_FAKE_DATA"] = "kerberos",
        });
        var (_, json, _) = await app.GetAsync("/api/status");
        return (JsonDocument.Parse(json).RootElement.Clone(), app.Output);
    }

    [Fact]
    public async Task Production_ignores_the_switch_and_Development_honours_it()
    {
        // A deployed task (Production) uses the real data source: no connection string, so not ok.
        var (production, productionLog) = await StatusAsync("Production");
        Assert.False(production.GetProperty("ok").GetBoolean());
        Assert.Contains("connection string", production.GetProperty("cause").GetString());

        var (development, developmentLog) = await StatusAsync("Development");
        Assert.True(development.GetProperty("ok").GetBoolean());
        Assert.Equal("KERBEROS", development.GetProperty("authScheme").GetString());

        // The console log: one JSON object a line in Production (the container); in Development one readable line each,
        // the time apart from the level (before: "...981Zinfo:").
        Assert.Matches("""(?m)^\{"Timestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","EventId":""", productionLog);
        Assert.Matches(@"(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info: Microsoft\.Hosting\.Lifetime\[\d+\] Now listening on: ", developmentLog);
        Assert.DoesNotMatch(@"\dZ(info|warn|fail):", developmentLog);
    }
}
