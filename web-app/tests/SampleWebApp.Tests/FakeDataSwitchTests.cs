using System.Text.Json;

namespace SampleWebApp.Tests;

/// <summary>SAMPLEWEBAPP_FAKE_DATA (canned data for take-screenshots.sh) works in Development only.</summary>
[Collection(AppProcessCollection.Name)]
public sealed class FakeDataSwitchTests
{
    private static async Task<JsonElement> StatusAsync(string environment)
    {
        using var app = await AppProcess.StartAsync(new Dictionary<string, string?>
        {
            ["ASPNETCORE_ENVIRONMENT"] = environment,
            ["SAMPLEWEBAPP_FAKE_DATA"] = "kerberos",
        });
        var (_, json, _) = await app.GetAsync("/api/status");
        return JsonDocument.Parse(json).RootElement.Clone();
    }

    [Fact]
    public async Task Production_ignores_the_switch_and_Development_honours_it()
    {
        // A deployed task (Production) uses the real data source: no connection string, so not ok.
        var production = await StatusAsync("Production");
        Assert.False(production.GetProperty("ok").GetBoolean());
        Assert.Contains("connection string", production.GetProperty("cause").GetString());

        var development = await StatusAsync("Development");
        Assert.True(development.GetProperty("ok").GetBoolean());
        Assert.Equal("KERBEROS", development.GetProperty("authScheme").GetString());
    }
}
