using Microsoft.Extensions.Configuration;
using System.Net;

namespace SampleWebApp.Tests;

/// <summary>The Kerberos ticket cache line of the home page (KRB5CCNAME).</summary>
public sealed class TicketCacheLineTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("krbdir-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Usable_ticket_cache_shows_its_path_without_the_FILE_prefix()
    {
        // GIVEN KRB5CCNAME=FILE:<path> and a ticket cache at that path
        var path = Path.Combine(_directory, "krb5cc");
        await File.WriteAllBytesAsync(path, Ccache.Version4(DateTime.UtcNow.AddHours(8)));
        using var app = new TestApp(FakeChinookDataSource.Connected("KERBEROS"), ticketCache: $"FILE:{path}");

        // WHEN the home page is requested
        var (status, body) = await app.GetAsync("/");

        // THEN the cache is reported usable, with the plain path and when its ticket ends
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("data-state=\"usable\"", body);
        Assert.Contains("<span class=\"badge ok\">usable</span>", body);
        Assert.Contains("Valid until", body);
        Assert.Contains($"<code>{path}</code>", body);
        Assert.Contains($"<code>FILE:{path}</code>", body);
    }

    [Fact]
    public async Task Missing_ticket_cache_is_flagged()
    {
        // GIVEN KRB5CCNAME naming a file that does not exist
        var path = Path.Combine(_directory, "absent", "krb5cc");
        using var app = new TestApp(FakeChinookDataSource.Connected("KERBEROS"), ticketCache: $"FILE:{path}");

        // WHEN the home page is requested
        var (_, body) = await app.GetAsync("/");

        // THEN it says the file is missing
        Assert.Contains("data-state=\"missing\"", body);
        Assert.Contains("<span class=\"badge bad\">missing</span>", body);
        Assert.Contains($"<code>{path}</code>", body);
    }

    [Fact]
    public async Task Unset_KRB5CCNAME_checks_the_default_cache_and_says_where_its_name_came_from()
    {
        // GIVEN no KRB5CCNAME, no krb5.conf, and no file at the library's built-in default cache
        using var app = new TestApp(FakeChinookDataSource.Connected("KERBEROS"), ticketCache: null);

        // WHEN the home page is requested
        var (_, body) = await app.GetAsync("/");

        // THEN the default cache is checked (missing), with where its name came from and a local fix (kinit)
        Assert.Contains("data-state=\"missing\"", body);
        Assert.Contains($"<code>{TestApp.MissingDefaultCache}</code>", body);
        Assert.Contains("KRB5CCNAME is not set: the Kerberos library&#x27;s built-in default cache", body);
        Assert.Contains("Get a ticket with kinit (it writes this default cache)", body);
        Assert.DoesNotContain("credentials-fetcher", body[body.IndexOf("id=\"ticket-cache\"", StringComparison.Ordinal)..]);
    }

    [Fact]
    public async Task Unset_KRB5CCNAME_with_a_garbage_default_cache_from_krb5_conf_stops_the_login()
    {
        // GIVEN no KRB5CCNAME and a krb5.conf whose default_ccache_name is a garbage file
        var garbage = Path.Combine(_directory, "krb5cc_4242");
        await File.WriteAllTextAsync(garbage, "not a ticket cache");
        var conf = Path.Combine(_directory, "krb5.conf");
        await File.WriteAllTextAsync(conf, $"[libdefaults]\n    default_ccache_name = FILE:{_directory}/krb5cc_%{{uid}}\n");
        var kerberos = TestApp.Kerberos(null, krb5Config: conf);

        // WHEN the real data source is asked to log in
        var dataSource = new SampleWebApp.Data.SqlChinookDataSource(
            new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["ConnectionStrings:Chinook"] = "Server=127.0.0.1,1;Integrated Security=true",
            }).Build(),
            Microsoft.Extensions.Logging.Abstractions.NullLogger<SampleWebApp.Data.SqlChinookDataSource>.Instance,
            kerberos);
        var failure = await Assert.ThrowsAsync<SampleWebApp.Data.ChinookDataException>(() => dataSource.ReadSnapshotAsync(5, CancellationToken.None));

        // THEN it stops before the network, naming that file
        Assert.Equal(SampleWebApp.Data.DataFailureStage.TicketCache, failure.Stage);
        Assert.Equal(garbage, failure.TicketCache?.Path);
        Assert.Equal(SampleWebApp.Diagnostics.TicketCacheState.NotATicketCache, failure.TicketCache?.State);
    }
}
