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
    public async Task Unset_KRB5CCNAME_is_flagged()
    {
        // GIVEN no KRB5CCNAME
        using var app = new TestApp(FakeChinookDataSource.Connected("KERBEROS"), ticketCache: null);

        // WHEN the home page is requested
        var (_, body) = await app.GetAsync("/");

        // THEN it says the variable is not set
        Assert.Contains("data-state=\"not-checked\"", body);
        Assert.Contains("KRB5CCNAME is not set", body);
    }
}
