using System.Text.Json;

namespace SampleWebApp.Tests;

/// <summary>
/// The ticket-cache check must accept real caches, not only reject bad ones: caches written by MIT kinit from a
/// throwaway KDC, read by the app running as a process.
/// </summary>
[Collection(AppProcessCollection.Name)]
public sealed class RealTicketCacheProcessTests
{
    private static async Task<string> TicketCacheStateAsync(AppProcess app)
    {
        var (_, json, elapsed) = await app.GetAsync("/api/status");
        Assert.True(elapsed < TimeSpan.FromSeconds(6), $"/api/status took {elapsed.TotalSeconds:F1} s");
        using var document = JsonDocument.Parse(json);
        return document.RootElement.GetProperty("ticketCache").GetProperty("state").GetString()!;
    }

    private static Task<AppProcess> StartAppAsync(KdcRealm realm, FakeTdsServer sql, string cache) =>
        AppProcess.StartAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings__Chinook"] =
                $"Server=127.0.0.1,{sql.Port};Database=Chinook;Integrated Security=true;TrustServerCertificate=true;Encrypt=Optional",
            ["KRB5CCNAME"] = cache,
            ["KRB5_CONFIG"] = realm.Krb5Conf,
        });

    [KdcFact]
    public async Task Kinit_FILE_cache_is_usable_and_a_1_s_ticket_is_expired_once_it_ends()
    {
        // GIVEN a realm, a ticket from kinit in a FILE cache, and the app pointed at it
        using var realm = await KdcRealm.StartAsync();
        using var sql = new FakeTdsServer();
        var cache = $"FILE:{Path.Combine(realm.Directory, "krb5cc")}";
        await realm.KinitAsync(cache);
        using var app = await StartAppAsync(realm, sql, cache);

        // THEN the app reports it usable (and lives through the login attempt that follows)
        Assert.Equal("usable", await TicketCacheStateAsync(app));
        Assert.True(app.IsAlive, app.Output);

        // WHEN the cache is replaced by a ticket with a 1-second lifetime, and that second passes
        await realm.KinitAsync(cache, lifetime: "1s");
        await Task.Delay(TimeSpan.FromSeconds(2.1));

        // THEN it is reported expired, and the app lives
        Assert.Equal("expired", await TicketCacheStateAsync(app));
        var (_, body, _) = await app.GetAsync("/");
        Assert.Contains("data-state=\"expired\"", body);
        Assert.True(app.IsAlive, app.Output);
    }

    [KdcFact]
    public async Task Kinit_DIR_collection_is_usable()
    {
        // GIVEN a ticket from kinit in a DIR: collection
        using var realm = await KdcRealm.StartAsync();
        using var sql = new FakeTdsServer();
        var collection = Directory.CreateDirectory(Path.Combine(realm.Directory, "collection")).FullName;
        await realm.KinitAsync($"DIR:{collection}");
        using var app = await StartAppAsync(realm, sql, $"DIR:{collection}");

        // THEN the app reports it usable
        Assert.Equal("usable", await TicketCacheStateAsync(app));
        Assert.True(app.IsAlive, app.Output);
    }
}
