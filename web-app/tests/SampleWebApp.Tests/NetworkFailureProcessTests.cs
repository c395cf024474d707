using System.Net;

namespace SampleWebApp.Tests;

/// <summary>
/// The real app, as a process in Production, when SQL Server cannot be reached: the page must answer within 6 s
/// (the app's 5 s default Connect Timeout) and name the right cause. Before, each such page took 16-19 s.
/// </summary>
/// <remarks>
/// Its own collection: these tests mostly wait on the network, so they run beside the other process tests.
/// Pooling=false, so that the measured load makes a full attempt instead of SqlClient's cached error (blocking period);
/// the first load is not measured, so that a busy machine's start-up cost (JIT) does not count as connect time.
/// </remarks>
[Collection(NetworkFailureProcessTests.Collection)]
public sealed class NetworkFailureProcessTests
{
    public const string Collection = "app processes, network failures";

    private static string ConnectionString(string server) =>
        $"Server={server};Database=Chinook;Integrated Security=true;TrustServerCertificate=true;Encrypt=Optional;Pooling=false";

    private static async Task<(HttpStatusCode Status, string Body, TimeSpan Elapsed)> WarmThenGetAsync(AppProcess app)
    {
        var (warmStatus, _, warmElapsed) = await app.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, warmStatus);
        Assert.True(warmElapsed < TimeSpan.FromSeconds(15), $"first load took {warmElapsed.TotalSeconds:F1} s");
        return await app.GetAsync("/");
    }

    [Fact]
    public async Task Refused_port_answers_within_6_s_naming_the_1433_rule_without_error_0_or_Success()
    {
        // GIVEN a port nothing listens on, and a MEMORY: ticket cache (not a file, so not checked: the app still tries)
        using var app = await AppProcess.StartAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings__Chinook"] = ConnectionString($"127.0.0.1,{AppProcess.FreePort()}"),
            ["KRB5CCNAME"] = "MEMORY:network-test",
        });

        // WHEN the page is loaded (after a first load that warms the process up)
        var (status, body, elapsed) = await WarmThenGetAsync(app);

        // THEN it fails fast and points at the network path
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(elapsed < TimeSpan.FromSeconds(6), $"/ took {elapsed.TotalSeconds:F1} s");
        Assert.Equal(["network"], HomePageTests.CauseIds(body));
        Assert.Contains("<li class=\"likely\" data-cause=\"network\">", body);
        Assert.Contains("the 1433 rule from the tasks' security group", body);
        Assert.DoesNotContain("Caused by: Success", body);
        Assert.DoesNotContain("Error number 0", body);
        Assert.True(app.IsAlive, app.Output);
    }

    [Fact]
    public async Task Unresolvable_host_answers_within_6_s_pointing_at_DNS()
    {
        // GIVEN a host name that cannot resolve (.invalid is reserved for that)
        using var app = await AppProcess.StartAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings__Chinook"] = ConnectionString("sqlserver01.directory.invalid"),
            ["KRB5CCNAME"] = "MEMORY:network-test",
        });

        // (AND it started without warnings, and kept its data-protection keys off the disk)
        Assert.DoesNotContain("\"LogLevel\":\"Warning\"", app.Output);
        Assert.DoesNotContain("DataProtection-Keys", app.Output);
        Assert.Contains("\"LogLevel\":\"Information\"", app.Output);

        // WHEN the page is loaded (after a first load that warms the process up)
        var (status, body, elapsed) = await WarmThenGetAsync(app);

        // THEN it fails fast and points at DNS, not the network rule
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(elapsed < TimeSpan.FromSeconds(6), $"/ took {elapsed.TotalSeconds:F1} s");
        Assert.Equal(["dns"], HomePageTests.CauseIds(body));
        Assert.Contains("<li class=\"likely\" data-cause=\"dns\">", body);
        Assert.True(app.IsAlive, app.Output);
    }
}
