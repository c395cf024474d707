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

    private static async Task<AppProcess> StartAppAsync(KdcRealm realm, FakeTdsServer sql, string cache)
    {
        var app = await AppProcess.StartAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings__Chinook"] =
                $"Server=127.0.0.1,{sql.Port};Database=Chinook;Integrated Security=true;TrustServerCertificate=true;Encrypt=Optional",
            ["KRB5CCNAME"] = cache,
            ["KRB5_CONFIG"] = realm.Krb5Conf,
        });

        // A first login attempt warms the process up (JIT of SqlClient and NegotiateAuthentication: up to 6.5 s seen on a
        // busy 2-core machine), so that the 6 s bounds below measure the check and the login, not start-up.
        var (_, _, elapsed) = await app.GetAsync("/api/status");
        Assert.True(elapsed < TimeSpan.FromSeconds(15), $"first /api/status took {elapsed.TotalSeconds:F1} s");
        return app;
    }

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
    public async Task Kinit_caches_of_every_format_version_are_usable_to_the_check()
    {
        // GIVEN kinit writing FILE caches of format versions 1 to 4 (krb5.conf's ccache_type): the parser must read
        // what MIT writes, not only what the tests' own writer (Ccache) writes
        using var realm = await KdcRealm.StartAsync();
        foreach (var version in new[] { 1, 2, 3, 4 })
        {
            var path = Path.Combine(realm.Directory, $"krb5cc-v{version}");
            await realm.KinitAsync($"FILE:{path}", ccacheType: version);
            Assert.Equal(version, File.ReadAllBytes(path)[1]);

            // WHEN the check reads it
            var status = SampleWebApp.Diagnostics.TicketCache.Inspect(TestApp.Kerberos($"FILE:{path}"));

            // THEN it is usable, with the user's principal
            Assert.Equal(SampleWebApp.Diagnostics.TicketCacheState.Usable, status.State);
            Assert.Equal($"webapp@{KdcRealm.Realm}", status.Principal);
        }
    }

    [KdcFact]
    public async Task SPN_failure_with_a_usable_ticket_shows_one_cause_naming_the_server_and_the_SPN_RDS_registers()
    {
        // GIVEN a usable ticket, and a fake SQL Server whose pre-login works but whose SPN the KDC does not know: SqlClient
        // says "The target principal name is incorrect. Cannot generate SSPI context." Before, the page highlighted
        // 3 of 4 causes, among them "connection refused or timed out" and "could not get a ticket".
        using var realm = await KdcRealm.StartAsync();
        using var sql = new FakeTdsServer();
        var cache = $"FILE:{Path.Combine(realm.Directory, "krb5cc")}";
        await realm.KinitAsync(cache);
        using var app = await StartAppAsync(realm, sql, cache);

        // WHEN the page is loaded (StartAppAsync warmed the process up)
        var (_, body, elapsed) = await app.GetAsync("/");

        // THEN it names one cause, the server name, with the SPN asked for and the one RDS registers (from the ticket's realm)
        Assert.True(elapsed < TimeSpan.FromSeconds(6), $"/ took {elapsed.TotalSeconds:F1} s");
        Assert.Contains("target principal name is incorrect", body);
        Assert.Equal(["server-name"], HomePageTests.CauseIds(body));
        Assert.Contains("<li class=\"likely\" data-cause=\"server-name\">", body);
        Assert.Contains($"<code>MSSQLSvc/127.0.0.1:{sql.Port}</code>", body);
        Assert.Contains($"RDS registers <code>MSSQLSvc/&lt;db-instance-id&gt;.{KdcRealm.Realm.ToLowerInvariant()}:{sql.Port}</code>", body);
        Assert.Contains("Likely here: the host is an IP address, which has no SPN.", body);
        Assert.True(sql.Connections > 0, "the driver never reached the fake SQL Server");
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
